// Walking the records of a segment image: the full, checked scan of any segment, and the faster
// walk of a sealed one. Both hand each record to a visitor, as does a segment summary
// (segment-summary.ts), which holds only the front of each record.

import {
  type FrameScan,
  RECORD_HEADER_SIZE,
  RecordType,
  SEGMENT_HEADER_SIZE,
  MIN_PAYLOAD,
  plausibleRecord,
  recordChecksumOk,
  readU64,
  scanFrames,
} from './record.js';

/**
 * Records that pass their checks, in file order. The record lies at `offset` in its segment and
 * is `length` bytes long (header included); its first `stored` bytes are buf[at, at + stored):
 * all of it when walking a segment image, its front when reading a summary. No view is cut per
 * record: a scan visits millions.
 */
export type RecordVisitor = (type: number, seq: number, buf: Buffer, at: number, stored: number, offset: number, length: number) => void;

/** Walks the valid records of a segment image whose header was checked (see scanFrames for damage). */
export function scanSegment(buf: Buffer, visit: RecordVisitor): FrameScan {
  return scanFrames(buf, SEGMENT_HEADER_SIZE, plausibleRecord, (pos, total) => {
    visit(buf[pos + RECORD_HEADER_SIZE] as number, readU64(buf, pos + RECORD_HEADER_SIZE + 1), buf, pos, total, pos, total);
  });
}

/**
 * Walks a sealed segment (record.ts: SEAL) checking the framing of every record and the CRC of
 * every record but MESSAGE ones, whose CRC is checked when the body is first read. Returns false,
 * having visited nothing, if anything looks wrong: the caller then checks the segment in full.
 *
 * Why a message's CRC may wait: a seal is written only after an fsync covering the whole segment
 * completed, so no write in it can be torn, and every confirmed message in it was durable before
 * its confirm. What the CRC can still find there is media damage, and a damaged message is never
 * delivered either way: the body read checks the whole record and drops it (counted in
 * corruptRecords). Until then it counts in its queue as it would have before the damage.
 */
export function walkSealed(buf: Buffer, visit: RecordVisitor): boolean {
  const end = buf.length - RECORD_HEADER_SIZE - MIN_PAYLOAD;
  let pos = SEGMENT_HEADER_SIZE;
  let count = 0;
  // Shape first, visit after: a wrong length would misread everything behind it.
  const offsets: number[] = [];
  // An unchecked MESSAGE seq still orders everything after it (recovery drops a message whose
  // seq is not above the last one's): damage there must not cost later messages. Seqs must rise
  // through the segment, and the last message, which no successor checks, has its CRC read.
  let lastSeq = -1;
  let lastMessage = -1;
  while (pos < end) {
    if (end - pos < RECORD_HEADER_SIZE) return false;
    const len = buf.readUInt32LE(pos);
    if (len > end - pos - RECORD_HEADER_SIZE || !plausibleRecord(buf, pos, len)) return false;
    const type = buf[pos + RECORD_HEADER_SIZE];
    if (type === RecordType.Seal) return false;
    if (type === RecordType.Message) {
      const seq = readU64(buf, pos + RECORD_HEADER_SIZE + 1);
      if (seq <= lastSeq) return false;
      lastSeq = seq;
      lastMessage = pos;
    } else if (!recordChecksumOk(buf, pos, len)) return false;
    offsets.push(pos);
    pos += RECORD_HEADER_SIZE + len;
    count++;
  }
  if (pos !== end) return false;
  if (lastMessage >= 0 && !recordChecksumOk(buf, lastMessage, buf.readUInt32LE(lastMessage))) return false;
  for (let i = 0; i < count; i++) {
    const at = offsets[i] as number;
    const total = RECORD_HEADER_SIZE + buf.readUInt32LE(at);
    visit(buf[at + RECORD_HEADER_SIZE] as number, readU64(buf, at + RECORD_HEADER_SIZE + 1), buf, at, total, at, total);
  }
  return true;
}

/**
 * Bytes of a MESSAGE record up to the end of its content header (what recovery reads; the body
 * follows), or `length` when its front does not parse (recovery then counts it as corrupt).
 */
export function messageFrontLength(buf: Buffer, at: number, length: number): number {
  const n = at + length;
  const qAt = at + RECORD_HEADER_SIZE + MIN_PAYLOAD;
  if (qAt >= n) return length;
  const exAt = qAt + 1 + (buf[qAt] as number) + 8;
  if (exAt >= n) return length;
  const rkAt = exAt + 1 + (buf[exAt] as number);
  if (rkAt >= n) return length;
  const hAt = rkAt + 1 + (buf[rkAt] as number);
  if (hAt + 4 > n) return length;
  const end = hAt + 4 + buf.readUInt32LE(hAt);
  return end > n ? length : end - at;
}
