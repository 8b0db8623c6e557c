// MessageStore on append-only segment files (format in record.ts): per-queue index in memory, bodies on disk.

import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { checkShortstr } from './memory-store.js';
import type {
  DurableCallback,
  MessageStore,
  MessageStoreStats,
  RecoveredQueueMessages,
  StoredMessage,
  SyncMode,
} from './message-store.js';
import {
  RECORD_HEADER_SIZE,
  RecordType,
  decodeMessageMeta,
  decodeMessagePayload,
  encodeSmall,
  messageBodyOffset,
  recordChecksumOk,
  smallRecordSize,
} from './record.js';
import { QueueIndex } from './queue-index.js';
import { recover } from './recovery.js';
import type { ReplicationSink, Segment } from './segment.js';
import { SegmentLog } from './segment-log.js';
import { DEFAULT_BATCH_INTERVAL_MS, DEFAULT_COPY_BODY_BELOW, DEFAULT_MAX_READ_FDS, DEFAULT_SEGMENT_SIZE, DEFAULT_WRITE_CHUNK_SIZE, type SegmentStoreOptions } from './segment-store-options.js';
import type { Clock } from '../util/clock.js';

export class SegmentStore implements MessageStore {
  private readonly dir: string;
  private readonly segmentSize: number;
  private readonly mode: SyncMode;
  private readonly batchIntervalMs: number;
  private readonly copyBodyBelow: number;
  private readonly chunkSize: number;
  private readonly maxReadFds: number;
  private readonly now: () => number;
  private readonly clock: Clock | undefined;
  private readonly replication: ((log: SegmentLog) => ReplicationSink) | undefined;
  private log: SegmentLog | null;
  private readonly queues: Map<string, QueueIndex>;
  /** Segments that may have become deletable; checked after each durable point. */
  private readonly candidates: Set<Segment>;
  private nextSeq: number;
  private state: 'new' | 'opening' | 'open' | 'closed';
  private messages: number;
  private messageBytes: number;
  private appended: number;
  private acked: number;
  private unknownPositions: number;
  private corruptRecords: number;
  private truncatedBytes: number;
  private recoveredMessages: number;
  private recoveryMs: number;
  /** Segments open() read through their summary instead of in full (segment-summary.ts). */
  summarisedSegments = 0;

  constructor(options: SegmentStoreOptions) {
    this.dir = options.dir;
    this.segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    this.mode = options.sync ?? 'always';
    this.batchIntervalMs = options.batchIntervalMs ?? DEFAULT_BATCH_INTERVAL_MS;
    this.copyBodyBelow = options.copyBodyBelow ?? DEFAULT_COPY_BODY_BELOW;
    this.chunkSize = options.writeChunkSize ?? DEFAULT_WRITE_CHUNK_SIZE;
    this.maxReadFds = options.maxReadFds ?? DEFAULT_MAX_READ_FDS;
    this.now = options.now ?? (() => performance.now());
    this.clock = options.clock;
    this.replication = options.replication;
    this.log = null;
    this.queues = new Map();
    this.candidates = new Set();
    this.nextSeq = 1;
    this.state = 'new';
    this.messages = 0;
    this.messageBytes = 0;
    this.appended = 0;
    this.acked = 0;
    this.unknownPositions = 0;
    this.corruptRecords = 0;
    this.truncatedBytes = 0;
    this.recoveredMessages = 0;
    this.recoveryMs = 0;
  }

  async open(): Promise<Map<string, RecoveredQueueMessages>> {
    if (this.state !== 'new') throw new Error('store already opened');
    this.state = 'opening';
    const start = this.now();
    await fs.promises.mkdir(this.dir, { recursive: true });
    const r = await recover(this.dir);
    this.nextSeq = r.nextSeq;
    this.corruptRecords = r.corruptRecords;
    this.truncatedBytes = r.truncatedBytes;
    this.unknownPositions = r.unknownPositions;
    this.recoveredMessages = r.messages;
    this.summarisedSegments = r.summarisedSegments;
    this.messages = r.messages;
    const result = r.recovered;
    for (const [name, q] of r.queues) {
      this.queues.set(name, q);
      this.messageBytes += q.bytes;
    }
    for (const s of r.segments) if (s.live === 0) this.candidates.add(s);
    const log = new SegmentLog({
      dir: this.dir,
      segmentSize: this.segmentSize,
      sync: this.mode,
      batchIntervalMs: this.batchIntervalMs,
      ...(this.clock === undefined ? {} : { clock: this.clock }),
      chunkSize: this.chunkSize,
      maxReadFds: this.maxReadFds,
      ...(this.replication === undefined ? {} : { replication: this.replication }),
      hooks: {
        // Records not written yet are read from the log's write buffers: nothing to track here.
        written: () => undefined,
        nextSeq: () => this.nextSeq,
        rolled: (old) => {
          if (old.live === 0) this.candidates.add(old);
        },
        deletable: (durable) => this.collectDeletable(durable),
        deleted: (segs) => this.onDeleted(segs),
      },
    });
    this.log = log;
    // Creates the new active segment (carrying nextSeq) durably before emptied old ones go.
    await log.start(r.segments, r.nextSegmentId);
    this.recoveryMs = this.now() - start;
    this.state = 'open';
    return result;
  }

  append(queue: string, msg: StoredMessage): number {
    const log = this.openLog();
    let q = this.queues.get(queue);
    if (q === undefined) {
      checkShortstr('queue name', queue);
      q = new QueueIndex(queue, Buffer.from(queue, 'utf8'));
      this.queues.set(queue, q);
    }
    const seq = this.nextSeq;
    const offset = log.appendMessage(seq, q.nameBytes, msg, this.copyBodyBelow);
    const seg = log.lastSegment as Segment;
    const length = log.lastLength;
    this.nextSeq = seq + 1;
    const size = msg.header.length + msg.body.length;
    q.push(seq, seg.id, offset, length, size);
    seg.live++;
    this.messages++;
    this.messageBytes += size;
    this.appended++;
    return seq;
  }

  deliveryCount(queue: string, seq: number): number {
    const q = this.queues.get(queue);
    const slot = q === undefined ? -1 : q.find(seq);
    return q === undefined || slot < 0 ? 0 : q.deliveriesAt(slot);
  }

  markDelivered(queue: string, seq: number): void {
    this.openLog();
    const q = this.queues.get(queue);
    const slot = q === undefined ? -1 : q.find(seq);
    if (q === undefined || slot < 0) {
      this.unknownPositions++;
      return;
    }
    q.addDelivery(slot);
    this.writeSmall(RecordType.Delivered, seq, null, this.segment(q.segAt(slot)));
  }

  ack(queue: string, seq: number): boolean {
    this.openLog();
    const q = this.queues.get(queue);
    const slot = q === undefined ? -1 : q.find(seq);
    if (q === undefined || slot < 0) {
      this.unknownPositions++;
      return false;
    }
    this.removeAt(q, slot);
    return true;
  }

  /**
   * read() and ack() in one lookup, for paging a message back in for good. header and body are
   * buffers of their own (copies), never views into a read-ahead window or the appended message.
   * Nothing is removed if the read throws.
   */
  take(queue: string, seq: number): StoredMessage {
    const [q, slot] = this.locate(queue, seq);
    const payload = this.readPayload(q, slot);
    const meta = decodeMessageMeta(payload);
    if (meta === null) throw new Error(`malformed record for message ${seq} of queue '${queue}'`);
    const header = Buffer.allocUnsafe(meta.header.length);
    meta.header.copy(header);
    const body = Buffer.allocUnsafe(payload.length - meta.bodyOffset);
    payload.copy(body, 0, meta.bodyOffset);
    const out: StoredMessage = { exchange: meta.exchange, routingKey: meta.routingKey, header, body, enqueuedAt: meta.enqueuedAt };
    this.removeAt(q, slot);
    return out;
  }

  private removeAt(q: QueueIndex, slot: number): void {
    const log = this.openLog();
    const seg = this.segment(q.segAt(slot));
    const size = q.sizeAt(slot);
    this.writeSmall(RecordType.Ack, q.seqAt(slot), null, seg);
    q.remove(slot);
    this.messages--;
    this.messageBytes -= size;
    this.acked++;
    this.release(seg, log.position);
  }

  purge(queue: string): number {
    return this.removeQueue(queue, false);
  }

  deleteQueue(queue: string): number {
    return this.removeQueue(queue, true);
  }

  messageCount(queue: string): number {
    return this.queues.get(queue)?.count ?? 0;
  }

  whenDurable(cb: DurableCallback): void {
    if (this.log === null || this.state === 'closed') {
      process.nextTick(cb, new Error('store is not open'));
      return;
    }
    this.log.whenDurable(cb);
  }

  read(queue: string, seq: number): StoredMessage {
    const [q, slot] = this.locate(queue, seq);
    const d = decodeMessagePayload(this.readPayload(q, slot));
    if (d === null) throw new Error(`malformed record for message ${seq} of queue '${queue}'`);
    return d.message;
  }

  readBody(queue: string, seq: number): Buffer {
    const [q, slot] = this.locate(queue, seq);
    const payload = this.readPayload(q, slot);
    const at = messageBodyOffset(payload);
    if (at < 0) throw new Error(`malformed record for message ${seq} of queue '${queue}'`);
    // A copy: the payload is a view into a read-ahead window shared with other records.
    const body = Buffer.allocUnsafe(payload.length - at);
    payload.copy(body, 0, at);
    return body;
  }

  private locate(queue: string, seq: number): [QueueIndex, number] {
    this.openLog();
    const q = this.queues.get(queue);
    const slot = q === undefined ? -1 : q.find(seq);
    if (q === undefined || slot < 0) throw new Error(`no message ${seq} in queue '${queue}'`);
    return [q, slot];
  }

  /**
   * The record's payload (a view into a read-ahead window, or into the log's write buffers while
   * it is not written yet), after checking its length and CRC.
   */
  private readPayload(q: QueueIndex, slot: number): Buffer {
    const seg = this.segment(q.segAt(slot));
    const length = q.lengthAt(slot);
    const buf = this.openLog().readView(seg, q.offsetAt(slot), length);
    const payloadLen = buf.readUInt32LE(0);
    if (payloadLen !== length - RECORD_HEADER_SIZE || !recordChecksumOk(buf, 0, payloadLen)) {
      this.corruptRecords++;
      throw new Error(`checksum mismatch reading message ${q.seqAt(slot)} of queue '${q.name}' in ${seg.path}`);
    }
    return buf.subarray(RECORD_HEADER_SIZE);
  }

  /** The live segment with this id; the index only names segments holding live messages, which are never deleted. */
  private segment(id: number): Segment {
    const seg = this.log?.segments.get(id);
    if (seg === undefined) throw new Error(`message store: segment ${id} is gone but still indexed`);
    return seg;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.log !== null) await this.log.close();
  }

  stats(): MessageStoreStats {
    const log = this.log;
    return {
      messages: this.messages,
      messageBytes: this.messageBytes,
      appended: this.appended,
      acked: this.acked,
      unknownPositions: this.unknownPositions,
      syncs: log?.syncs ?? 0,
      bytesWritten: log?.bytesWritten ?? 0,
      segments: log?.segments.size ?? 0,
      segmentsDeleted: log?.segmentsDeleted ?? 0,
      corruptRecords: this.corruptRecords,
      truncatedBytes: this.truncatedBytes,
      recoveredMessages: this.recoveredMessages,
      recoveryMs: this.recoveryMs,
    };
  }

  /** read(2) calls made by paging reads so far (read-ahead makes it far fewer than records read). */
  get pagingReads(): number {
    return this.log?.reads ?? 0;
  }

  /** Read-only segment descriptors open now (bounded by maxReadFds). */
  get openReadFds(): number {
    return this.log?.openReadFds ?? 0;
  }

  private openLog(): SegmentLog {
    if (this.state !== 'open' || this.log === null) throw new Error('store is not open');
    return this.log;
  }

  private removeQueue(queue: string, forget: boolean): number {
    const log = this.openLog();
    const q = this.queues.get(queue);
    if (q === undefined) return 0;
    if (forget) this.queues.delete(queue);
    const n = q.count;
    if (n === 0) return 0;
    // One record for the lot: every message of the queue below nextSeq is gone.
    const active = this.writeSmall(RecordType.Purge, this.nextSeq, q.nameBytes, null);
    for (let slot = q.start; slot < q.end; slot++) {
      if (!q.isLive(slot)) continue;
      const seg = this.segment(q.segAt(slot));
      if (seg !== active && !active.refs.has(seg)) {
        active.refs.add(seg);
        seg.referencedBy.add(active);
      }
      this.release(seg, log.position);
    }
    this.messages -= n;
    this.messageBytes -= q.bytes;
    q.clear();
    return n;
  }

  /** Appends a DELIVERED/ACK/PURGE record; `target` is the segment it names (for the reference). Returns the segment written to. */
  private writeSmall(type: RecordType, seq: number, queueName: Buffer | null, target: Segment | null): Segment {
    const log = this.openLog();
    const size = smallRecordSize(queueName);
    const off = log.reserve(size, size);
    const end = encodeSmall(log.chunk, off, type, seq, queueName);
    const active = log.active;
    log.commit(end, null);
    if (target !== null && target !== active && !active.refs.has(target)) {
      active.refs.add(target);
      target.referencedBy.add(active);
    }
    return active;
  }

  private release(seg: Segment, at: number): void {
    seg.live--;
    if (seg.live === 0) {
      seg.emptiedAt = at;
      this.candidates.add(seg);
    }
  }

  private collectDeletable(durable: number): Segment[] {
    const log = this.log;
    if (log === null) return [];
    const out: Segment[] = [];
    for (const s of this.candidates) {
      if (s.deleted || s.live > 0 || s.refs.size > 0) {
        // Re-added when live drops to 0 again or its last reference goes.
        this.candidates.delete(s);
      } else if (s !== log.active && s.written === s.size && s.emptiedAt <= durable) {
        this.candidates.delete(s);
        out.push(s);
      }
    }
    return out;
  }

  private onDeleted(segs: Segment[]): void {
    for (const s of segs) {
      for (const r of s.referencedBy) {
        r.refs.delete(s);
        if (r.refs.size === 0 && r.live === 0) this.candidates.add(r);
      }
      s.referencedBy.clear();
    }
  }
}
