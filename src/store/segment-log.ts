// Segment files on disk: buffered appends, one writer loop, group-commit fsync, rolling and deletion.
//
// Knows bytes and files, not queues: the store encodes records into `chunk`, commits them, and
// tells the log (through hooks) which segments may go. All I/O is asynchronous except
// segment creation on roll (once per segment) and paging reads.

import * as fs from 'node:fs';
import type { DurableCallback, SyncMode } from './message-store.js';
import { summarise, summaryPath } from './segment-summary.js';
import { RecordType, SEAL_RECORD_SIZE, SEGMENT_HEADER_SIZE, encodeSmall } from './record.js';
import type { ReplicationSink, Segment } from './segment.js';
import { SegmentAppender, type SegmentAppenderOptions } from './segment-appender.js';
import { closeFd, fsyncDir, fsyncFd, writeAt, writevAll, writevAllSync } from './segment-io.js';
import type { Batch } from './write-batch.js';
import { systemClock, type Clock, type Timer } from '../util/clock.js';

/** Bytes a writer pass writes synchronously at most (beyond, a large spill or body: through the thread pool). */
const SYNC_WRITE_MAX = 1024 * 1024;

const EMPTY_BATCHES: Batch[] = [];

/** What a vhost's stores replicate (HA): the message log's batches and the definitions ops. */
export interface StoreReplication {
  messages: (log: SegmentLog) => ReplicationSink;
  /** Resolves once the replicated log holds the op; rejects if it never will (this node no longer leads). */
  definitions: (payload: Buffer) => Promise<void>;
}

export interface SegmentLogOptions extends SegmentAppenderOptions {
  sync: SyncMode;
  batchIntervalMs: number;
  /** Clock for the batch-mode fsync timer (default: the system clock). */
  clock?: Clock;
  /**
   * With sync 'off': close a finished segment's write descriptor once it is written, without an
   * fsync at close either (for a log nobody reads after a restart, like the spill store), so a
   * backlog over many segments does not hold a descriptor for each.
   */
  ephemeral?: boolean;
  /** Replication of every batch (HA), made for this log; confirms wait for it too. */
  replication?: (log: SegmentLog) => ReplicationSink;
}

export class SegmentLog extends SegmentAppender {
  /** Log position whose bytes are all written. */
  writtenPos: number;
  /** Log position whose bytes are all durable (== writtenPos when sync is off). */
  durablePos: number;
  syncs: number;
  /** Seals that could not be written (their segments get the full check at recovery). */
  sealsFailed = 0;
  bytesWritten: number;
  segmentsDeleted: number;

  private readonly mode: SyncMode;
  private readonly ephemeral: boolean;
  private readonly sink: ReplicationSink | null;
  /** collect() was called since the writer loop last asked which segments may go. */
  private collectRequested: boolean;
  /** Summaries being written (segment-summary.ts). */
  private readonly summarising = new Map<Segment, Promise<boolean>>();
  /** Segments written since the last fsync. */
  private readonly dirty: Set<Segment>;
  private syncRequested: boolean;
  private forceSync: boolean;
  private waiterCbs: DurableCallback[];
  private waiterTargets: number[];
  private waiterHead: number;
  private loopPromise: Promise<void> | null;
  private kickScheduled: boolean;
  private timer: Timer | null;
  private readonly clock: Clock;
  private readonly onKick: () => void;
  private readonly batchIntervalMs: number;
  private readonly onBatchTimer: () => void;

  constructor(opts: SegmentLogOptions) {
    super(opts);
    this.mode = opts.sync;
    this.ephemeral = opts.ephemeral ?? false;
    this.sink = null;
    this.collectRequested = false;
    this.writtenPos = 0;
    this.durablePos = 0;
    this.syncs = 0;
    this.bytesWritten = 0;
    this.segmentsDeleted = 0;
    this.dirty = new Set();
    this.syncRequested = false;
    this.forceSync = false;
    this.waiterCbs = [];
    this.waiterTargets = [];
    this.waiterHead = 0;
    this.loopPromise = null;
    this.kickScheduled = false;
    this.timer = null;
    this.onKick = () => {
      this.kickScheduled = false;
      if (this.loopPromise === null) this.runLoop();
    };
    this.batchIntervalMs = opts.batchIntervalMs;
    this.clock = opts.clock ?? systemClock;
    this.onBatchTimer = () => {
      this.timer = null;
      this.syncRequested = true;
      this.kick();
    };
    this.sink = opts.replication === undefined ? null : opts.replication(this);
  }

  /** Adopts recovered segments and creates the first active one, durably (file and directory). */
  async start(recovered: Segment[], nextId: number): Promise<void> {
    for (const s of recovered) this.segments.set(s.id, s);
    this.nextId = nextId;
    this.newSegment();
    this.forceSync = true;
    this.runLoop();
    await this.idle();
  }


  /** Asks the writer loop for a pass even with nothing to write, so segments that became deletable go. */
  collect(): void {
    this.collectRequested = true;
    this.kick();
  }

  whenDurable(cb: DurableCallback): void {
    if (this.failed !== null) {
      process.nextTick(cb, this.failed);
    } else if (this.position <= this.confirmedPos()) {
      process.nextTick(cb, null);
    } else {
      this.waiterCbs.push(cb);
      this.waiterTargets.push(this.position);
      this.kick();
    }
  }


  /** Writes and fsyncs everything, runs the callbacks, closes files. */
  async close(): Promise<void> {
    this.timer?.cancel();
    this.timer = null;
    this.forceSync = true;
    this.kick();
    await this.idle();
    this.reader.closeAll();
    for (const s of this.segments.values()) {
      if (s.fd >= 0) {
        // Everything was synced above (unless the log failed or never syncs): the active segment is finished too.
        if (this.failed === null && this.mode !== 'off' && s.written === s.size) await this.seal(s);
        const fd = s.fd;
        s.fd = -1;
        await closeFd(fd);
      }
    }
    await Promise.all([...this.summarising.values()]);
  }

  /** Resolves when the writer loop has nothing left to do. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.loopPromise !== null) await this.loopPromise;
      else if (this.hasWork()) this.runLoop();
      else if (this.kickScheduled) await new Promise<void>((r) => setImmediate(r));
      else return;
    }
  }

  private hasWork(): boolean {
    if (this.failed !== null) return false;
    return this.batch.bytes > 0 || this.sealed.length > 0 || this.collectRequested || this.needSync();
  }

  private needSync(): boolean {
    if (this.mode === 'off' && !this.forceSync) return false;
    if (this.durablePos >= this.writtenPos && !this.dirDirty) return false;
    return this.mode === 'always' || this.syncRequested || this.forceSync;
  }

  protected kick(): void {
    if (!this.kickScheduled && this.loopPromise === null) {
      this.kickScheduled = true;
      setImmediate(this.onKick);
    }
  }

  private runLoop(): void {
    this.loopPromise = this.loop().finally(() => {
      this.loopPromise = null;
      if (this.hasWork()) this.kick();
    });
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        this.sealBatch();
        let progressed = false;
        const batches = this.sealed;
        this.sealed = [];
        this.inflight = batches;
        // An ephemeral log has no crash order to keep: its batches (the old and the new segment
        // after a roll) are written at once, so the writer costs one event-loop turn per pass,
        // not one per batch, and appended records wait less in memory.
        // Small writes go synchronously: into the page cache they take microseconds, while an
        // await of the thread pool also waits for whatever task holds the event loop (a client's
        // burst of publishes): measured at 1 ms per write alone, 5 ms beside HA replication.
        let total = 0;
        for (const b of batches) total += b.bytes;
        const inline = total <= SYNC_WRITE_MAX;
        if (!inline && this.ephemeral && batches.length > 1) await Promise.all(batches.map((b) => writevAll(b.seg.fd, b.iov, b.position, b.bytes)));
        // Replication runs beside the local write and fsync; the sink may keep the batch's buffers.
        if (this.sink !== null) for (const b of batches) this.sink.batch(b.seg, b.position, b.iov, b.bytes, b.end);
        for (const b of batches) {
          if (inline) writevAllSync(b.seg.fd, b.iov, b.position, b.bytes);
          else if (!this.ephemeral || batches.length === 1) await writevAll(b.seg.fd, b.iov, b.position, b.bytes);
          b.seg.written = b.position + b.bytes;
          this.dirty.add(b.seg);
          this.writtenPos = b.end;
          this.bytesWritten += b.bytes;
          progressed = true;
        }
        this.inflight = EMPTY_BATCHES;
        if (progressed) this.hooks.written();
        if (this.needSync()) {
          await this.sync();
          progressed = true;
        } else if (this.mode === 'off') {
          this.durablePos = this.writtenPos;
          if (this.ephemeral) this.releaseFinished();
        } else if (this.mode === 'batch' && this.timer === null && this.durablePos < this.writtenPos) {
          // Armed only while something is unsynced, and kept alive: pending confirms keep the process alive.
          this.timer = this.clock.after(this.batchIntervalMs, this.onBatchTimer, { keepAlive: true });
        }
        this.resolveWaiters(null);
        this.collectRequested = false;
        const doomed = this.hooks.deletable(this.durablePos);
        if (doomed.length > 0) {
          await this.deleteSegments(doomed);
          progressed = true;
        }
        if (!progressed && this.batch.bytes === 0) break;
      }
      this.forceSync = false;
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** One group commit: fsync every segment written since the last one, then the directory if files came or went. */
  private async sync(): Promise<void> {
    const target = this.writtenPos;
    const segs = [...this.dirty];
    this.dirty.clear();
    const dir = this.dirDirty;
    this.dirDirty = false;
    this.syncRequested = false;
    for (const s of segs) if (s.fd >= 0) await fsyncFd(s.fd);
    if (dir) await fsyncDir(this.dir);
    this.durablePos = target;
    this.syncs++;
    // A finished segment will only be read (lazily) from now on: seal it and release its descriptor.
    for (const s of segs) {
      if (s !== this.active && s.fd >= 0 && s.written === s.size) {
        await this.seal(s);
        const fd = s.fd;
        s.fd = -1;
        await closeFd(fd);
      }
    }
  }

  /**
   * Appends a SEAL record to a segment whose every byte an fsync has just covered, so recovery
   * may skip the CRC of its message bodies (record.ts). Not synced itself: a lost seal only
   * costs a full check at the next recovery, and a torn one is a torn tail like any other.
   * So a seal that cannot be written (a full disk) is given up, never an error: what it would
   * mark is already durable, and failing here would fail the confirms of those messages.
   */
  private async seal(s: Segment): Promise<void> {
    if (this.ephemeral || s.size <= SEGMENT_HEADER_SIZE) return;
    const rec = Buffer.allocUnsafe(SEAL_RECORD_SIZE);
    encodeSmall(rec, 0, RecordType.Seal, s.size, null);
    try {
      await writeAt(s.fd, rec, s.size);
    } catch {
      this.sealsFailed++;
      return;
    }
    s.size += SEAL_RECORD_SIZE;
    s.written = s.size;
    // What recovery will read of this segment instead of all of it (segment-summary.ts); off the
    // writer's path, so no confirm waits for it (close() does). Only where bodies are most of the
    // file: with small messages a summary is nearly the segment again and costs the writer ~10 %
    // of its CPU to build, for little gain at recovery (which then reads the segment, as before).
    if (s.bodyBytes * 2 < s.size) return;
    const p = summarise(this.dir, s.id, s.path, s.size)
      .catch(() => false)
      .finally(() => this.summarising.delete(s));
    this.summarising.set(s, p);
  }

  /** An ephemeral log's finished segments are released here instead of after their fsync. */
  private releaseFinished(): void {
    for (const s of this.dirty) {
      if (s !== this.active && s.written === s.size) {
        this.dirty.delete(s);
        if (s.fd >= 0) {
          const fd = s.fd;
          s.fd = -1;
          // Synchronous, like closing read descriptors: close(2) without fsync does not wait for I/O.
          fs.closeSync(fd);
        }
      }
    }
  }

  private async deleteSegments(segs: Segment[]): Promise<void> {
    // A summary still being written would outlive its segment (others go on: the writer does not wait for them).
    for (const s of segs) {
      const p = this.summarising.get(s);
      if (p !== undefined) await p;
    }
    for (const s of segs) {
      this.reader.closeReadFd(s);
      if (s.fd >= 0) {
        const fd = s.fd;
        s.fd = -1;
        await closeFd(fd);
      }
      await fs.promises.rm(s.path, { force: true });
      await fs.promises.rm(summaryPath(this.dir, s.id), { force: true });
      this.dirty.delete(s);
    }
    // Before newer segments that reference these may go, the unlinks must be durable, or a
    // crash could bring back these files without the acks that emptied them.
    if (this.mode !== 'off') await fsyncDir(this.dir);
    this.reader.dropWindows(segs);
    for (const s of segs) {
      s.deleted = true;
      this.segments.delete(s.id);
      this.segmentsDeleted++;
    }
    this.sink?.deleted(segs);
    this.hooks.deleted(segs);
  }

  private resolveWaiters(err: Error | null): void {
    const cbs = this.waiterCbs;
    const targets = this.waiterTargets;
    let i = this.waiterHead;
    const confirmed = this.confirmedPos();
    while (i < cbs.length && (err !== null || (targets[i] as number) <= confirmed)) {
      const cb = cbs[i] as DurableCallback;
      i++;
      this.waiterHead = i;
      cb(err);
    }
    if (i === cbs.length) {
      this.waiterCbs = [];
      this.waiterTargets = [];
      this.waiterHead = 0;
    }
  }

  /** Log position a confirm may rely on: durable locally and, with a sink, replicated. */
  private confirmedPos(): number {
    return this.sink === null ? this.durablePos : Math.min(this.durablePos, this.sink.replicatedPos);
  }

  /** The sink's replicatedPos moved: answer the waiters it covers. */
  replicated(): void {
    if (this.failed === null) this.resolveWaiters(null);
  }

  /** Replication failed for good (this node was fenced): no confirm may follow. */
  replicationFailed(err: Error): void {
    this.fail(err);
  }

  private fail(err: Error): void {
    if (this.failed === null) this.failed = err;
    this.resolveWaiters(this.failed);
  }

}
