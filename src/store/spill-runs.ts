// A spilled queue's runs (stretches of one segment holding its records, oldest first) and the
// reading of its next record from them: see spill-store.ts for the layout and the damage rules.

import type { StoredMessage } from './message-store.js';
import { MIN_PAYLOAD, RECORD_HEADER_SIZE, RecordType, decodeMessageMeta, plausibleRecord, readU64, recordChecksumOk, validFrameAt } from './record.js';
import type { Segment } from './segment.js';
import type { SegmentLog } from './segment-log.js';


/**
 * 64 KiB, one minimal read-ahead window: a new run starts when more than this many bytes of
 * other queues' records lie between a queue's last record and its new one. Small messages of
 * interleaved queues then still share long runs, while large ones (where a run per message is
 * noise next to the body) are never read past by another queue's reader.
 */
export const MAX_RUN_GAP = 64 * 1024;

export class SpillRun {
  readonly seg: Segment;
  /** Offset of the next record to look at. */
  cursor: number;
  /** Offset just past the run's last record. */
  end: number;
  /** Records of this run not yet taken or discarded. */
  remaining: number;

  constructor(seg: Segment, cursor: number, end: number) {
    this.seg = seg;
    this.cursor = cursor;
    this.end = end;
    this.remaining = 1;
  }
}

export class SpillQueue {
  readonly nameBytes: Buffer;
  /** Oldest first from `head`. */
  runs: SpillRun[];
  head: number;
  count: number;
  /** Ordinal of the next record appended. */
  appended: number;
  /** Ordinal of the next message to take: records below it were taken or discarded. */
  expected: number;

  constructor(nameBytes: Buffer) {
    this.nameBytes = nameBytes;
    this.runs = [];
    this.head = 0;
    this.count = 0;
    this.appended = 0;
    this.expected = 0;
  }
}

/** What the next own record turned out to be when it is damaged or missing. */
export const LOST = null;

/**
 * The message with ordinal q.expected, read from `run` (moving its cursor past it), or LOST if
 * its record is damaged or missing.
 */
export function nextOwn(log: SegmentLog, q: SpillQueue, run: SpillRun): StoredMessage | null {
  const seg = run.seg;
  for (;;) {
    const pos = run.cursor;
    if (pos >= run.end) return LOST;
    // The length is checked before it is trusted: a record read from disk must end by
    // seg.written (a batch holds whole records; those not written yet are read from memory).
    const limit = pos < seg.written ? Math.min(run.end, seg.written) : run.end;
    const len = pos + RECORD_HEADER_SIZE <= limit ? log.readView(seg, pos, RECORD_HEADER_SIZE).readUInt32LE(0) : -1;
    const total = RECORD_HEADER_SIZE + len;
    if (len < MIN_PAYLOAD + 1 || pos + total > limit) {
      resync(log, run, pos, limit);
      return LOST;
    }
    const rec = log.readView(seg, pos, total);
    const p = RECORD_HEADER_SIZE;
    if (rec[p] !== RecordType.Message || !sameName(rec, p + MIN_PAYLOAD, q.nameBytes)) {
      // Another queue's record (or one too damaged to say; its own reader deals with it).
      run.cursor = pos + total;
      continue;
    }
    if (!recordChecksumOk(rec, 0, len)) {
      resync(log, run, pos, limit);
      return LOST;
    }
    const ord = readU64(rec, p + 1);
    if (ord < q.expected || ord >= q.expected + run.remaining) {
      // Discarded already, or not a record this run can hold: step over it.
      run.cursor = pos + total;
      continue;
    }
    // Further on than expected: the messages in between were damaged; this one is taken later.
    if (ord > q.expected) return LOST;
    run.cursor = pos + total;
    const meta = decodeMessageMeta(rec.subarray(p));
    if (meta === null) return LOST;
    // One buffer of its own for header and body: the view shares a read-ahead window.
    const bodyStart = p + meta.bodyOffset;
    const headerLen = meta.header.length;
    const own = Buffer.allocUnsafe(headerLen + total - bodyStart);
    meta.header.copy(own, 0);
    rec.copy(own, headerLen, bodyStart, total);
    return {
      exchange: meta.exchange,
      routingKey: meta.routingKey,
      header: own.subarray(0, headerLen),
      body: own.subarray(headerLen),
      enqueuedAt: meta.enqueuedAt,
    };
  }
}


/**
 * After a damaged record at `pos`: put the cursor on the next valid frame before `limit`
 * (trying just past the damaged record's stated length first), or on `limit` if none.
 */
function resync(log: SegmentLog, run: SpillRun, pos: number, limit: number): void {
  if (limit - pos <= RECORD_HEADER_SIZE) {
    run.cursor = limit;
    return;
  }
  const buf = log.readView(run.seg, pos, limit - pos);
  const stated = buf.readUInt32LE(0) + RECORD_HEADER_SIZE;
  if (stated > RECORD_HEADER_SIZE && stated < buf.length && validFrameAt(buf, stated, plausibleRecord) > 0) {
    run.cursor = pos + stated;
    return;
  }
  let at = 1;
  while (at < buf.length && validFrameAt(buf, at, plausibleRecord) === 0) at++;
  run.cursor = pos + at;
}

/** Whether the shortstr at `at` of `buf` is `name`. */
function sameName(buf: Buffer, at: number, name: Buffer): boolean {
  const n = name.length;
  if (buf[at] !== n || at + 1 + n > buf.length) return false;
  for (let i = 0; i < n; i++) if (buf[at + 1 + i] !== name[i]) return false;
  return true;
}

