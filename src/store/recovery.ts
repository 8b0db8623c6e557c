// Rebuilds the in-memory index (queues -> message positions) by replaying surviving segment files.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RecoveredMessage } from './message-store.js';
import { QueueIndex } from './queue-index.js';
import {
  type FrameScan,
  RECORD_HEADER_SIZE,
  RecordType,
  SEGMENT_HEADER_SIZE,
  FORMAT_VERSION,
  decodeMessageMeta,
  decodeQueueName,
  plausibleRecord,
  readSegmentHeader,
  readU64,
  scanFrames,
  segmentVersion,
} from './record.js';
import { SEGMENT_FILE_RE, Segment } from './segment-log.js';

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

/** A recovered message as open() returns it; mutable here while later records count deliveries. */
class Recovering implements RecoveredMessage {
  redelivered: boolean;
  deliveryCount: number;

  constructor(
    readonly seq: number,
    readonly size: number,
    readonly enqueuedAt: number,
    readonly exchange: string,
    readonly routingKey: string,
    readonly header: Buffer,
  ) {
    this.redelivered = false;
    this.deliveryCount = 0;
  }
}

/** A queue met during the scan: its messages as indices into the scan columns, in seq order. */
interface ScanQueue {
  readonly name: string;
  readonly slots: number[];
  /** Slots before this one are all removed (purges remove prefixes). */
  cursor: number;
}

function addRef(from: Segment, to: Segment): void {
  if (from !== to && !from.refs.has(to)) {
    from.refs.add(to);
    to.referencedBy.add(from);
  }
}

/** Shares one string per distinct value: recovered lists would otherwise hold a copy per message. */
class Interner {
  private readonly map = new Map<string, string>();
  constructor(private readonly limit: number) {}
  get(s: string): string {
    const hit = this.map.get(s);
    if (hit !== undefined) return hit;
    if (this.map.size < this.limit) this.map.set(s, s);
    return s;
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

  // Every MESSAGE record kept, in scan order, which is seq order (seqs only grow through the
  // log), as columns: ack and delivered records carry only a seq, found by binary search.
  const cSeq: number[] = [];
  const cSeg: Segment[] = [];
  const cOffset: number[] = [];
  const cLength: number[] = [];
  /** null once acked or purged. */
  const cRec: Array<Recovering | null> = [];
  const cQueue: ScanQueue[] = [];
  const scanQueues = new Map<string, ScanQueue>();
  const exchanges = new Interner(65_536);
  const routingKeys = new Interner(65_536);
  const segments: Segment[] = [];
  let nextSeq = 1;
  let lastMessageSeq = 0;
  let corruptRecords = 0;
  let truncatedBytes = 0;
  let unknownPositions = 0;

  const find = (seq: number): number => {
    let lo = 0;
    let hi = cSeq.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = cSeq[mid] as number;
      if (v < seq) lo = mid + 1;
      else if (v > seq) hi = mid - 1;
      else return cRec[mid] === null ? -1 : mid;
    }
    return -1;
  };
  const removeAt = (i: number, by: Segment): void => {
    const seg = cSeg[i] as Segment;
    addRef(by, seg);
    seg.live--;
    cRec[i] = null;
  };

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
        // A seq not above the last message's is a duplicate or out of order: our log never writes that.
        if (meta === null || seq <= lastMessageSeq) {
          corruptRecords++;
          return;
        }
        lastMessageSeq = seq;
        let q = scanQueues.get(meta.queue);
        if (q === undefined) {
          q = { name: meta.queue, slots: [], cursor: 0 };
          scanQueues.set(meta.queue, q);
        }
        q.slots.push(cSeq.length);
        cSeq.push(seq);
        cSeg.push(seg);
        cOffset.push(offset);
        cLength.push(length);
        cQueue.push(q);
        cRec.push(
          new Recovering(
            seq,
            payload.length - meta.bodyOffset + meta.header.length,
            meta.enqueuedAt,
            exchanges.get(meta.exchange),
            routingKeys.get(meta.routingKey),
            // A copy: a view would pin the whole segment image.
            Buffer.from(meta.header),
          ),
        );
        seg.live++;
      } else if (type === RecordType.Delivered || type === RecordType.Ack) {
        const i = find(seq);
        if (i < 0) {
          unknownPositions++;
          return;
        }
        if (type === RecordType.Delivered) {
          addRef(seg, cSeg[i] as Segment);
          const r = cRec[i] as Recovering;
          r.deliveryCount++;
          r.redelivered = true;
        } else {
          removeAt(i, seg);
        }
      } else if (type === RecordType.Purge) {
        const name = decodeQueueName(payload);
        if (name === null) {
          corruptRecords++;
          return;
        }
        const q = scanQueues.get(name);
        if (q === undefined) return;
        // Everything of the queue below the purge's seq: a prefix of its slots.
        while (q.cursor < q.slots.length) {
          const i = q.slots[q.cursor] as number;
          if ((cSeq[i] as number) >= seq) break;
          if (cRec[i] !== null) removeAt(i, seg);
          q.cursor++;
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
  const queues = new Map<string, QueueIndex>();
  const recovered = new Map<string, RecoveredMessage[]>();
  for (const q of scanQueues.values()) {
    let index: QueueIndex | null = null;
    const list: RecoveredMessage[] = [];
    for (let k = q.cursor; k < q.slots.length; k++) {
      const i = q.slots[k] as number;
      const rec = cRec[i] ?? null;
      if (rec === null) continue;
      // A fresh buffer for the name: a view would pin the whole segment image in memory.
      index ??= new QueueIndex(q.name, Buffer.from(q.name, 'utf8'));
      index.push(rec.seq, (cSeg[i] as Segment).id, cOffset[i] as number, cLength[i] as number, rec.size);
      if (rec.deliveryCount > 0) index.setDeliveries(index.end - 1, rec.deliveryCount);
      list.push(rec);
    }
    if (index === null) continue;
    messages += index.count;
    queues.set(q.name, index);
    recovered.set(q.name, list);
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
