// Segment files on disk: buffered appends, one writer loop, group-commit fsync, rolling and deletion.
//
// Knows bytes and files, not queues: the store encodes records into `chunk`, commits them, and
// tells the log (through hooks) which segments may go. All I/O is asynchronous except
// segment creation on roll (once per segment) and paging reads.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DurableCallback, SyncMode } from './message-store.js';
import type { StoredMessage } from './message-store.js';
import { summarise, summaryPath } from './segment-summary.js';
import { RecordType, SEAL_RECORD_SIZE, SEGMENT_HEADER_SIZE, encodeMessage, encodeSmall, messageMetaBound, sealRecord, writeSegmentHeader } from './record.js';
import { systemClock, type Clock, type Timer } from '../util/clock.js';

/** One segment file and the bookkeeping deciding when it may be deleted. */
export class Segment {
  readonly id: number;
  readonly path: string;
  /** Write descriptor of a segment being written, or -1 once finished and synced (or recovered). */
  fd: number;
  /** Read-only descriptor of a finished segment, or -1; at most maxReadFds are open (LRU). */
  readFd: number;
  /** Bytes assigned in this file, including those not yet written. */
  size: number;
  /** Bytes whose write(2) completed. */
  written: number;
  /** Messages in this file still held by some queue. */
  live: number;
  /** Log position at which `live` last dropped to 0; its deletion waits until that is durable. */
  emptiedAt: number;
  /** Older segments this one's ack/delivered/purge records name; it is kept while any of them exists. */
  readonly refs: Set<Segment>;
  /** Newer segments whose `refs` hold this one. */
  readonly referencedBy: Set<Segment>;
  deleted: boolean;

  constructor(id: number, dir: string, fd: number, size: number) {
    this.id = id;
    this.path = path.join(dir, segmentFileName(id));
    this.fd = fd;
    this.readFd = -1;
    this.size = size;
    this.written = size;
    this.live = 0;
    this.emptiedAt = 0;
    this.refs = new Set();
    this.referencedBy = new Set();
    this.deleted = false;
  }
}

/**
 * Read-ahead for paging: recently read bytes of a segment. Paged-out messages of a queue are
 * mostly adjacent in the log, so a refill served from windows costs one read(2) per window
 * instead of one per record. A window's buffer is never reused (views of it may be held);
 * a new read gets a fresh buffer and the old one goes to the GC.
 */
class ReadWindow {
  seg: Segment | null;
  /** File offset of buf[0]. */
  start: number;
  buf: Buffer;
  /** Bytes to read on the next sequential miss (grows while reads stay sequential). */
  next: number;
  /** For LRU replacement. */
  used: number;

  constructor() {
    this.seg = null;
    this.start = 0;
    this.buf = EMPTY;
    this.next = 0;
    this.used = 0;
  }
}

const EMPTY = Buffer.alloc(0);
const EMPTY_BATCHES: Batch[] = [];
/** 64 KiB: the first read at a new place; about the cost of a 4 KiB read from the page cache plus a memcpy. */
export const MIN_READ_AHEAD = 64 * 1024;
/** 1 MiB: tens of thousands of small records per read(2), and a few windows per store stay cheap. */
export const MAX_READ_AHEAD = 1024 * 1024;
/** Windows per log: a refill of one queue, another queue's refill and recovered bodies read at delivery each keep theirs. */
const READ_WINDOWS = 4;

/** Zero-padded so a plain directory listing sorts in log order too. */
export function segmentFileName(id: number): string {
  return `${String(id).padStart(12, '0')}.seg`;
}

export const SEGMENT_FILE_RE = /^(\d{12,})\.seg$/;

export interface SegmentLogHooks {
  /** Write progress: every record ending at or before segment.written is in the OS. */
  written(): void;
  /** The store's next seq, stamped in a new segment's header. */
  nextSeq(): number;
  /** The previously active segment stopped receiving writes. */
  rolled(old: Segment): void;
  /** Segments that may be deleted now that everything up to `durable` (log position) is durable. */
  deletable(durable: number): Segment[];
  /** These segments' files are gone (and the directory synced, unless sync is off). */
  deleted(segments: Segment[]): void;
}

/**
 * Where written batches are replicated (high availability). The log hands each batch over as it
 * writes it, in log order, and a confirm then waits for both its local fsync and
 * `replicatedPos` passing it; the sink calls `SegmentLog.replicated()` when that moves. Without
 * a sink nothing of this runs.
 */
export interface ReplicationSink {
  /** Bytes [position, position + bytes) of `seg`, as written to it; `end` is the log position after them. */
  batch(seg: Segment, position: number, iov: readonly Buffer[], bytes: number, end: number): void;
  /** Log position up to which everything handed over is replicated. */
  readonly replicatedPos: number;
  /** These segments' files are gone locally. */
  deleted(segs: readonly Segment[]): void;
}

/** What a vhost's stores replicate (HA): the message log's batches and the definitions ops. */
export interface StoreReplication {
  messages: (log: SegmentLog) => ReplicationSink;
  definitions: (payload: Buffer) => void;
}

export interface SegmentLogOptions {
  dir: string;
  segmentSize: number;
  sync: SyncMode;
  batchIntervalMs: number;
  /** Size of each write buffer chunk; records are encoded into it back to back. */
  chunkSize: number;
  /** Cap on read-only descriptors of finished segments, so a backlog over many segments does not exhaust fds. */
  maxReadFds: number;
  hooks: SegmentLogHooks;
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

interface Batch {
  readonly seg: Segment;
  /** File offset of the first byte. */
  readonly position: number;
  readonly iov: Buffer[];
  /** File offset of each iov entry (for reads of bytes not yet written). */
  readonly starts: number[];
  /** Bytes in iov; the rest of `bytes` is still the chunk region [regionStart, chunkPos) (open batch only). */
  pushed: number;
  bytes: number;
  /** Log position after the batch's last byte. */
  end: number;
}

function writevAll(fd: number, iov: Buffer[], position: number, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.writev(fd, iov, position, (err, n) => {
      if (err) reject(err);
      else if (n !== bytes) reject(new Error(`short write: ${n} of ${bytes} bytes`));
      else resolve();
    });
  });
}

function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

function writeAt(fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.write(fd, buf, 0, buf.length, position, (err, n) => {
      if (err) reject(err);
      else if (n !== buf.length) reject(new Error(`short write: ${n} of ${buf.length} bytes`));
      else resolve();
    });
  });
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
}

/** fsync on a directory makes creations, renames and unlinks in it durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = await new Promise<number>((resolve, reject) =>
    fs.open(dir, 'r', (err, d) => (err ? reject(err) : resolve(d))),
  );
  try {
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

export class SegmentLog {
  readonly segments: Map<number, Segment>;
  /** Current write chunk; encode at `reserve()`'s offset, then `commit()`. */
  chunk: Buffer;
  active: Segment;
  /** Log position: total bytes committed since open (all segments). */
  position: number;
  /** Log position whose bytes are all written. */
  writtenPos: number;
  /** Log position whose bytes are all durable (== writtenPos when sync is off). */
  durablePos: number;
  syncs: number;
  /** Seals that could not be written (their segments get the full check at recovery). */
  sealsFailed = 0;
  bytesWritten: number;
  segmentsDeleted: number;
  failed: Error | null;

  private readonly dir: string;
  private readonly segmentSize: number;
  private readonly mode: SyncMode;
  private readonly chunkSize: number;
  private readonly hooks: SegmentLogHooks;
  private readonly ephemeral: boolean;
  private readonly sink: ReplicationSink | null;
  /** collect() was called since the writer loop last asked which segments may go. */
  private collectRequested: boolean;
  private nextId: number;
  private chunkPos: number;
  /** Start of the chunk bytes not yet placed in the open batch. */
  private regionStart: number;
  private batch: Batch;
  private sealed: Batch[];
  /** Summaries being written (segment-summary.ts). */
  private readonly summarising = new Set<Promise<boolean>>();
  /** Batches being written now: their bytes are read from memory until `written` covers them. */
  private inflight: Batch[];
  /** Segments written since the last fsync. */
  private readonly dirty: Set<Segment>;
  private dirDirty: boolean;
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
  private readonly maxReadFds: number;
  /** Segments holding a readFd, least recently read first (Set keeps insertion order). */
  private readonly readLru: Set<Segment>;
  private readonly windows: ReadWindow[];
  private windowClock: number;
  /** read(2) calls made for paging reads (for tests and stats). */
  reads: number;

  constructor(opts: SegmentLogOptions) {
    this.dir = opts.dir;
    this.segmentSize = opts.segmentSize;
    this.mode = opts.sync;
    this.chunkSize = opts.chunkSize;
    this.maxReadFds = Math.max(1, opts.maxReadFds);
    this.readLru = new Set();
    this.windows = [];
    for (let i = 0; i < READ_WINDOWS; i++) this.windows.push(new ReadWindow());
    this.windowClock = 0;
    this.reads = 0;
    this.hooks = opts.hooks;
    this.ephemeral = opts.ephemeral ?? false;
    this.sink = null;
    this.collectRequested = false;
    this.segments = new Map();
    this.chunk = Buffer.allocUnsafeSlow(this.chunkSize);
    this.chunkPos = 0;
    this.regionStart = 0;
    // Placeholder until start(); never written because it holds no bytes.
    this.active = new Segment(0, this.dir, -1, 0);
    this.batch = { seg: this.active, position: 0, iov: [], starts: [], pushed: 0, bytes: 0, end: 0 };
    this.sealed = [];
    this.inflight = [];
    this.nextId = 1;
    this.position = 0;
    this.writtenPos = 0;
    this.durablePos = 0;
    this.syncs = 0;
    this.bytesWritten = 0;
    this.segmentsDeleted = 0;
    this.failed = null;
    this.dirty = new Set();
    this.dirDirty = false;
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

  /** Segment and length of the record the last appendMessage wrote (fields, not a result object: it runs per message). */
  lastSegment: Segment | null = null;
  lastLength = 0;

  /**
   * Encode, seal and commit one message record for `queueName` (bodies below `copyBodyBelow` bytes are
   * copied into the chunk, larger ones written from their own buffer); returns its file offset.
   */
  appendMessage(seq: number, queueName: Buffer, msg: StoredMessage, copyBodyBelow: number): number {
    const body = msg.body;
    const copy = body.length < copyBodyBelow;
    const meta = messageMetaBound(queueName, msg);
    const off = this.reserve(meta + body.length, copy ? meta + body.length : meta);
    const end = encodeMessage(this.chunk, off, seq, queueName, msg, copy);
    sealRecord(this.chunk, off, end, copy ? null : body);
    this.lastLength = end - off + (copy ? 0 : body.length);
    this.lastSegment = this.active;
    return this.commit(end, copy ? null : body);
  }

  /** Returns the chunk offset at which to encode a record of at most `bound` bytes, `inline` of them in the chunk. */
  reserve(bound: number, inline: number): number {
    if (this.failed !== null) throw this.failed;
    if (this.active.size + bound > this.segmentSize && this.active.size > SEGMENT_HEADER_SIZE) this.roll();
    if (this.chunkPos + inline > this.chunk.length) this.newChunk(inline);
    return this.chunkPos;
  }

  /** Commits the record encoded from the reserved offset to `end`, plus an out-of-line body; returns its file offset. */
  commit(end: number, body: Buffer | null): number {
    const seg = this.active;
    const fileOffset = seg.size;
    let len = end - this.chunkPos;
    this.chunkPos = end;
    if (body !== null && body.length > 0) {
      this.pushRegion();
      this.pushIov(body);
      len += body.length;
    }
    this.batch.bytes += len;
    seg.size += len;
    this.position += len;
    this.batch.end = this.position;
    this.kick();
    return fileOffset;
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

  /** Reads `length` bytes at `offset` of a segment (synchronously: paging reads are served from the page cache mostly). */
  read(seg: Segment, offset: number, length: number, slow = false): Buffer {
    const fd = seg.fd >= 0 ? seg.fd : this.readFd(seg);
    // Windows are unpooled: a pool slab must not outlive them, nor they a slab.
    const buf = slow ? Buffer.allocUnsafeSlow(length) : Buffer.allocUnsafe(length);
    this.reads++;
    const n = fs.readSync(fd, buf, 0, length, offset);
    if (n !== length) throw new Error(`short read in ${seg.path} at ${offset}: ${n} of ${length} bytes`);
    return buf;
  }

  /**
   * `length` bytes at `offset` of a segment, as a view into a read-ahead window (see
   * ReadWindow), or into the buffers waiting to be written for bytes not written yet. The view shares a buffer of up to
   * MAX_READ_AHEAD bytes with neighbouring records: copy what is kept.
   */
  readView(seg: Segment, offset: number, length: number): Buffer {
    const end = offset + length;
    if (end > seg.written) {
      // Not written yet (a batch holds whole records, so a record is wholly on one side).
      const v = this.unwrittenView(seg, offset, length);
      if (v === null) throw new Error(`no bytes at ${offset}+${length} of ${seg.path}, written or pending`);
      return v;
    }
    let victim: ReadWindow | null = null;
    let seq: ReadWindow | null = null;
    for (const w of this.windows) {
      if (w.seg === seg && offset >= w.start && end <= w.start + w.buf.length) {
        w.used = ++this.windowClock;
        return w.buf.subarray(offset - w.start, end - w.start);
      }
      // A reader moving forward just past a window, in its segment or into the next one.
      const wEnd = w.start + w.buf.length;
      if (w.seg !== null && ((w.seg === seg && offset >= wEnd && offset < wEnd + w.next) || (w.seg.id + 1 === seg.id && wEnd === w.seg.size && offset < w.next))) seq = w;
      if (victim === null || w.used < victim.used) victim = w;
    }
    // A record too large for a window is read on its own.
    if (length > MAX_READ_AHEAD) return this.read(seg, offset, length);
    const w = seq ?? (victim as ReadWindow);
    const want = seq === null ? MIN_READ_AHEAD : Math.min(MAX_READ_AHEAD, seq.next * 2);
    const n = Math.max(length, Math.min(want, seg.written - offset));
    w.buf = this.read(seg, offset, n, true);
    w.seg = seg;
    w.start = offset;
    w.next = want;
    w.used = ++this.windowClock;
    return w.buf.subarray(0, length);
  }

  /** Forgets the read-ahead windows of these segments (they are gone) or of all (close). */
  private dropWindows(segs: Segment[] | null): void {
    for (const w of this.windows) {
      if (w.seg !== null && (segs === null || segs.includes(w.seg))) {
        w.seg = null;
        w.buf = EMPTY;
        w.start = 0;
        w.next = 0;
      }
    }
  }

  /** Read-only descriptors currently open. */
  get openReadFds(): number {
    return this.readLru.size;
  }

  /** The segment's read-only descriptor, opening it (and closing the least recently used one past the cap). */
  private readFd(seg: Segment): number {
    if (seg.readFd >= 0) {
      this.readLru.delete(seg);
      this.readLru.add(seg);
      return seg.readFd;
    }
    const fd = fs.openSync(seg.path, 'r');
    seg.readFd = fd;
    this.readLru.add(seg);
    if (this.readLru.size > this.maxReadFds) {
      const oldest = this.readLru.values().next().value as Segment;
      this.closeReadFd(oldest);
    }
    return fd;
  }

  private closeReadFd(seg: Segment): void {
    if (seg.readFd < 0) return;
    const fd = seg.readFd;
    seg.readFd = -1;
    this.readLru.delete(seg);
    // Synchronous: reads are synchronous too, and close(2) of a read-only fd does not block on I/O.
    fs.closeSync(fd);
  }

  /** Writes and fsyncs everything, runs the callbacks, closes files. */
  async close(): Promise<void> {
    this.timer?.cancel();
    this.timer = null;
    this.forceSync = true;
    this.kick();
    await this.idle();
    this.dropWindows(null);
    for (const s of [...this.readLru]) this.closeReadFd(s);
    for (const s of this.segments.values()) {
      if (s.fd >= 0) {
        // Everything was synced above (unless the log failed or never syncs): the active segment is finished too.
        if (this.failed === null && this.mode !== 'off' && s.written === s.size) await this.seal(s);
        const fd = s.fd;
        s.fd = -1;
        await closeFd(fd);
      }
    }
    await Promise.all([...this.summarising]);
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

  private kick(): void {
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
        if (this.ephemeral && batches.length > 1) await Promise.all(batches.map((b) => writevAll(b.seg.fd, b.iov, b.position, b.bytes)));
        // Replication runs beside the local write and fsync; the sink copies what it keeps.
        if (this.sink !== null) for (const b of batches) this.sink.batch(b.seg, b.position, b.iov, b.bytes, b.end);
        for (const b of batches) {
          if (!this.ephemeral || batches.length === 1) await writevAll(b.seg.fd, b.iov, b.position, b.bytes);
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
    // writer's path, so no confirm waits for it (close() does).
    const p = summarise(this.dir, s.id, s.path, s.size)
      .catch(() => false)
      .finally(() => this.summarising.delete(p));
    this.summarising.add(p);
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
    // A summary still being written would outlive its segment.
    if (this.summarising.size > 0) await Promise.all([...this.summarising]);
    for (const s of segs) {
      this.closeReadFd(s);
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
    this.dropWindows(segs);
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

  private pushRegion(): void {
    if (this.chunkPos > this.regionStart) {
      this.pushIov(this.chunk.subarray(this.regionStart, this.chunkPos));
      this.regionStart = this.chunkPos;
    }
  }

  private pushIov(buf: Buffer): void {
    const b = this.batch;
    b.starts.push(b.position + b.pushed);
    b.iov.push(buf);
    b.pushed += buf.length;
  }

  /**
   * Bytes [offset, offset + length) of a segment that are not written yet, from the buffers
   * waiting to be written (a view, or a copy if they span two); null if no batch holds them.
   */
  private unwrittenView(seg: Segment, offset: number, length: number): Buffer | null {
    for (const b of this.inflight) if (b.seg === seg) {
      const v = this.fromBatch(b, false, offset, length);
      if (v !== null) return v;
    }
    for (const b of this.sealed) if (b.seg === seg) {
      const v = this.fromBatch(b, false, offset, length);
      if (v !== null) return v;
    }
    return this.batch.seg === seg ? this.fromBatch(this.batch, true, offset, length) : null;
  }

  private fromBatch(b: Batch, open: boolean, offset: number, length: number): Buffer | null {
    if (offset < b.position || offset + length > b.position + b.bytes) return null;
    const pieces = b.iov.length + (open && b.pushed < b.bytes ? 1 : 0);
    const piece = (k: number): Buffer => (k < b.iov.length ? (b.iov[k] as Buffer) : this.chunk.subarray(this.regionStart, this.chunkPos));
    const startOf = (k: number): number => (k < b.iov.length ? (b.starts[k] as number) : b.position + b.pushed);
    // Last piece starting at or before offset.
    let lo = 0;
    let hi = pieces - 1;
    let k = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (startOf(mid) <= offset) {
        k = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const first = piece(k);
    const rel = offset - startOf(k);
    if (rel + length <= first.length) return first.subarray(rel, rel + length);
    const out = Buffer.allocUnsafe(length);
    let n = first.copy(out, 0, rel);
    while (n < length && ++k < pieces) n += piece(k).copy(out, n, 0, Math.min(piece(k).length, length - n));
    return n === length ? out : null;
  }

  private newChunk(min: number): void {
    this.pushRegion();
    // Old chunks are not reused: views of them may still sit in batches; the GC frees them.
    this.chunk = Buffer.allocUnsafeSlow(Math.max(this.chunkSize, min));
    this.chunkPos = 0;
    this.regionStart = 0;
  }

  private sealBatch(): void {
    this.pushRegion();
    const b = this.batch;
    if (b.bytes > 0) {
      this.sealed.push(b);
      this.batch = { seg: b.seg, position: b.seg.size, iov: [], starts: [], pushed: 0, bytes: 0, end: this.position };
    }
  }

  private roll(): void {
    const old = this.active;
    this.sealBatch();
    this.newSegment();
    this.hooks.rolled(old);
  }

  private newSegment(): void {
    const id = this.nextId++;
    const seg = new Segment(id, this.dir, -1, 0);
    // 'wx': an existing file with this id would mean two writers; fail loudly.
    seg.fd = fs.openSync(seg.path, 'wx+');
    this.segments.set(id, seg);
    this.active = seg;
    this.dirDirty = true;
    this.pushRegion();
    this.batch = { seg, position: 0, iov: [], starts: [], pushed: 0, bytes: 0, end: this.position };
    const off = this.reserve(0, SEGMENT_HEADER_SIZE);
    writeSegmentHeader(this.chunk, off, this.hooks.nextSeq());
    this.commit(off + SEGMENT_HEADER_SIZE, null);
  }
}
