// Redeclaration checks: RabbitMQ's "inequivalent arg" rule and its exact reply texts.

import { ChannelError } from '../protocol/errors.js';
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
  if (v instanceof TypedValue) return String(v.value);
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (v instanceof RawLongString) return v.bytes.toString('utf8');
  if (v instanceof Date) return String(Math.floor(v.getTime() / 1000));
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

function describe(v: FieldValue | undefined): string {
  return v === undefined ? 'none' : `the value '${show(v)}' of type '${typeName(v)}'`;
}

function sameValue(a: FieldValue | undefined, b: FieldValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return encodeTable({ v: a }).equals(encodeTable({ v: b }));
}

export function checkFlag(kind: 'queue' | 'exchange', name: string, arg: string, received: boolean | string, current: boolean | string): void {
  if (received !== current) {
    throw new ChannelError(
      406,
      `inequivalent arg '${arg}' for ${kind} '${name}' in vhost '/': received '${String(received)}' but current is '${String(current)}'`,
      0,
      0,
    );
  }
}

/** Compare the arguments RabbitMQ compares (those in `keys`, or all when keys is undefined). */
export function checkArgs(
  kind: 'queue' | 'exchange',
  name: string,
  received: FieldTable,
  current: FieldTable,
  keys?: readonly string[],
): void {
  const names = keys ?? [...new Set([...Object.keys(received), ...Object.keys(current)])];
  for (const k of names) {
    const r = received[k];
    const c = current[k];
    if (!sameValue(r, c)) {
      // RabbitMQ names the types only when they differ (or one side is absent).
      const text =
        r !== undefined && c !== undefined && typeName(r) === typeName(c)
          ? `received '${show(r)}' but current is '${show(c)}'`
          : `received ${describe(r)} but current is ${describe(c)}`;
      throw new ChannelError(406, `inequivalent arg '${k}' for ${kind} '${name}' in vhost '/': ${text}`, 0, 0);
    }
  }
}
