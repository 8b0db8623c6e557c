// On-disk layout of message segment files: encoding and checked decoding of records.
//
// FILE FORMAT (all integers little-endian)
//
// A message log is a directory of segment files named by a zero-padded decimal id,
// `000000000001.seg`, `000000000002.seg`, ... Ids only grow. Exactly one segment, the
// newest, is appended to; every open() starts a fresh one, so an older segment is never
// written again, and only its tail can ever be torn (by a crash while it was the newest).
// Segments roll at `segmentSize` bytes (8 MiB default); a record larger than that gets a
// segment of its own.
// A sealed segment may have a summary next to it, `<id>.sum` (segment-summary.ts): the front of
// each record, which recovery reads instead of the segment when it matches.
//
// Segment header, 16 bytes:
//   0  4  magic "WRNS"
//   4  4  u32 format version (2; version-1 segments, which lacked enqueuedAt, are refused at open)
//   8  8  u64 next seq at creation: seqs are never reused even when every older segment is gone
//
// Then records, back to back:
//   0  4  u32 L, payload length (>= 9)
//   4  4  u32 CRC-32 of bytes [0,4) and the payload: a damaged length fails the check too
//   8  L  payload:
//         0  1  u8 type
//         1  8  u64 seq (< 2^53)
//         9  .. type-specific:
//           MESSAGE   (1): u8 n, queue name; u64 enqueuedAt (epoch ms, set by the broker);
//                          u8 n, exchange; u8 n, routing key; u32 n, content-header bytes;
//                          then the body to the end of the payload.
//                          The queue name comes first, as in PURGE, so both share one decoder;
//                          everything before the body is small, so recovery reads it without
//                          keeping bodies, and a body read checks the whole record's CRC.
//           DELIVERED (2): nothing; seq names the message (markDelivered)
//           ACK       (3): nothing; seq names the message
//           PURGE     (4): u8 n, queue name; every message of that queue with seq < this seq is gone
//                          (purge and queue deletion)
//           SEAL      (5): nothing; "seq" is the record's own file offset. Appended as the last
//                          record of a finished segment once an fsync covering all of it has
//                          completed (and at a clean close): everything before it is durable.
//
// Acks, delivery marks and purges live in the same log as the messages so one fsync covers
// everything (group commit). Such a record may name a message in an older segment; the newer
// segment then "references" the older one and is kept until the older one is deleted, or the
// ack would be lost and the message resurrected. A segment is deleted once it is not the
// active one, all its messages are gone, the records that removed them are durable, and every
// segment it references is deleted (and that deletion synced to the directory).
//
// MESSAGE seqs only grow through the log, across segments and restarts (each open starts a new
// segment at the highest seq seen + 1). Recovery relies on it to find ack targets by binary
// search, and counts a MESSAGE whose seq does not exceed the previous one as corrupt. In memory
// a message is only (segment id, offset, length) plus counters: see queue-index.ts.
//
// Recovery reads surviving segments in id order, so it costs the backlog, not the history.
// A record whose CRC fails is skipped and counted; an incomplete record at a file's end
// (torn write) is truncated away; a tail of zeros (size extended, data never written) too.
// In a sealed segment (see SEAL) no write can be torn, so recovery checks the framing of every
// record and the CRC of every small one, but leaves a MESSAGE record's CRC to the first read of
// its body, which drops and counts it if it fails (see recovery.ts for why that is safe).
// A segment without a valid seal at its end, or whose framing looks wrong, is checked in full.

import { crc32 } from '../util/crc32.js';
import type { StoredMessage } from './message-store.js';
import { checkEnqueuedAt } from './memory-store.js';
import { MAX_SHORTSTR_BYTES } from './message-store.js';

export const SEGMENT_MAGIC = 0x534e5257; // "WRNS" read as u32 LE
export const FORMAT_VERSION = 2;
export const SEGMENT_HEADER_SIZE = 16;
/** u32 length + u32 crc. */
export const RECORD_HEADER_SIZE = 8;
/** u8 type + u64 seq. */
export const MIN_PAYLOAD = 9;

export const RecordType = {
  Message: 1,
  Delivered: 2,
  Ack: 3,
  Purge: 4,
  Seal: 5,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

const TWO_POW_32 = 0x1_0000_0000;

export function writeU64(buf: Buffer, off: number, v: number): void {
  buf.writeUInt32LE(v % TWO_POW_32, off);
  buf.writeUInt32LE(Math.floor(v / TWO_POW_32), off + 4);
}

export function readU64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * TWO_POW_32;
}

export function writeSegmentHeader(buf: Buffer, off: number, nextSeq: number): void {
  buf.writeUInt32LE(SEGMENT_MAGIC, off);
  buf.writeUInt32LE(FORMAT_VERSION, off + 4);
  writeU64(buf, off + 8, nextSeq);
}

/** The format version of a segment header with our magic, or null if the bytes are not a segment header. */
export function segmentVersion(buf: Buffer): number | null {
  if (buf.length < SEGMENT_HEADER_SIZE || buf.readUInt32LE(0) !== SEGMENT_MAGIC) return null;
  return buf.readUInt32LE(4);
}

/** The header's next-seq value, or null if the bytes are not a current-version segment header. */
export function readSegmentHeader(buf: Buffer): number | null {
  if (buf.length < SEGMENT_HEADER_SIZE) return null;
  if (buf.readUInt32LE(0) !== SEGMENT_MAGIC || buf.readUInt32LE(4) !== FORMAT_VERSION) return null;
  return readU64(buf, 8);
}

/** Upper bound of the bytes a MESSAGE record needs before its body (UTF-8 is at most 3 bytes per UTF-16 unit). */
export function messageMetaBound(queueName: Buffer, msg: StoredMessage): number {
  return (
    RECORD_HEADER_SIZE + MIN_PAYLOAD + 1 + queueName.length + 8 + 1 + 3 * msg.exchange.length + 1 +
    3 * msg.routingKey.length + 4 + msg.header.length
  );
}

function writeShortstr(buf: Buffer, off: number, s: string, what: string): number {
  const n = buf.write(s, off + 1, 'utf8');
  if (n > MAX_SHORTSTR_BYTES) throw new RangeError(`${what} longer than ${MAX_SHORTSTR_BYTES} bytes`);
  buf[off] = n;
  return off + 1 + n;
}

/**
 * Writes a MESSAGE record's header and metadata at `off` (room: messageMetaBound) and, when
 * `copyBody`, the body right after. Returns the end offset. The CRC is filled by sealRecord.
 * Throws RangeError, having committed nothing, if a name is too long.
 */
export function encodeMessage(
  buf: Buffer,
  off: number,
  seq: number,
  queueName: Buffer,
  msg: StoredMessage,
  copyBody: boolean,
): number {
  checkEnqueuedAt(msg.enqueuedAt);
  let p = off + RECORD_HEADER_SIZE;
  buf[p] = RecordType.Message;
  writeU64(buf, p + 1, seq);
  p += MIN_PAYLOAD;
  buf[p] = queueName.length;
  queueName.copy(buf, p + 1);
  p += 1 + queueName.length;
  writeU64(buf, p, msg.enqueuedAt);
  p += 8;
  p = writeShortstr(buf, p, msg.exchange, 'exchange name');
  p = writeShortstr(buf, p, msg.routingKey, 'routing key');
  buf.writeUInt32LE(msg.header.length, p);
  p += 4;
  msg.header.copy(buf, p);
  p += msg.header.length;
  if (copyBody) {
    msg.body.copy(buf, p);
    p += msg.body.length;
  }
  const payloadLen = p - off - RECORD_HEADER_SIZE + (copyBody ? 0 : msg.body.length);
  buf.writeUInt32LE(payloadLen, off);
  return p;
}

/** Bytes of a DELIVERED/ACK record, or of a PURGE record with a queue name. */
export function smallRecordSize(queueName: Buffer | null): number {
  return RECORD_HEADER_SIZE + MIN_PAYLOAD + (queueName === null ? 0 : 1 + queueName.length);
}

/** Bytes of a SEAL record. */
export const SEAL_RECORD_SIZE = RECORD_HEADER_SIZE + MIN_PAYLOAD;

/** True when the segment image ends with a valid SEAL record naming its own offset. */
export function isSealed(buf: Buffer): boolean {
  const at = buf.length - SEAL_RECORD_SIZE;
  if (at < SEGMENT_HEADER_SIZE || buf.readUInt32LE(at) !== MIN_PAYLOAD) return false;
  if (buf[at + RECORD_HEADER_SIZE] !== RecordType.Seal || readU64(buf, at + RECORD_HEADER_SIZE + 1) !== at) return false;
  return recordChecksumOk(buf, at, MIN_PAYLOAD);
}

/** Writes a complete DELIVERED, ACK, PURGE or SEAL record (CRC included); returns the end offset. */
export function encodeSmall(buf: Buffer, off: number, type: RecordType, seq: number, queueName: Buffer | null): number {
  let p = off + RECORD_HEADER_SIZE;
  buf[p] = type;
  writeU64(buf, p + 1, seq);
  p += MIN_PAYLOAD;
  if (queueName !== null) {
    buf[p] = queueName.length;
    queueName.copy(buf, p + 1);
    p += 1 + queueName.length;
  }
  buf.writeUInt32LE(p - off - RECORD_HEADER_SIZE, off);
  sealRecord(buf, off, p, null);
  return p;
}

/** Computes and stores the CRC of the record at `off` whose in-buffer part ends at `end`, plus an out-of-line body. */
export function sealRecord(buf: Buffer, off: number, end: number, body: Buffer | null): void {
  let c = crc32(buf.subarray(off, off + 4));
  c = crc32(buf.subarray(off + RECORD_HEADER_SIZE, end), c);
  if (body !== null) c = crc32(body, c);
  buf.writeUInt32LE(c, off + 4);
}

/** True when the record at `off` (whole record inside buf) has a matching CRC. */
export function recordChecksumOk(buf: Buffer, off: number, payloadLen: number): boolean {
  let c = crc32(buf.subarray(off, off + 4));
  c = crc32(buf.subarray(off + RECORD_HEADER_SIZE, off + RECORD_HEADER_SIZE + payloadLen), c);
  return c === buf.readUInt32LE(off + 4);
}

/** A decoded record's fixed part; `payload` is a view into the scanned buffer. */
export interface RecordView {
  readonly type: number;
  readonly seq: number;
  readonly payload: Buffer;
}

/** Reads a u8-length-prefixed string at payload offset `p`; returns [string, next offset], or null when out of bounds. */
function readShortstr(payload: Buffer, p: number): [string, number] | null {
  if (p >= payload.length) return null;
  const n = payload[p] as number;
  if (p + 1 + n > payload.length) return null;
  return [payload.toString('utf8', p + 1, p + 1 + n), p + 1 + n];
}

/** The queue name of a MESSAGE or PURGE payload, or null if malformed. */
export function decodeQueueName(payload: Buffer): string | null {
  const r = readShortstr(payload, MIN_PAYLOAD);
  return r === null ? null : r[0];
}

/**
 * Offset in a MESSAGE payload of the u32 content-header length (after the queue name,
 * enqueuedAt, exchange and routing key), or -1 if malformed. Builds no strings.
 */
function headerLengthOffset(payload: Buffer): number {
  let p = MIN_PAYLOAD;
  if (p >= payload.length) return -1;
  p += 1 + (payload[p] as number) + 8;
  for (let i = 0; i < 2; i++) {
    if (p >= payload.length) return -1;
    p += 1 + (payload[p] as number);
  }
  if (p + 4 > payload.length) return -1;
  return payload.readUInt32LE(p) <= payload.length - p - 4 ? p : -1;
}

/** Size of header+body of a MESSAGE payload without building strings; -1 if malformed. */
export function messageContentSize(payload: Buffer): number {
  const p = headerLengthOffset(payload);
  return p < 0 ? -1 : payload.length - p - 4;
}

/** Offset of the body in a MESSAGE payload; -1 if malformed. */
export function messageBodyOffset(payload: Buffer): number {
  const p = headerLengthOffset(payload);
  return p < 0 ? -1 : p + 4 + payload.readUInt32LE(p);
}

/** Everything of a MESSAGE payload but the body; `header` is a view into `payload`. */
export interface MessageMeta {
  readonly queue: string;
  readonly enqueuedAt: number;
  readonly exchange: string;
  readonly routingKey: string;
  readonly header: Buffer;
  /** Offset of the body in the payload (it runs to the end). */
  readonly bodyOffset: number;
}

/** Decodes a MESSAGE payload up to the body; null if malformed. */
export function decodeMessageMeta(payload: Buffer): MessageMeta | null {
  const q = readShortstr(payload, MIN_PAYLOAD);
  if (q === null || q[1] + 8 > payload.length) return null;
  const enqueuedAt = readU64(payload, q[1]);
  const ex = readShortstr(payload, q[1] + 8);
  if (ex === null) return null;
  const rk = readShortstr(payload, ex[1]);
  if (rk === null) return null;
  let p = rk[1];
  if (p + 4 > payload.length) return null;
  const headerLen = payload.readUInt32LE(p);
  p += 4;
  if (p + headerLen > payload.length) return null;
  return {
    queue: q[0],
    enqueuedAt,
    exchange: ex[0],
    routingKey: rk[0],
    header: payload.subarray(p, p + headerLen),
    bodyOffset: p + headerLen,
  };
}

/** Decodes a MESSAGE payload; header and body are views into `payload`. Null if malformed. */
export function decodeMessagePayload(payload: Buffer): { queue: string; message: StoredMessage } | null {
  const m = decodeMessageMeta(payload);
  if (m === null) return null;
  return {
    queue: m.queue,
    message: {
      exchange: m.exchange,
      routingKey: m.routingKey,
      header: m.header,
      body: payload.subarray(m.bodyOffset),
      enqueuedAt: m.enqueuedAt,
    },
  };
}

// ---- scanning (shared with the definitions log, which uses the same framing) ----

/** Cheap shape test of a candidate record at `pos` with payload length `len`, before its CRC is computed. */
export type Plausible = (buf: Buffer, pos: number, len: number) => boolean;

export interface FrameScan {
  /** Offset after the last record kept: the file should be cut here when tornTail. */
  readonly end: number;
  /** The bytes from `end` on are an incomplete or damaged last record, or zeros: cut them. */
  readonly tornTail: boolean;
  readonly corruptRecords: number;
}

/** Total size of a complete, plausible, checksum-valid record at `pos`, or 0. */
export function validFrameAt(buf: Buffer, pos: number, plausible: Plausible): number {
  if (buf.length - pos < RECORD_HEADER_SIZE) return 0;
  const len = buf.readUInt32LE(pos);
  if (len > buf.length - pos - RECORD_HEADER_SIZE || !plausible(buf, pos, len)) return 0;
  return recordChecksumOk(buf, pos, len) ? RECORD_HEADER_SIZE + len : 0;
}

function zerosFrom(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Walks framed records from `start`, calling visit(pos, total) for each valid one in order.
 * A record that fails (checksum, shape) is counted and the scan resumes at the next offset
 * holding a valid record: a flipped length byte must not hide the records behind it. When no
 * valid record follows, the failed one is the last: if it is incomplete, zeros, or ends exactly
 * at the end of the file it is a torn write (cut); otherwise the rest is left for inspection.
 */
export function scanFrames(
  buf: Buffer,
  start: number,
  plausible: Plausible,
  visit: (pos: number, total: number) => void,
): FrameScan {
  let pos = start;
  let corrupt = 0;
  while (pos < buf.length) {
    const n = validFrameAt(buf, pos, plausible);
    if (n > 0) {
      visit(pos, n);
      pos += n;
      continue;
    }
    if (zerosFrom(buf, pos)) return { end: pos, tornTail: true, corruptRecords: corrupt };
    let next = pos + 1;
    while (next < buf.length && validFrameAt(buf, next, plausible) === 0) next++;
    if (next < buf.length) {
      corrupt++;
      pos = next;
      continue;
    }
    const rest = buf.length - pos;
    const len = rest >= 4 ? buf.readUInt32LE(pos) : 0;
    if (rest < RECORD_HEADER_SIZE || len > rest - RECORD_HEADER_SIZE) {
      return { end: pos, tornTail: true, corruptRecords: corrupt };
    }
    const exact = len === rest - RECORD_HEADER_SIZE;
    return { end: pos, tornTail: exact, corruptRecords: corrupt + 1 };
  }
  return { end: pos, tornTail: false, corruptRecords: corrupt };
}

/** Seqs stay below 2^53, so the high word of a real seq is below 2^21. */
const SEQ_HIGH_LIMIT = 1 << 21;

/** Shape of a message-log record, checked before its CRC so resyncing over garbage is cheap. */
export const plausibleRecord: Plausible = (buf, pos, len) => {
  if (len < MIN_PAYLOAD) return false;
  const p = pos + RECORD_HEADER_SIZE;
  if (buf.readUInt32LE(p + 5) >= SEQ_HIGH_LIMIT) return false;
  switch (buf[p]) {
    case RecordType.Message:
      return len >= MIN_PAYLOAD + 1 + (buf[p + MIN_PAYLOAD] as number) + 8 + 2 + 4;
    case RecordType.Delivered:
    case RecordType.Ack:
    case RecordType.Seal:
      return len === MIN_PAYLOAD;
    case RecordType.Purge:
      return len > MIN_PAYLOAD && len === MIN_PAYLOAD + 1 + (buf[p + MIN_PAYLOAD] as number);
    default:
      return false;
  }
};
