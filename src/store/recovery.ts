// Rebuilds the in-memory index (queues -> message positions) by replaying surviving segment files.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { QueueIndex } from './queue-index.js';
import {
  RECORD_HEADER_SIZE,
  RecordType,
  FORMAT_VERSION,
  MIN_PAYLOAD,
  decodeQueueName,
  isSealed,
  readSegmentHeader,
  readU64,
  segmentVersion,
} from './record.js';
import { SEGMENT_FILE_RE, Segment } from './segment.js';
import { type RecordVisitor, scanSegment, walkSealed } from './segment-walk.js';
import { SUMMARY_FILE_RE, type Summarised, readSummarised, summaryPath, visitSummary, writeSummary } from './segment-summary.js';
import {
  BytesInterner,
  F_DELIVERIES,
  F_ENQUEUED_AT,
  F_EXCHANGE,
  F_HEADER_LENGTH,
  F_HEADER_REF,
  F_LENGTH,
  F_OFFSET,
  F_PROPERTY_FLAGS,
  PROPERTY_FLAGS_OFFSET,
  F_ROUTING_KEY,
  F_SEG,
  F_SEQ,
  F_SIZE,
  NumColumn,
  RecoveredQueue,
  ScanTable,
} from './recovered-queue.js';

const EMPTY = Buffer.alloc(0);

function allZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
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
  /** Segments read through their seal (message CRCs left to the first body read). */
  readonly sealedSegments: number;
  /** Sealed segments whose summary was read instead of the segment (segment-summary.ts). */
  readonly summarisedSegments: number;
  /** What open() returns: per queue, in seq order, as columns (headers copied out of the segments). */
  readonly recovered: Map<string, RecoveredQueue>;
}

/** A queue met during the scan: its messages as indices into the scan columns, in seq order. */
interface ScanQueue {
  readonly name: string;
  readonly slots: NumColumn;
  /** Slots before this one are all removed (purges remove prefixes). */
  cursor: number;
  /** Name ids of the exchange and routing key of its last message (-1: none yet). */
  exchange: number;
  routingKey: number;
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
  const summaryIds = new Set<number>();
  for (const name of await fs.promises.readdir(dir)) {
    const m = SEGMENT_FILE_RE.exec(name);
    if (m !== null) ids.push(Number(m[1]));
    const sm = SUMMARY_FILE_RE.exec(name);
    if (sm !== null) summaryIds.add(Number(sm[1]));
  }
  ids.sort((a, b) => a - b);
  // Summaries of segments that no longer exist are left over from a deletion cut short: removed.
  const segmentIds = new Set(ids);
  for (const id of summaryIds) {
    if (!segmentIds.has(id)) {
      summaryIds.delete(id);
      await fs.promises.rm(summaryPath(dir, id), { force: true });
    }
  }

  // Every MESSAGE record kept, in scan order, which is seq order (seqs only grow through the
  // log), as rows of a table (recovered-queue.ts): ack and delivered records carry only a seq,
  // found by binary search. open()'s result reads the same rows.
  const names = new BytesInterner(65_536);
  const table = new ScanTable(names);
  const scanned: Segment[] = [];
  const scanQueues = new Map<string, ScanQueue>();
  /** The same queues by name id (the interner's names are found without decoding). */
  const queueById: Array<ScanQueue | undefined> = [];
  /** The queue of the previous message: consecutive messages often share it. */
  let lastQueue = -1;
  const segments: Segment[] = [];
  let nextSeq = 1;
  let lastMessageSeq = 0;
  let corruptRecords = 0;
  let truncatedBytes = 0;
  let unknownPositions = 0;
  let sealedSegments = 0;
  let summarisedSegments = 0;

  const find = (seq: number): number => {
    let lo = 0;
    let hi = table.rows - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = table.get(mid, F_SEQ);
      if (v < seq) lo = mid + 1;
      else if (v > seq) hi = mid - 1;
      else return table.get(mid, F_LENGTH) === 0 ? -1 : mid;
    }
    return -1;
  };
  const removeAt = (i: number, by: Segment): void => {
    const seg = scanned[table.get(i, F_SEG)] as Segment;
    addRef(by, seg);
    seg.live--;
    table.set(i, F_LENGTH, 0);
  };

  // One buffer for every segment (grown as needed): nothing kept from the scan is a view into it.
  let scratch = Buffer.allocUnsafeSlow(0);
  for (const id of ids) {
    const seg = new Segment(id, dir, -1, 0);
    const sumPath = summaryPath(dir, id);
    let summarised: Summarised | null = null;
    if (summaryIds.delete(id)) {
      summarised = readSummarised(id, seg.path, sumPath);
      // Unusable (torn, stale, or its segment damaged): the segment is read and checked instead.
      if (summarised === null) await fs.promises.rm(sumPath, { force: true });
    }
    // Synchronous reads: nothing else runs before recovery ends, and a thread-pool round trip
    // per chunk cost more than the copy itself on a loaded machine.
    let buf: Buffer = EMPTY;
    if (summarised === null) {
      const fd = fs.openSync(seg.path, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        if (scratch.length < size) scratch = Buffer.allocUnsafeSlow(Math.max(size, 2 * scratch.length));
        buf = scratch.subarray(0, size);
        let got = 0;
        while (got < size) {
          const bytesRead = fs.readSync(fd, buf, got, size - got, got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        buf = buf.subarray(0, got);
      } finally {
        fs.closeSync(fd);
      }
    }
    const headerSeq = summarised?.headerSeq ?? readSegmentHeader(buf);
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
    const segIndex = scanned.length;
    scanned.push(seg);

    const visit: RecordVisitor = (type, seq, buf, at, stored, offset, length) => {
      nextSeq = Math.max(nextSeq, seq + 1);
      if (type === RecordType.Message) {
        // The MESSAGE layout (record.ts) read in place: no strings built for names already seen.
        // Everything up to the end of the content header must be in buf (a summary holds no more).
        const n = at + stored;
        const qAt = at + RECORD_HEADER_SIZE + MIN_PAYLOAD;
        const qEnd = qAt + 1 + (buf[qAt] as number);
        const exAt = qEnd + 8;
        const exEnd = exAt < n ? exAt + 1 + (buf[exAt] as number) : n + 1;
        const rkEnd = exEnd < n ? exEnd + 1 + (buf[exEnd] as number) : n + 1;
        const headerLen = rkEnd + 4 <= n ? buf.readUInt32LE(rkEnd) : -1;
        // A seq not above the last message's is a duplicate or out of order: our log never writes that.
        if (headerLen < 0 || rkEnd + 4 + headerLen > n || seq <= lastMessageSeq) {
          corruptRecords++;
          return;
        }
        lastMessageSeq = seq;
        const queueId = names.id(buf, qAt + 1, qEnd, lastQueue);
        lastQueue = queueId;
        let q = queueById[queueId];
        if (q === undefined) {
          // Past the interner's limit a name gets a fresh id each time: its queue is found by name.
          const name = names.strings[queueId] as string;
          q = scanQueues.get(name);
          if (q === undefined) {
            q = { name, slots: new NumColumn(), cursor: 0, exchange: -1, routingKey: -1 };
            scanQueues.set(name, q);
          }
          queueById[queueId] = q;
        }
        const h = rkEnd + 4;
        // A queue's messages mostly share their exchange and routing key: the last ones are tried first.
        q.exchange = names.id(buf, exAt + 1, exEnd, q.exchange);
        q.routingKey = names.id(buf, exEnd + 1, rkEnd, q.routingKey);
        q.slots.push(table.rows);
        const r = table.add();
        const d = table.data;
        d[r + F_SEQ] = seq;
        d[r + F_SEG] = segIndex;
        d[r + F_OFFSET] = offset;
        d[r + F_LENGTH] = length;
        d[r + F_SIZE] = length - (h - at);
        d[r + F_ENQUEUED_AT] = readU64(buf, qEnd);
        d[r + F_EXCHANGE] = q.exchange;
        d[r + F_ROUTING_KEY] = q.routingKey;
        // A copy: the scan buffer is reused for the next segment.
        d[r + F_HEADER_REF] = table.headers.copy(buf, h, h + headerLen);
        d[r + F_HEADER_LENGTH] = headerLen;
        d[r + F_PROPERTY_FLAGS] = headerLen >= PROPERTY_FLAGS_OFFSET + 2 ? buf.readUInt16BE(h + PROPERTY_FLAGS_OFFSET) : 0;
        seg.live++;
      } else if (type === RecordType.Delivered || type === RecordType.Ack) {
        const i = find(seq);
        if (i < 0) {
          unknownPositions++;
          return;
        }
        if (type === RecordType.Delivered) {
          addRef(seg, scanned[table.get(i, F_SEG)] as Segment);
          table.set(i, F_DELIVERIES, table.get(i, F_DELIVERIES) + 1);
        } else {
          removeAt(i, seg);
        }
      } else if (type === RecordType.Purge) {
        const name = decodeQueueName(buf.subarray(at + RECORD_HEADER_SIZE, at + stored));
        if (name === null) {
          corruptRecords++;
          return;
        }
        const q = scanQueues.get(name);
        if (q === undefined) return;
        // Everything of the queue below the purge's seq: a prefix of its slots.
        while (q.cursor < q.slots.length) {
          const i = q.slots.at(q.cursor);
          if (table.get(i, F_SEQ) >= seq) break;
          if (table.get(i, F_LENGTH) !== 0) removeAt(i, seg);
          q.cursor++;
        }
      } else if (type !== RecordType.Seal) {
        corruptRecords++;
      }
    };
    if (summarised !== null) {
      visitSummary(summarised.sum, visit);
      sealedSegments++;
      summarisedSegments++;
      seg.size = summarised.size;
      seg.written = seg.size;
      segments.push(seg);
      continue;
    }
    if (isSealed(buf) && walkSealed(buf, visit)) {
      sealedSegments++;
      seg.size = buf.length;
      seg.written = seg.size;
      segments.push(seg);
      // Sealed before summaries were written, or its summary was lost: the next start reads less.
      await writeSummary(dir, id, buf);
      continue;
    }
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
  const recovered = new Map<string, RecoveredQueue>();
  for (const q of scanQueues.values()) {
    let index: QueueIndex | null = null;
    const live = new NumColumn(q.slots.length - q.cursor);
    for (let k = q.cursor; k < q.slots.length; k++) {
      const i = q.slots.at(k);
      const length = table.get(i, F_LENGTH);
      if (length === 0) continue;
      // A fresh buffer for the name: a view would pin the whole segment image in memory.
      index ??= new QueueIndex(q.name, Buffer.from(q.name, 'utf8'));
      index.push(table.get(i, F_SEQ), (scanned[table.get(i, F_SEG)] as Segment).id, table.get(i, F_OFFSET), length, table.get(i, F_SIZE));
      const deliveries = table.get(i, F_DELIVERIES);
      if (deliveries > 0) index.setDeliveries(index.end - 1, deliveries);
      live.push(i);
    }
    if (index === null) continue;
    messages += index.count;
    queues.set(q.name, index);
    recovered.set(q.name, new RecoveredQueue(q.name, live.toArray(), table));
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
    sealedSegments,
    summarisedSegments,
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
