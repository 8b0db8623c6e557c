// Field-table decoding: wire bytes to FieldTable, keys kept as bytes where they are not UTF-8,
// containers nested past DECODED_DEPTH kept raw; and skipping a value without decoding it.

import { isUtf8 } from 'node:buffer';
import { syntaxError, type ConnectionError } from './errors.js';
import { DECODED_DEPTH, Decimal, INT32_MAX, INT32_MIN, RAW_KEYS, RawFieldValue, RawLongString, TypedValue, type FieldTable, type FieldValue } from './field-values.js';

/** Largest timestamp (seconds) a JS Date represents: 8.64e15 ms. */
const MAX_DATE_SECONDS = 8_640_000_000_000n;

function badTable(detail: string): ConnectionError {
  // 502 SYNTAX_ERROR: RabbitMQ closes the connection on an undecodable table.
  return syntaxError(detail);
}
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
