// Field-table encoding: the size a table takes on the wire and writing it, each value under the
// tag it was decoded with (TypedValue) or the one its JS type maps to.

import { Decimal, INT32_MAX, INT32_MIN, RAW_KEYS, RawFieldValue, RawLongString, TypedValue, type FieldTable, type FieldValue } from './field-values.js';

/** Wire bytes of a table key. */
function keyBytes(t: FieldTable, key: string): Buffer | undefined {
  const raw = (t as { [RAW_KEYS]?: Map<string, Buffer> })[RAW_KEYS];
  return raw === undefined ? undefined : raw.get(key);
}

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
