// The values of RabbitMQ's field tables as warren holds them (tags per amqp/RABBITMQ-DIALECT.md).
// Decoded values are plain JS values where the plain value re-encodes to the same
// tag; anything else is kept as a TypedValue so a decode/encode round trip is exact.

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
export const INT32_MIN = -0x80000000;
export const INT32_MAX = 0x7fffffff;

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
export function isPlainTable(v: FieldValue): v is FieldTable {
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
