// Rebuilds the in-memory index (queues -> message positions) by replaying surviving segment files.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RecoveredMessage, StoredMessage } from './message-store.js';
import {
  type FrameScan,
  RECORD_HEADER_SIZE,
  RecordType,
  SEGMENT_HEADER_SIZE,
  FORMAT_VERSION,
  decodeMessageMeta,
  decodeQueueName,
  messageContentSize,
  plausibleRecord,
  readSegmentHeader,
  readU64,
  scanFrames,
  segmentVersion,
} from './record.js';
import { SEGMENT_FILE_RE, Segment } from './segment-log.js';

/** Where one stored message lives. Only this, not the body, stays in memory (paging). */
export interface Entry {
  readonly seq: number;
  readonly seg: Segment;
  /** File offset of the record and its total length (header + payload). */
  readonly offset: number;
  readonly length: number;
  /** header.length + body.length */
  readonly size: number;
  deliveries: number;
  /** The message itself until its record is written; reads come from here meanwhile. */
  pending: StoredMessage | null;
}

/** A queue's messages in seq order (Map keeps insertion order, and seqs are appended increasing). */
export class QueueIndex {
  readonly name: string;
  readonly nameBytes: Buffer;
  readonly entries: Map<number, Entry>;
  bytes: number;

  constructor(name: string, nameBytes: Buffer) {
    this.name = name;
    this.nameBytes = nameBytes;
    this.entries = new Map();
    this.bytes = 0;
  }
}

/** Records that pass their checksum, in file order; `length` is the record's total size. */
export type RecordVisitor = (type: number, seq: number, payload: Buffer, offset: number, length: number) => void;

function allZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Walks the valid records of a segment image whose header was checked (see scanFrames for damage). */
export function scanSegment(buf: Buffer, visit: RecordVisitor): FrameScan {
  return scanFrames(buf, SEGMENT_HEADER_SIZE, plausibleRecord, (pos, total) => {
    const payload = buf.subarray(pos + RECORD_HEADER_SIZE, pos + total);
    visit(payload[0] as number, readU64(payload, 1), payload, pos, total);
  });
}

export interface Recovered {
  /** Surviving segments in id order. */
  readonly segments: Segment[];
  readonly queues: Map<string, QueueIndex>;
  readonly nextSeq: number;
  readonly nextSegmentId: number;
  readonly corruptRecords: number;
  readonly truncatedBytes: number;
  readonly unknownPositions: number;
  readonly messages: number;
  /** What open() returns: per queue, in seq order, with enqueuedAt and header copied out. */
  readonly recovered: Map<string, RecoveredMessage[]>;
}

interface Extra {
  readonly enqueuedAt: number;
  readonly exchange: string;
  readonly routingKey: string;
  readonly header: Buffer;
}

function addRef(from: Segment, to: Segment): void {
  if (from !== to && !from.refs.has(to)) {
    from.refs.add(to);
    to.referencedBy.add(from);
  }
}

/** Replays every segment file in `dir`, cutting torn tails; files are read one at a time. */
export async function recover(dir: string): Promise<Recovered> {
  const ids: number[] = [];
  for (const name of await fs.promises.readdir(dir)) {
    const m = SEGMENT_FILE_RE.exec(name);
    if (m !== null) ids.push(Number(m[1]));
  }
  ids.sort((a, b) => a - b);

  const queues = new Map<string, QueueIndex>();
  // Every live message by seq, whatever its queue: ack and delivered records carry only the seq.
  const bySeq = new Map<number, { q: QueueIndex; e: Entry; x: Extra }>();
  const segments: Segment[] = [];
  let nextSeq = 1;
  let corruptRecords = 0;
  let truncatedBytes = 0;
  let unknownPositions = 0;

  for (const id of ids) {
    const seg = new Segment(id, dir, -1, 0);
    const buf = await fs.promises.readFile(seg.path);
    const headerSeq = readSegmentHeader(buf);
    if (headerSeq === null) {
      const version = segmentVersion(buf);
      if (version !== null && version !== FORMAT_VERSION) {
        // Ours but another format: refuse rather than drop or misread messages.
        throw new Error(
          `${seg.path}: message segment format version ${version}, this build reads version ${FORMAT_VERSION}; ` +
            'move the data directory aside to start empty',
        );
      }
      if (allZero(buf)) {
        // Created but its header never reached the disk: an empty segment.
        truncatedBytes += buf.length;
        await fs.promises.truncate(seg.path, 0);
        segments.push(seg);
      } else {
        // Not ours or damaged beyond use: set aside, never read again, never deleted by us.
        corruptRecords++;
        await fs.promises.rename(seg.path, `${seg.path}.corrupt`);
      }
      continue;
    }
    nextSeq = Math.max(nextSeq, headerSeq);

    const visit: RecordVisitor = (type, seq, payload, offset, length) => {
      nextSeq = Math.max(nextSeq, seq + 1);
      if (type === RecordType.Message) {
        const meta = decodeMessageMeta(payload);
        const size = messageContentSize(payload);
        if (meta === null || size < 0 || bySeq.has(seq)) {
          corruptRecords++;
          return;
        }
        const name = meta.queue;
        let q = queues.get(name);
        if (q === undefined) {
          // A fresh buffer: a view would pin the whole segment image in memory.
          q = new QueueIndex(name, Buffer.from(name, 'utf8'));
          queues.set(name, q);
        }
        const e: Entry = { seq, seg, offset, length, size, deliveries: 0, pending: null };
        q.entries.set(seq, e);
        q.bytes += size;
        const x: Extra = {
          enqueuedAt: meta.enqueuedAt,
          exchange: meta.exchange,
          routingKey: meta.routingKey,
          // A copy: a view would pin the whole segment image.
          header: Buffer.from(meta.header),
        };
        bySeq.set(seq, { q, e, x });
        seg.live++;
      } else if (type === RecordType.Delivered || type === RecordType.Ack) {
        const hit = bySeq.get(seq);
        if (hit === undefined) {
          unknownPositions++;
          return;
        }
        addRef(seg, hit.e.seg);
        if (type === RecordType.Delivered) {
          hit.e.deliveries++;
        } else {
          bySeq.delete(seq);
          hit.q.entries.delete(seq);
          hit.q.bytes -= hit.e.size;
          hit.e.seg.live--;
        }
      } else if (type === RecordType.Purge) {
        const name = decodeQueueName(payload);
        if (name === null) {
          corruptRecords++;
          return;
        }
        const q = queues.get(name);
        if (q === undefined) return;
        for (const e of q.entries.values()) {
          if (e.seq >= seq) continue;
          addRef(seg, e.seg);
          e.seg.live--;
          bySeq.delete(e.seq);
          q.entries.delete(e.seq);
          q.bytes -= e.size;
        }
      } else {
        corruptRecords++;
      }
    };
    const r = scanSegment(buf, visit);
    corruptRecords += r.corruptRecords;
    if (r.tornTail) {
      truncatedBytes += buf.length - r.end;
      await fs.promises.truncate(seg.path, r.end);
    }
    seg.size = r.tornTail ? r.end : buf.length;
    seg.written = seg.size;
    segments.push(seg);
  }

  let messages = 0;
  const recovered = new Map<string, RecoveredMessage[]>();
  for (const [name, q] of queues) {
    if (q.entries.size === 0) {
      queues.delete(name);
      continue;
    }
    messages += q.entries.size;
    const list: RecoveredMessage[] = [];
    for (const e of q.entries.values()) {
      const x = (bySeq.get(e.seq) as { x: Extra }).x;
      list.push({
        seq: e.seq,
        redelivered: e.deliveries > 0,
        deliveryCount: e.deliveries,
        size: e.size,
        enqueuedAt: x.enqueuedAt,
        exchange: x.exchange,
        routingKey: x.routingKey,
        header: x.header,
      });
    }
    recovered.set(name, list);
  }
  const last = ids[ids.length - 1];
  return {
    segments,
    queues,
    nextSeq,
    nextSegmentId: last === undefined ? 1 : last + 1,
    corruptRecords,
    truncatedBytes,
    unknownPositions,
    messages,
    recovered,
  };
}

/** Path helper for tests and tools. */
export function segmentPaths(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => SEGMENT_FILE_RE.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}
