// AMQP argument tables <-> the JSON of definitions files: JSON values are valid field values as
// they are; field values without a JSON form (typed numbers, decimals, timestamps, bytes) are
// written as the nearest JSON value, as RabbitMQ's export does.

import { Decimal, RawFieldValue, RawLongString, TypedValue, type FieldTable, type FieldValue } from '../../protocol/field-table.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function tableToJson(t: FieldTable): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(t)) out[k] = valueToJson(v);
  return out;
}

function valueToJson(v: FieldValue): Json {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof TypedValue) return Number(v.value);
  if (v instanceof Decimal) return v.value / 10 ** v.scale;
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (v instanceof RawLongString) return v.bytes.toString('utf8');
  // Deeper than any argument a broker reads: not worth decoding for an export.
  if (v instanceof RawFieldValue) return null;
  if (Array.isArray(v)) return v.map(valueToJson);
  return tableToJson(v);
}

/** A JSON object as an argument table; throws naming the key for a value no table can hold. */
export function jsonToTable(v: unknown, what: string): FieldTable {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new TypeError(`${what}: arguments must be a JSON object`);
  const out: FieldTable = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = jsonToValue(x, `${what}: argument '${k}'`);
  return out;
}

function jsonToValue(v: unknown, what: string): FieldValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`${what} is not a finite number`);
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => jsonToValue(x, what));
  if (typeof v === 'object') return jsonToTable(v, what);
  throw new TypeError(`${what} has no field-table form`);
}
