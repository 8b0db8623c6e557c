// Redeclaration checks: RabbitMQ's "inequivalent arg" rule and its exact reply texts.

import { preconditionFailed, type ChannelError } from '../protocol/errors.js';
import { Decimal, RawLongString, TypedValue, encodeTable, type FieldTable, type FieldValue } from '../protocol/field-table.js';

/** RabbitMQ's names for field-table types, as they appear in reply texts. */
export function typeName(v: FieldValue): string {
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? (v >= -0x80000000 && v <= 0x7fffffff ? 'signedint' : 'long') : 'double';
  if (typeof v === 'bigint') return 'long';
  if (typeof v === 'string' || v instanceof RawLongString) return 'longstr';
  if (v === null) return 'void';
  if (Buffer.isBuffer(v)) return 'binary';
  if (v instanceof Date) return 'timestamp';
  if (v instanceof Decimal) return 'decimal';
  if (v instanceof TypedValue) {
    const names: Record<string, string> = {
      b: 'byte', B: 'unsignedbyte', s: 'short', u: 'unsignedshort', I: 'signedint',
      i: 'unsignedint', l: 'long', f: 'float', d: 'double', T: 'timestamp',
    };
    return names[v.tag] ?? 'long';
  }
  if (Array.isArray(v)) return 'array';
  return 'table';
}

function show(v: FieldValue): string {
  if (v instanceof TypedValue) return v.tag === 'f' || v.tag === 'd' ? erlangFloat(Number(v.value)) : String(v.value);
  if (typeof v === 'number' && !Number.isInteger(v)) return erlangFloat(v);
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (v instanceof RawLongString) return v.bytes.toString('utf8');
  if (v instanceof Date) return String(Math.floor(v.getTime() / 1000));
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

/**
 * A float as Erlang prints it (RabbitMQ formats reply texts with ~p): the shortest digits that
 * round-trip, with ".0" kept, switching to "1.0e3" style when that is shorter (10.0 but 1.0e3).
 */
export function erlangFloat(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x < 0 || Object.is(x, -0)) return `-${erlangFloat(-x)}`;
  if (x === 0) return '0.0';
  // toExponential() without digits gives the shortest round-trip mantissa, like Erlang's.
  const [mant = '0', expText = '0'] = x.toExponential().split('e');
  const digits = mant.replace('.', '');
  const place = Number(expText) + 1; // digits before the decimal point
  const len = digits.length;
  const scientific = (): string => `${digits[0] ?? '0'}.${len === 1 ? '0' : digits.slice(1)}e${place - 1}`;
  if (place > 0 && place < len) return `${digits.slice(0, place)}.${digits.slice(place)}`;
  const expCost = String(place - 1).length + 1 + (len === 1 ? 2 : 1);
  if (place <= 0) return 2 - place <= expCost ? `0.${'0'.repeat(-place)}${digits}` : scientific();
  return place - len + 2 <= expCost ? `${digits}${'0'.repeat(place - len)}.0` : scientific();
}

function describe(v: FieldValue | undefined): string {
  return v === undefined ? 'none' : `the value '${show(v)}' of type '${typeName(v)}'`;
}

/** The Erlang term RabbitMQ holds for a number: integers of every width compare by value; floats are never equal to integers. */
function numeric(v: FieldValue): { kind: 'int'; value: bigint } | { kind: 'float'; value: number } | undefined {
  if (typeof v === 'bigint') return { kind: 'int', value: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { kind: 'int', value: BigInt(v) } : { kind: 'float', value: v };
  if (v instanceof TypedValue) {
    if (v.tag === 'f' || v.tag === 'd') return { kind: 'float', value: Number(v.value) };
    if (v.tag === 'T') return undefined;
    return { kind: 'int', value: typeof v.value === 'bigint' ? v.value : BigInt(v.value) };
  }
  return undefined;
}

function bytesOf(v: FieldValue): Buffer | undefined {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof RawLongString) return v.bytes;
  if (Buffer.isBuffer(v)) return v;
  return undefined;
}

/**
 * RabbitMQ 3.10 compares argument values, not their wire types: a signed 32-bit x-max-length equals
 * the same number sent as a 64-bit long (or a byte, short, ...), and a longstr equals a byte array
 * with the same bytes. A float never equals an integer (10.0 vs 10 is refused).
 */
export function equivalentValues(a: FieldValue, b: FieldValue): boolean {
  const na = numeric(a);
  const nb = numeric(b);
  if (na !== undefined || nb !== undefined) return na !== undefined && nb !== undefined && na.kind === nb.kind && na.value === nb.value;
  const ba = bytesOf(a);
  const bb = bytesOf(b);
  if (ba !== undefined || bb !== undefined) return ba !== undefined && bb !== undefined && ba.equals(bb);
  return encodeTable({ v: a }).equals(encodeTable({ v: b }));
}

/** The queue type a queue gets without x-queue-type: RabbitMQ treats omitting it and naming it as equal. */
const DEFAULT_QUEUE_TYPE = 'classic';

function isDefaultQueueType(key: string, v: FieldValue | undefined): boolean {
  if (key !== 'x-queue-type' || v === undefined) return false;
  const b = bytesOf(v);
  return b !== undefined && b.toString('utf8') === DEFAULT_QUEUE_TYPE;
}

export function checkFlag(
  kind: 'queue' | 'exchange',
  name: string,
  vhost: string,
  arg: string,
  received: boolean | string,
  current: boolean | string,
): void {
  if (received !== current) {
    throw preconditionFailed(`inequivalent arg '${arg}' for ${kind} '${name}' in vhost '${vhost}': received '${String(received)}' but current is '${String(current)}'`);
  }
}

/** Compare the arguments RabbitMQ compares (those in `keys`, or all when keys is undefined). */
export function checkArgs(
  kind: 'queue' | 'exchange',
  name: string,
  vhost: string,
  received: FieldTable,
  current: FieldTable,
  keys?: readonly string[],
): void {
  const names = keys ?? [...new Set([...Object.keys(received), ...Object.keys(current)])];
  for (const k of names) {
    const r = received[k];
    const c = current[k];
    if (r === undefined && c === undefined) continue;
    if (r !== undefined && c !== undefined) {
      if (equivalentValues(r, c)) continue;
      // RabbitMQ shows only the values when both sides have one, whatever their types.
      throw inequivalent(kind, name, vhost, k, `received '${show(r)}' but current is '${show(c)}'`);
    }
    if (isDefaultQueueType(k, r ?? c)) continue;
    throw inequivalent(kind, name, vhost, k, `received ${describe(r)} but current is ${describe(c)}`);
  }
}

function inequivalent(kind: 'queue' | 'exchange', name: string, vhost: string, key: string, detail: string): ChannelError {
  return preconditionFailed(`inequivalent arg '${key}' for ${kind} '${name}' in vhost '${vhost}': ${detail}`);
}
