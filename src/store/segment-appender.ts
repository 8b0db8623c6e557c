// The append side of a segment log: records encoded into a chunk, gathered into batches per
// segment, rolling to a new segment when one is full, and reads of appended bytes (written or not).
//
// SegmentLog (segment-log.ts) adds the writer loop that writes, fsyncs and deletes; `kick()` is its
// signal that there is something to write.

import * as fs from 'node:fs';
import type { StoredMessage } from './message-store.js';
import { SEGMENT_HEADER_SIZE, encodeMessage, messageMetaBound, sealRecord, writeSegmentHeader } from './record.js';
import { Segment, type SegmentLogHooks } from './segment.js';
import { SegmentReader } from './segment-reader.js';
import { batchView, type Batch } from './write-batch.js';

export interface SegmentAppenderOptions {
  dir: string;
  segmentSize: number;
  /** Size of each write buffer chunk; records are encoded into it back to back. */
  chunkSize: number;
  /** Cap on read-only descriptors of finished segments, so a backlog over many segments does not exhaust fds. */
  maxReadFds: number;
  hooks: SegmentLogHooks;
}

export abstract class SegmentAppender {
  readonly segments: Map<number, Segment>;
  /** Current write chunk; encode at `reserve()`'s offset, then `commit()`. */
  chunk: Buffer;
  active: Segment;
  /** Log position: total bytes committed since open (all segments). */
  position: number;
  failed: Error | null;

  protected readonly dir: string;
  protected readonly segmentSize: number;
  protected readonly chunkSize: number;
  protected readonly hooks: SegmentLogHooks;
  protected nextId: number;
  protected chunkPos: number;
  /** Start of the chunk bytes not yet placed in the open batch. */
  protected regionStart: number;
  protected batch: Batch;
  protected sealed: Batch[];
  /** Batches being written now: their bytes are read from memory until `written` covers them. */
  protected inflight: Batch[];
  /** A segment file was created since the last directory fsync. */
  protected dirDirty: boolean;
  protected readonly reader: SegmentReader;

  constructor(opts: SegmentAppenderOptions) {
    this.dir = opts.dir;
    this.segmentSize = opts.segmentSize;
    this.chunkSize = opts.chunkSize;
    this.reader = new SegmentReader(opts.maxReadFds);
    this.hooks = opts.hooks;
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
    this.failed = null;
    this.dirDirty = false;
  }

  /** Something was appended: the writer loop should run. */
  protected abstract kick(): void;


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
    this.active.bodyBytes += body.length;
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

  /** Reads `length` bytes at `offset` of a segment (synchronously: paging reads are served from the page cache mostly). */
  read(seg: Segment, offset: number, length: number): Buffer {
    return this.reader.read(seg, offset, length);
  }

  /**
   * `length` bytes at `offset` of a segment, as a view into a read-ahead window (segment-reader.ts),
   * or into the buffers waiting to be written for bytes not written yet. The view shares a buffer of up to
   * MAX_READ_AHEAD bytes with neighbouring records: copy what is kept.
   */
  readView(seg: Segment, offset: number, length: number): Buffer {
    if (offset + length > seg.written) {
      // Not written yet (a batch holds whole records, so a record is wholly on one side).
      const v = this.unwrittenView(seg, offset, length);
      if (v === null) throw new Error(`no bytes at ${offset}+${length} of ${seg.path}, written or pending`);
      return v;
    }
    return this.reader.windowView(seg, offset, length);
  }

  /** read(2) calls made for paging reads (for tests and stats). */
  get reads(): number {
    return this.reader.reads;
  }

  /** Read-only descriptors currently open. */
  get openReadFds(): number {
    return this.reader.openReadFds;
  }

  protected pushRegion(): void {
    if (this.chunkPos > this.regionStart) {
      this.pushIov(this.chunk.subarray(this.regionStart, this.chunkPos));
      this.regionStart = this.chunkPos;
    }
  }

  protected pushIov(buf: Buffer): void {
    const b = this.batch;
    b.starts.push(b.position + b.pushed);
    b.iov.push(buf);
    b.pushed += buf.length;
  }

  /**
   * Bytes [offset, offset + length) of a segment that are not written yet, from the buffers
   * waiting to be written (a view, or a copy if they span two); null if no batch holds them.
   */
  protected unwrittenView(seg: Segment, offset: number, length: number): Buffer | null {
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

  protected fromBatch(b: Batch, open: boolean, offset: number, length: number): Buffer | null {
    return batchView(b, open, offset, length, this.chunk, this.regionStart, this.chunkPos);
  }


  protected newChunk(min: number): void {
    this.pushRegion();
    // Old chunks are not reused: views of them may still sit in batches; the GC frees them.
    this.chunk = Buffer.allocUnsafeSlow(Math.max(this.chunkSize, min));
    this.chunkPos = 0;
    this.regionStart = 0;
  }

  protected sealBatch(): void {
    this.pushRegion();
    const b = this.batch;
    if (b.bytes > 0) {
      this.sealed.push(b);
      this.batch = { seg: b.seg, position: b.seg.size, iov: [], starts: [], pushed: 0, bytes: 0, end: this.position };
    }
  }

  protected roll(): void {
    const old = this.active;
    this.sealBatch();
    this.newSegment();
    this.hooks.rolled(old);
  }

  protected newSegment(): void {
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
