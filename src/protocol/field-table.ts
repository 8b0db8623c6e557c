// Field-table codec in RabbitMQ's dialect (tags per amqp/RABBITMQ-DIALECT.md).
// Decoded values are plain JS values where the plain value re-encodes to the same
// tag; anything else is kept as a TypedValue so a decode/encode round trip is exact.

import { isUtf8 } from 'node:buffer';
import { ConnectionError } from './errors.js';

/** A value whose wire tag differs from the one its plain JS form would get. */
export class TypedValue {
  readonly tag: string;
  readonly value: number | bigint;
  constructor(tag: string, value: number | bigint) {
    this.tag = tag;
    this.value = value;
  }
}

/** AMQP decimal: value / 10^scale. */
export class Decimal {
  readonly scale: number;
  readonly value: number;
  constructor(scale: number, value: number) {
    this.scale = scale;
    this.value = value;
  }
}

/** A long string ('S') whose bytes are not valid UTF-8: kept as bytes so it passes through exactly. */
export class RawLongString {
  readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }
}

/**
 * A table ('F') or array ('A') nested deeper than DECODED_DEPTH: kept as its wire bytes, tag
 * included, so it is delivered and re-encoded exactly without any recursion over it (RabbitMQ has
 * no nesting limit and delivers 5,000-deep headers). Its contents are validated when it is read.
 */
export class RawFieldValue {
  readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }
}

export type FieldValue =
  | RawFieldValue
  | boolean
  | number
  | bigint
  | string
  | Buffer
  | Date
  | null
  | TypedValue
  | Decimal
  | RawLongString
  | FieldValue[]
  | FieldTable;

export interface FieldTable {
  [key: string]: FieldValue;
}

/**
 * Keys that are not valid UTF-8 (RabbitMQ treats keys as bytes and accepts any): the JS key is the
 * bytes read as latin1 (distinct bytes stay distinct keys), and this map on the table gives the
 * bytes to write back. A symbol, so key enumeration never sees it; enumerable, so `{...table}`
 * copies it along with the keys.
 */
export const RAW_KEYS: unique symbol = Symbol('warren.rawKeys');

/**
 * Containers nested deeper than this are kept as RawFieldValue instead of being decoded: everything
 * that walks decoded tables (encoders, equivalence, headers matching, logging) then recurses at most
 * this deep. Real tables nest 3 or 4 deep, x-death included.
 */
export const DECODED_DEPTH = 64;

/** Wire bytes of a table key. */
function keyBytes(t: FieldTable, key: string): Buffer | undefined {
  const raw = (t as { [RAW_KEYS]?: Map<string, Buffer> })[RAW_KEYS];
  return raw === undefined ? undefined : raw.get(key);
}

/** Largest timestamp (seconds) a JS Date represents: 8.64e15 ms. */
const MAX_DATE_SECONDS = 8_640_000_000_000n;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** Number of an int/long/float field value whatever its tag, else undefined. */
export function numberValue(v: FieldValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof TypedValue) return Number(v.value);
  return undefined;
}

/** String of a longstr/shortstr field value (Buffers are decoded as utf8). */
export function stringValue(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (v instanceof RawLongString) return v.bytes.toString('utf8');
  return undefined;
}

function isPlainTable(v: FieldValue): v is FieldTable {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !Buffer.isBuffer(v) &&
    !(v instanceof Date) &&
    !(v instanceof TypedValue) &&
    !(v instanceof Decimal) &&
    !(v instanceof RawLongString) &&
    !(v instanceof RawFieldValue)
  );
}

function badTable(detail: string): ConnectionError {
  // 502 SYNTAX_ERROR: RabbitMQ closes the connection on an undecodable table.
  return new ConnectionError(502, detail, 0, 0);
}

// ---------------------------------------------------------------- decoding

/** Decode a table whose payload (without length prefix) is buf[start, end). */
export function decodeTableBody(buf: Buffer, start: number, end: number, depth = 0): FieldTable {
  const table: FieldTable = {};
  let pos = start;
  while (pos < end) {
    const klen = buf[pos] as number;
    pos += 1;
    if (pos + klen > end) throw badTable('field table key overruns table');
    const kb = buf.subarray(pos, pos + klen);
    let key: string;
    if (isUtf8(kb)) {
      key = kb.toString('utf8');
      // An earlier raw key may read the same (0xE9 and C3 A9 are both "é"): this later entry
      // replaces it, like every duplicate key, and goes back out under its own bytes.
      (table as { [RAW_KEYS]?: Map<string, Buffer> })[RAW_KEYS]?.delete(key);
    } else {
      key = kb.toString('latin1');
      const t = table as { [RAW_KEYS]?: Map<string, Buffer> };
      (t[RAW_KEYS] ??= new Map()).set(key, Buffer.from(kb));
    }
    pos += klen;
    if (pos >= end) throw badTable('field table value missing');
    const cursor = { pos };
    const value = decodeValue(buf, cursor, end, depth);
    // A key may be any short string, '__proto__' included: define it rather than assign.
    if (key === '__proto__') Object.defineProperty(table, key, { value, enumerable: true, writable: true, configurable: true });
    else table[key] = value;
    pos = cursor.pos;
  }
  return table;
}

/** Decode a length-prefixed table at cursor.pos. */
export function decodeTable(buf: Buffer, cursor: { pos: number }, limit: number): FieldTable {
  if (cursor.pos + 4 > limit) throw badTable('field table length overruns frame');
  const len = buf.readUInt32BE(cursor.pos);
  const start = cursor.pos + 4;
  const end = start + len;
  if (end > limit) throw badTable('field table overruns frame');
  cursor.pos = end;
  return decodeTableBody(buf, start, end);
}

function need(cursor: { pos: number }, n: number, end: number): number {
  const p = cursor.pos;
  if (p + n > end) throw badTable('field value overruns table');
  cursor.pos = p + n;
  return p;
}

function decodeValue(buf: Buffer, cursor: { pos: number }, end: number, depth: number): FieldValue {
  const tag = String.fromCharCode(buf[need(cursor, 1, end)] as number);
  switch (tag) {
    case 't':
      return buf[need(cursor, 1, end)] !== 0;
    case 'b':
      return new TypedValue('b', buf.readInt8(need(cursor, 1, end)));
    case 'B':
      return new TypedValue('B', buf.readUInt8(need(cursor, 1, end)));
    case 's':
      return new TypedValue('s', buf.readInt16BE(need(cursor, 2, end)));
    case 'u':
      return new TypedValue('u', buf.readUInt16BE(need(cursor, 2, end)));
    case 'I':
      return buf.readInt32BE(need(cursor, 4, end));
    case 'i':
      return new TypedValue('i', buf.readUInt32BE(need(cursor, 4, end)));
    case 'l': {
      const v = buf.readBigInt64BE(need(cursor, 8, end));
      // Plain numbers outside int32 but safe re-encode as 'l'; others stay typed.
      const n = Number(v);
      if (Number.isSafeInteger(n) && (n < INT32_MIN || n > INT32_MAX)) return n;
      return Number.isSafeInteger(n) ? new TypedValue('l', n) : v;
    }
    case 'L': {
      // Unsigned 64-bit (py-amqp/kombu send it for ints beyond 32 bits; RabbitMQ accepts it in any
      // table). Kept typed so it goes back out as 'L': a number while safe, else a bigint.
      const v = buf.readBigUInt64BE(need(cursor, 8, end));
      return new TypedValue('L', v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
    }
    case 'f':
      return new TypedValue('f', buf.readFloatBE(need(cursor, 4, end)));
    case 'd': {
      const v = buf.readDoubleBE(need(cursor, 8, end));
      return Number.isInteger(v) ? new TypedValue('d', v) : v;
    }
    case 'D': {
      const p = need(cursor, 5, end);
      return new Decimal(buf[p] as number, buf.readUInt32BE(p + 1));
    }
    case 'S': {
      const p = need(cursor, 4, end);
      const len = buf.readUInt32BE(p);
      const s = need(cursor, len, end);
      const bytes = buf.subarray(s, s + len);
      return isUtf8(bytes) ? bytes.toString('utf8') : new RawLongString(Buffer.from(bytes));
    }
    case 'x': {
      const p = need(cursor, 4, end);
      const len = buf.readUInt32BE(p);
      const s = need(cursor, len, end);
      return Buffer.from(buf.subarray(s, s + len));
    }
    case 'A': {
      const p = need(cursor, 4, end);
      const len = buf.readUInt32BE(p);
      const s = need(cursor, len, end);
      const arrEnd = s + len;
      if (depth >= DECODED_DEPTH) return rawNested(buf, p - 1, s, arrEnd, false);
      const out: FieldValue[] = [];
      const inner = { pos: s };
      while (inner.pos < arrEnd) out.push(decodeValue(buf, inner, arrEnd, depth + 1));
      return out;
    }
    case 'T': {
      const secs = buf.readBigUInt64BE(need(cursor, 8, end));
      // A Date only while it holds the value exactly (±8.64e15 ms); larger stamps stay typed.
      return secs <= MAX_DATE_SECONDS ? new Date(Number(secs) * 1000) : new TypedValue('T', secs);
    }
    case 'F': {
      const p = need(cursor, 4, end);
      const len = buf.readUInt32BE(p);
      const s = need(cursor, len, end);
      if (depth >= DECODED_DEPTH) return rawNested(buf, p - 1, s, s + len, true);
      return decodeTableBody(buf, s, s + len, depth + 1);
    }
    case 'V':
      return null;
    default:
      throw badTable(`unknown field table tag '${tag}'`);
  }
}

/**
 * A container too deep to decode: check its contents with an explicit stack (any depth, no
 * recursion) and keep its bytes, from the tag at `tagAt` to `end`.
 */
function rawNested(buf: Buffer, tagAt: number, start: number, end: number, table: boolean): RawFieldValue {
  const ends: number[] = [end];
  const tables: boolean[] = [table];
  let pos = start;
  while (ends.length > 0) {
    const e = ends[ends.length - 1] as number;
    if (pos === e) {
      ends.pop();
      tables.pop();
      continue;
    }
    if (tables[tables.length - 1] === true) {
      pos += 1 + (buf[pos] as number);
      if (pos > e) throw badTable('field table key overruns table');
      if (pos === e) throw badTable('field table value missing');
    }
    const tag = buf[pos] as number;
    if (tag === TAG_TABLE || tag === TAG_ARRAY) {
      if (pos + 5 > e) throw badTable('field value overruns table');
      const innerEnd = pos + 5 + buf.readUInt32BE(pos + 1);
      if (innerEnd > e) throw badTable('field value overruns table');
      ends.push(innerEnd);
      tables.push(tag === TAG_TABLE);
      pos += 5;
      continue;
    }
    if (!FIXED_VALUE_SIZES.has(tag) && !LENGTH_PREFIXED_TAGS.has(tag)) throw badTable(`unknown field table tag '${String.fromCharCode(tag)}'`);
    const next = skipFieldValue(buf, pos, e);
    if (next < 0) throw badTable('field value overruns table');
    pos = next;
  }
  return new RawFieldValue(Buffer.from(buf.subarray(tagAt, end)));
}

const TAG_TABLE = 0x46; // 'F'
const TAG_ARRAY = 0x41; // 'A'

/**
 * Where the field value at `pos` ends, without decoding it (containers and strings carry their
 * length, so this never recurses); -1 if it is malformed or overruns `end`.
 */
export function skipFieldValue(buf: Buffer, pos: number, end: number): number {
  if (pos >= end) return -1;
  const tag = buf[pos] as number;
  const fixed = FIXED_VALUE_SIZES.get(tag);
  let next: number;
  if (fixed !== undefined) next = pos + 1 + fixed;
  else if (LENGTH_PREFIXED_TAGS.has(tag)) next = pos + 5 > end ? -1 : pos + 5 + buf.readUInt32BE(pos + 1);
  else return -1;
  return next < 0 || next > end ? -1 : next;
}

/** Octets after the tag of each fixed-size value type. */
const FIXED_VALUE_SIZES: ReadonlyMap<number, number> = new Map(
  [['t', 1], ['b', 1], ['B', 1], ['s', 2], ['u', 2], ['I', 4], ['i', 4], ['l', 8], ['L', 8], ['f', 4], ['d', 8], ['D', 5], ['T', 8], ['V', 0]].map(
    ([t, n]) => [(t as string).charCodeAt(0), n as number],
  ),
);
/** Value types whose body is a 32-bit length and that many octets. */
const LENGTH_PREFIXED_TAGS: ReadonlySet<number> = new Set(['S', 'x', 'A', 'F'].map((t) => t.charCodeAt(0)));

// ---------------------------------------------------------------- encoding

/** Bytes a table takes on the wire, including its 4-byte length prefix. */
export function tableSize(t: FieldTable | undefined): number {
  if (t === undefined) return 4;
  let n = 4;
  for (const key in t) {
    const v = t[key];
    if (v === undefined) continue;
    n += 1 + (keyBytes(t, key)?.length ?? Buffer.byteLength(key)) + valueSize(v);
  }
  return n;
}

function valueSize(v: FieldValue): number {
  if (typeof v === 'boolean') return 2;
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return v >= INT32_MIN && v <= INT32_MAX ? 5 : 9;
    return 9;
  }
  if (typeof v === 'bigint') return 9;
  if (typeof v === 'string') return 5 + Buffer.byteLength(v);
  if (v === null) return 1;
  if (Buffer.isBuffer(v)) return 5 + v.length;
  if (v instanceof Date) return 9;
  if (v instanceof Decimal) return 6;
  if (v instanceof RawLongString) return 5 + v.bytes.length;
  if (v instanceof RawFieldValue) return v.bytes.length;
  if (v instanceof TypedValue) {
    switch (v.tag) {
      case 'b':
      case 'B':
        return 2;
      case 's':
      case 'u':
        return 3;
      case 'I':
      case 'i':
      case 'f':
        return 5;
      default:
        return 9;
    }
  }
  if (Array.isArray(v)) {
    let n = 5;
    for (const e of v) n += valueSize(e);
    return n;
  }
  return 1 + tableSize(v);
}

/** Write a length-prefixed table at pos; returns the new position. */
export function writeTable(buf: Buffer, pos: number, t: FieldTable | undefined): number {
  const lenAt = pos;
  pos += 4;
  if (t !== undefined) {
    for (const key in t) {
      const v = t[key];
      if (v === undefined) continue;
      const raw = keyBytes(t, key);
      const klen = raw !== undefined ? raw.length : Buffer.byteLength(key);
      // A shortstr: a longer key would corrupt the table (its length octet wraps), so refuse it.
      if (klen > 255) throw new RangeError(`field table key of ${klen} bytes exceeds 255`);
      buf[pos] = klen;
      if (raw !== undefined) raw.copy(buf, pos + 1);
      else buf.write(key, pos + 1, 'utf8');
      pos = writeValue(buf, pos + 1 + klen, v);
    }
  }
  buf.writeUInt32BE(pos - lenAt - 4, lenAt);
  return pos;
}

function writeValue(buf: Buffer, pos: number, v: FieldValue): number {
  if (typeof v === 'boolean') {
    buf[pos] = 0x74; // 't'
    buf[pos + 1] = v ? 1 : 0;
    return pos + 2;
  }
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) {
      buf[pos] = 0x49; // 'I'
      buf.writeInt32BE(v, pos + 1);
      return pos + 5;
    }
    if (Number.isSafeInteger(v)) {
      buf[pos] = 0x6c; // 'l'
      buf.writeBigInt64BE(BigInt(v), pos + 1);
      return pos + 9;
    }
    buf[pos] = 0x64; // 'd'
    buf.writeDoubleBE(v, pos + 1);
    return pos + 9;
  }
  if (typeof v === 'bigint') {
    buf[pos] = 0x6c;
    buf.writeBigInt64BE(v, pos + 1);
    return pos + 9;
  }
  if (typeof v === 'string') {
    buf[pos] = 0x53; // 'S'
    const n = buf.write(v, pos + 5, 'utf8');
    buf.writeUInt32BE(n, pos + 1);
    return pos + 5 + n;
  }
  if (v === null) {
    buf[pos] = 0x56; // 'V'
    return pos + 1;
  }
  if (Buffer.isBuffer(v)) {
    buf[pos] = 0x78; // 'x'
    buf.writeUInt32BE(v.length, pos + 1);
    v.copy(buf, pos + 5);
    return pos + 5 + v.length;
  }
  if (v instanceof Date) {
    buf[pos] = 0x54; // 'T'
    buf.writeBigUInt64BE(BigInt(Math.floor(v.getTime() / 1000)), pos + 1);
    return pos + 9;
  }
  if (v instanceof Decimal) {
    buf[pos] = 0x44; // 'D'
    buf[pos + 1] = v.scale;
    buf.writeUInt32BE(v.value, pos + 2);
    return pos + 6;
  }
  if (v instanceof TypedValue) return writeTyped(buf, pos, v);
  if (v instanceof RawFieldValue) return pos + v.bytes.copy(buf, pos);
  if (v instanceof RawLongString) {
    buf[pos] = 0x53; // 'S'
    buf.writeUInt32BE(v.bytes.length, pos + 1);
    v.bytes.copy(buf, pos + 5);
    return pos + 5 + v.bytes.length;
  }
  if (Array.isArray(v)) {
    buf[pos] = 0x41; // 'A'
    const lenAt = pos + 1;
    let p = pos + 5;
    for (const e of v) p = writeValue(buf, p, e);
    buf.writeUInt32BE(p - lenAt - 4, lenAt);
    return p;
  }
  buf[pos] = 0x46; // 'F'
  return writeTable(buf, pos + 1, v);
}

function writeTyped(buf: Buffer, pos: number, v: TypedValue): number {
  buf[pos] = v.tag.charCodeAt(0);
  const n = Number(v.value);
  switch (v.tag) {
    case 'b':
      buf.writeInt8(n, pos + 1);
      return pos + 2;
    case 'B':
      buf.writeUInt8(n, pos + 1);
      return pos + 2;
    case 's':
      buf.writeInt16BE(n, pos + 1);
      return pos + 3;
    case 'u':
      buf.writeUInt16BE(n, pos + 1);
      return pos + 3;
    case 'I':
      buf.writeInt32BE(n, pos + 1);
      return pos + 5;
    case 'i':
      buf.writeUInt32BE(n, pos + 1);
      return pos + 5;
    case 'f':
      buf.writeFloatBE(n, pos + 1);
      return pos + 5;
    case 'd':
      buf.writeDoubleBE(n, pos + 1);
      return pos + 9;
    case 'T':
    case 'L':
      buf.writeBigUInt64BE(BigInt(v.value), pos + 1);
      return pos + 9;
    default: // 'l'
      buf[pos] = 0x6c;
      buf.writeBigInt64BE(BigInt(v.value), pos + 1);
      return pos + 9;
  }
}

/** Encode a table (with its length prefix) into a fresh buffer. */
export function encodeTable(t: FieldTable | undefined): Buffer {
  const buf = Buffer.allocUnsafe(tableSize(t));
  writeTable(buf, 0, t);
  return buf;
}

export { isPlainTable };
