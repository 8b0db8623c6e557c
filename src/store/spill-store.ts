// The spill store: transient messages of deep queues paged out to disk, in an ephemeral log
// (wiped at every start, never recovered, never fsynced).
//
// A queue's spilled messages are appended in order and only ever leave from the head (taken
// back into memory, or discarded by purge/delete), so the store keeps no per-message index.
// A queue's messages are a list of runs, each a stretch of one segment:
//   (segment, cursor = offset of the next record to look at, end = just past the last record, remaining)
// Records are read sequentially from the cursor: the record header gives each one's length, and
// records of other queues interleaved in the stretch are stepped over by their queue name
// (without checking their CRC: they are not ours to deliver). An append extends the queue's
// newest run when it lands in the same segment less than MAX_RUN_GAP bytes after it, so a
// single deep queue costs one run (~100 B) per 8 MiB segment instead of 16 B per message, and
// a reader skips at most MAX_RUN_GAP bytes of other queues' records per record of its own.
//
// Each record's seq field holds the queue's own ordinal (0, 1, 2, ... per queue incarnation),
// so a reader knows which message a record is. That is what makes damage safe: a record whose
// CRC fails is dropped and counted, the reader resynchronises on the next valid frame, and if
// that frame's ordinal is further on than expected, the messages in between were damaged too
// and are counted and dropped one by one, so each take still answers for exactly one message.
// Records appended in a previous incarnation of a queue (purged or emptied, then refilled) lie
// before the new incarnation's runs and are never looked at.
//
// Nothing of an appended message is kept once it is encoded: a record not written yet is read
// from the log's write buffers (SegmentLog.readView), so a spilled message's objects die young.
//
// A segment counts the records of all runs still ahead in it (live); once none are and it is
// not the active one, it is deleted (no ack records, no durability wait: nothing reads it after
// a restart).

import * as fs from 'node:fs';
import type { DurableCallback, StoredMessage } from './message-store.js';
import { checkShortstr } from './memory-store.js';
import { SpillQueue, SpillRun, LOST, MAX_RUN_GAP, nextOwn } from './spill-runs.js';
import type { Segment } from './segment.js';
import { SegmentLog } from './segment-log.js';

export interface SpillStoreOptions {
  /** Directory of the segment files; emptied by open(). */
  dir: string;
  /** 8 MiB like the message store. */
  segmentSize?: number;
  /** Bodies up to this size are copied into the write buffer; larger ones are written from the caller's buffer. */
  copyBodyBelow?: number;
  writeChunkSize?: number;
  maxReadFds?: number;
}

export interface SpillStoreStats {
  /** Messages held (appended, not yet taken or discarded). */
  readonly messages: number;
  readonly appended: number;
  readonly taken: number;
  readonly discarded: number;
  /** Records found damaged (checksum or framing) while taking; each stands for one message dropped. */
  readonly corruptRecords: number;
  /** Runs held by all queues (for tests: one per segment for a lone deep queue). */
  readonly runs: number;
  readonly segments: number;
  readonly segmentsDeleted: number;
  readonly bytesWritten: number;
}

/** 8 MiB: see SpillStoreOptions.segmentSize. */
const DEFAULT_SEGMENT_SIZE = 8 * 1024 * 1024;
/** 16 KiB: below it a memcpy is cheaper than another iovec (as in the message store). */
const DEFAULT_COPY_BODY_BELOW = 16 * 1024;
/** 1 MiB write chunks: many records per chunk. */
const DEFAULT_WRITE_CHUNK_SIZE = 1024 * 1024;
/** 64: bounded descriptors for reading finished segments (LRU beyond). */
const DEFAULT_MAX_READ_FDS = 64;
export class SpillStore {
  private readonly dir: string;
  private readonly segmentSize: number;
  private readonly copyBodyBelow: number;
  private readonly chunkSize: number;
  private readonly maxReadFds: number;
  private log: SegmentLog | null;
  private readonly queues: Map<string, SpillQueue>;
  /** Segments whose live count reached 0 (or that rolled); deleted once finished and not active. */
  private readonly candidates: Set<Segment>;
  private state: 'new' | 'open' | 'closed';
  private messages: number;
  private appendedCount: number;
  private takenCount: number;
  private discardedCount: number;
  private corrupt: number;

  constructor(options: SpillStoreOptions) {
    this.dir = options.dir;
    this.segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    this.copyBodyBelow = options.copyBodyBelow ?? DEFAULT_COPY_BODY_BELOW;
    this.chunkSize = options.writeChunkSize ?? DEFAULT_WRITE_CHUNK_SIZE;
    this.maxReadFds = options.maxReadFds ?? DEFAULT_MAX_READ_FDS;
    this.log = null;
    this.queues = new Map();
    this.candidates = new Set();
    this.state = 'new';
    this.messages = 0;
    this.appendedCount = 0;
    this.takenCount = 0;
    this.discardedCount = 0;
    this.corrupt = 0;
  }

  /** Empties the directory and starts a fresh log. */
  async open(): Promise<void> {
    if (this.state !== 'new') throw new Error('spill store already opened');
    await fs.promises.rm(this.dir, { recursive: true, force: true });
    await fs.promises.mkdir(this.dir, { recursive: true });
    const log = new SegmentLog({
      dir: this.dir,
      segmentSize: this.segmentSize,
      sync: 'off',
      batchIntervalMs: 0,
      chunkSize: this.chunkSize,
      maxReadFds: this.maxReadFds,
      ephemeral: true,
      hooks: {
        written: () => undefined,
        nextSeq: () => 0,
        rolled: (old) => {
          if (old.live === 0) this.candidates.add(old);
        },
        deletable: () => this.collectDeletable(),
        deleted: () => undefined,
      },
    });
    this.log = log;
    await log.start([], 1);
    this.state = 'open';
  }

  /** Appends a message at the tail of `queue`. Throws (having kept nothing) if it cannot. */
  append(queue: string, msg: StoredMessage): void {
    const log = this.openLog();
    let q = this.queues.get(queue);
    if (q === undefined) {
      checkShortstr('queue name', queue);
      q = new SpillQueue(Buffer.from(queue, 'utf8'));
      this.queues.set(queue, q);
    }
    const ord = q.appended;
    const offset = log.appendMessage(ord, q.nameBytes, msg, this.copyBodyBelow);
    const seg = log.lastSegment as Segment;
    const length = log.lastLength;
    q.appended = ord + 1;
    const last = q.runs.length > q.head ? (q.runs[q.runs.length - 1] as SpillRun) : null;
    if (last !== null && last.seg === seg && offset - last.end <= MAX_RUN_GAP) {
      last.end = offset + length;
      last.remaining++;
    } else {
      q.runs.push(new SpillRun(seg, offset, offset + length));
    }
    q.count++;
    seg.live++;
    this.messages++;
    this.appendedCount++;
  }

  /**
   * Removes the head message of `queue` and returns it, header and body in a buffer of their
   * own (read from disk, or from the write buffers while not written yet). null if its record is
   * damaged: it is counted in corruptRecords and gone. Throws (removing nothing) on an I/O error or if the
   * queue holds nothing.
   */
  take(queue: string): StoredMessage | null {
    const q = this.queues.get(queue);
    if (q === undefined || q.count === 0) throw new Error(`spill store: nothing held for queue '${queue}'`);
    const run = q.runs[q.head] as SpillRun;
    const out = nextOwn(this.openLog(), q, run);
    this.consume(queue, q, run);
    if (out === LOST) this.corrupt++;
    else this.takenCount++;
    return out;
  }

  /** Removes the head message of `queue` without reading it (its record is stepped over by the next take). */
  discard(queue: string): boolean {
    const q = this.queues.get(queue);
    if (q === undefined || q.count === 0) return false;
    this.consume(queue, q, q.runs[q.head] as SpillRun);
    this.discardedCount++;
    return true;
  }

  /** Removes every message of `queue`; returns how many. No record is read. */
  purge(queue: string): number {
    const q = this.queues.get(queue);
    if (q === undefined) return 0;
    const n = q.count;
    for (let i = q.head; i < q.runs.length; i++) {
      const run = q.runs[i] as SpillRun;
      run.seg.live -= run.remaining;
      run.remaining = 0;
      if (run.seg.live === 0) this.candidates.add(run.seg);
    }
    this.queues.delete(queue);
    this.messages -= n;
    this.discardedCount += n;
    this.openLog().collect();
    return n;
  }

  messageCount(queue: string): number {
    return this.queues.get(queue)?.count ?? 0;
  }

  /** cb runs once everything appended so far is written (there is no fsync). */
  whenDurable(cb: DurableCallback): void {
    if (this.log === null || this.state !== 'open') {
      process.nextTick(cb, new Error('spill store is not open'));
      return;
    }
    this.log.whenDurable(cb);
  }

  /** Resolves when the writer has nothing left to do (writes and segment deletions done). */
  async idle(): Promise<void> {
    await this.openLog().idle();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.log !== null) await this.log.close();
  }

  stats(): SpillStoreStats {
    let runs = 0;
    for (const q of this.queues.values()) runs += q.runs.length - q.head;
    const log = this.log;
    return {
      messages: this.messages,
      appended: this.appendedCount,
      taken: this.takenCount,
      discarded: this.discardedCount,
      corruptRecords: this.corrupt,
      runs,
      segments: log?.segments.size ?? 0,
      segmentsDeleted: log?.segmentsDeleted ?? 0,
      bytesWritten: log?.bytesWritten ?? 0,
    };
  }

  /** read(2) calls made by reads so far. */
  get pagingReads(): number {
    return this.log?.reads ?? 0;
  }

  private openLog(): SegmentLog {
    if (this.state !== 'open' || this.log === null) throw new Error('spill store is not open');
    return this.log;
  }

  /** The head message is gone (taken, damaged or discarded): move the head on. */
  private consume(name: string, q: SpillQueue, run: SpillRun): void {
    q.expected++;
    q.count--;
    this.messages--;
    run.remaining--;
    const seg = run.seg;
    if (--seg.live === 0) {
      this.candidates.add(seg);
      this.openLog().collect();
    }
    if (run.remaining > 0) return;
    if (q.count === 0) {
      // Empty: the next append starts a new incarnation (ordinals from 0, runs after this point).
      this.queues.delete(name);
      return;
    }
    q.head++;
    if (q.head >= 1024 && q.head * 2 >= q.runs.length) {
      q.runs = q.runs.slice(q.head);
      q.head = 0;
    }
  }


  private collectDeletable(): Segment[] {
    const log = this.log;
    if (log === null) return [];
    const out: Segment[] = [];
    for (const s of this.candidates) {
      if (s.deleted || s.live > 0) this.candidates.delete(s);
      else if (s !== log.active && s.written === s.size) {
        this.candidates.delete(s);
        out.push(s);
      }
    }
    return out;
  }
}
