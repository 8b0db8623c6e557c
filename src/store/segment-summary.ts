// Summary of a sealed segment: the front of each of its records (everything but message bodies),
// so recovery reads a few percent of a backlog's bytes instead of all of them.
//
// FILE FORMAT (little-endian), `<segment id>.sum` next to `<segment id>.seg`:
//   0  4  magic "WRNX"
//   4  4  u32 version (1)
//   8  8  u64 id of the segment it summarises (ids are never reused)
//  16  8  u64 size of that segment, sealed (its SEAL included)
//  24  .. entries, in segment order, one per record walkSealed (segment-walk.ts) accepts:
//         u32 offset of the record in the segment, u32 its length (header included),
//         u32 n, then the record's first n bytes: all of a DELIVERED, ACK or PURGE record,
//         a MESSAGE record through its content header (not the body)
//  end-4  u32 CRC-32 of every byte before it
//
// Written after the SEAL (whose fsync already covered the segment), and not synced itself: a
// summary that is missing, torn, of another size or version, or whose segment is no longer
// sealed, is ignored and the segment read in full. A segment is never written after its seal,
// so a summary that matches its size and seal describes it. Message CRCs stay with the first
// read of each body, as for any sealed segment (recovery.ts).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from '../util/crc32.js';
import {
  MIN_PAYLOAD,
  RECORD_HEADER_SIZE,
  RecordType,
  SEAL_RECORD_SIZE,
  SEGMENT_HEADER_SIZE,
  readSegmentHeader,
  readU64,
  recordChecksumOk,
  writeU64,
} from './record.js';
import { type RecordVisitor, messageFrontLength, walkSealed } from './segment-walk.js';

const SUMMARY_MAGIC = 0x584e5257; // "WRNX" read as u32 LE
const SUMMARY_VERSION = 1;
const SUMMARY_HEADER = 24;
const ENTRY_HEADER = 12;

export function summaryFileName(id: number): string {
  return `${String(id).padStart(12, '0')}.sum`;
}

export const SUMMARY_FILE_RE = /^(\d{12,})\.sum$/;

export function summaryPath(dir: string, id: number): string {
  return path.join(dir, summaryFileName(id));
}

/** The summary of a sealed segment image, or null if walkSealed refuses it (it gets the full check). */
export function buildSummary(id: number, seg: Buffer): Buffer | null {
  const entries: number[] = [];
  let bytes = SUMMARY_HEADER + 4;
  const ok = walkSealed(seg, (type, _seq, buf, at, _stored, offset, length) => {
    const n = type === RecordType.Message ? messageFrontLength(buf, at, length) : length;
    entries.push(offset, length, n);
    bytes += ENTRY_HEADER + n;
  });
  if (!ok) return null;
  const out = Buffer.allocUnsafe(bytes);
  out.writeUInt32LE(SUMMARY_MAGIC, 0);
  out.writeUInt32LE(SUMMARY_VERSION, 4);
  writeU64(out, 8, id);
  writeU64(out, 16, seg.length);
  let p = SUMMARY_HEADER;
  for (let i = 0; i < entries.length; i += 3) {
    const offset = entries[i] as number;
    const n = entries[i + 2] as number;
    out.writeUInt32LE(offset, p);
    out.writeUInt32LE(entries[i + 1] as number, p + 4);
    out.writeUInt32LE(n, p + 8);
    seg.copy(out, p + ENTRY_HEADER, offset, offset + n);
    p += ENTRY_HEADER + n;
  }
  out.writeUInt32LE(crc32(out.subarray(0, p)), p);
  return out;
}

/** Whether a summary is intact and describes segment `id` of `segSize` bytes (then visitSummary cannot misread it). */
export function summaryOk(sum: Buffer, id: number, segSize: number): boolean {
  const end = sum.length - 4;
  if (end < SUMMARY_HEADER || sum.readUInt32LE(0) !== SUMMARY_MAGIC || sum.readUInt32LE(4) !== SUMMARY_VERSION) return false;
  if (readU64(sum, 8) !== id || readU64(sum, 16) !== segSize || crc32(sum.subarray(0, end)) !== sum.readUInt32LE(end)) return false;
  let p = SUMMARY_HEADER;
  let last = 0;
  while (p < end) {
    if (end - p < ENTRY_HEADER) return false;
    const offset = sum.readUInt32LE(p);
    const length = sum.readUInt32LE(p + 4);
    const n = sum.readUInt32LE(p + 8);
    if (offset < last || n < RECORD_HEADER_SIZE + MIN_PAYLOAD || n > length || offset + length > segSize || n > end - p - ENTRY_HEADER) return false;
    last = offset + length;
    p += ENTRY_HEADER + n;
  }
  return true;
}

/** Visits the records of a summary that summaryOk accepted. */
export function visitSummary(sum: Buffer, visit: RecordVisitor): void {
  const end = sum.length - 4;
  let p = SUMMARY_HEADER;
  while (p < end) {
    const at = p + ENTRY_HEADER;
    const n = sum.readUInt32LE(p + 8);
    visit(sum[at + RECORD_HEADER_SIZE] as number, readU64(sum, at + RECORD_HEADER_SIZE + 1), sum, at, n, sum.readUInt32LE(p), sum.readUInt32LE(p + 4));
    p = at + n;
  }
}

/** A sealed segment's summary, checked against the segment's header and seal; null if unusable. */
export interface Summarised {
  /** The next seq from the segment header. */
  readonly headerSeq: number;
  readonly size: number;
  readonly sum: Buffer;
}

/**
 * Reads the summary of segment `id` at `segPath` if the segment's header is valid, it still ends
 * with its seal, and the summary is intact and of its size: a few small reads instead of the
 * segment. null otherwise (the caller reads the segment).
 */
export function readSummarised(id: number, segPath: string, sumPath: string): Summarised | null {
  let fd = -1;
  try {
    fd = fs.openSync(segPath, 'r');
    const size = fs.fstatSync(fd).size;
    if (size < SEGMENT_HEADER_SIZE + SEAL_RECORD_SIZE) return null;
    const head = Buffer.alloc(SEGMENT_HEADER_SIZE);
    const tail = Buffer.alloc(SEAL_RECORD_SIZE);
    if (fs.readSync(fd, head, 0, head.length, 0) !== head.length) return null;
    if (fs.readSync(fd, tail, 0, tail.length, size - SEAL_RECORD_SIZE) !== tail.length) return null;
    const headerSeq = readSegmentHeader(head);
    if (headerSeq === null || !sealNaming(tail, size - SEAL_RECORD_SIZE)) return null;
    const sum = fs.readFileSync(sumPath);
    return summaryOk(sum, id, size) ? { headerSeq, size, sum } : null;
  } catch {
    return null;
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/** Whether `rec` is a valid SEAL record naming offset `at` (see isSealed in record.ts). */
function sealNaming(rec: Buffer, at: number): boolean {
  if (rec.readUInt32LE(0) !== MIN_PAYLOAD || rec[RECORD_HEADER_SIZE] !== RecordType.Seal) return false;
  return readU64(rec, RECORD_HEADER_SIZE + 1) === at && recordChecksumOk(rec, 0, MIN_PAYLOAD);
}

/**
 * Writes the summary of the sealed segment whose image is `seg`; false if it could not (nothing
 * depends on it: recovery then reads the segment). Not synced (see the file format above).
 */
export async function writeSummary(dir: string, id: number, seg: Buffer): Promise<boolean> {
  const sum = buildSummary(id, seg);
  if (sum === null) return false;
  try {
    await fs.promises.writeFile(summaryPath(dir, id), sum);
    return true;
  } catch {
    await fs.promises.rm(summaryPath(dir, id), { force: true }).catch(() => undefined);
    return false;
  }
}

/**
 * Reads back the sealed segment `id` at `segPath` (`size` bytes once sealed) and writes its
 * summary. Errors are swallowed: a missing summary only means a full read at the next start, and
 * one left behind by a segment deleted meanwhile is removed by the next recovery.
 */
export async function summarise(dir: string, id: number, segPath: string, size: number): Promise<boolean> {
  let seg: Buffer;
  try {
    seg = await fs.promises.readFile(segPath);
  } catch {
    return false;
  }
  return seg.length === size ? writeSummary(dir, id, seg) : false;
}
