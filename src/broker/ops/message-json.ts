// Messages as the management API shows and takes them: basic properties in RabbitMQ's JSON shape
// (snake_case keys, header values rendered as rabbit_mgmt_format does), payloads as strings or
// base64, and the reverse for publishing over HTTP.

import { isUtf8 } from 'node:buffer';
import { Decimal, RawFieldValue, RawLongString, TypedValue, type FieldTable, type FieldValue } from '../../protocol/field-table.js';
import type { BasicProperties } from '../../protocol/generated/amqp.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A bad request body: the reason is what the API answers with a 400. */
export class ApiRequestError extends Error {}

/** `Not UTF-8, base64 is: …`: RabbitMQ's rendering of binary strings in headers (checked on 3.10.8). */
function binary(b: Buffer): string {
  return isUtf8(b) ? b.toString('utf8') : `Not UTF-8, base64 is: ${b.toString('base64')}`;
}

/** One header value as the management API renders it. */
export function fieldValueJson(v: FieldValue): Json {
  if (v === null) return 'undefined'; // RabbitMQ 3.10.8 renders a void value so
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (Buffer.isBuffer(v)) return binary(v);
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (v instanceof TypedValue) return Number(v.value);
  // RabbitMQ prints a decimal {Scale, Value} as "Scale.Value" and reads that back as a float.
  if (v instanceof Decimal) return Number(`${v.scale}.${v.value}`);
  if (v instanceof RawLongString) return binary(v.bytes);
  if (v instanceof RawFieldValue) return `Not UTF-8, base64 is: ${v.bytes.toString('base64')}`;
  if (Array.isArray(v)) return v.map(fieldValueJson);
  return tableJson(v);
}

export function tableJson(t: FieldTable): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  // defineProperty, not assignment: a client may name a table key `__proto__`.
  for (const k of Object.keys(t)) Object.defineProperty(out, k, { value: fieldValueJson(t[k] as FieldValue), enumerable: true, writable: true, configurable: true });
  return out;
}

/** Basic properties with RabbitMQ's key names; absent ones are left out. */
export function propertiesJson(p: BasicProperties): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  if (p.contentType !== undefined) out['content_type'] = p.contentType;
  if (p.contentEncoding !== undefined) out['content_encoding'] = p.contentEncoding;
  if (p.priority !== undefined) out['priority'] = p.priority;
  if (p.correlationId !== undefined) out['correlation_id'] = p.correlationId;
  if (p.replyTo !== undefined) out['reply_to'] = p.replyTo;
  if (p.expiration !== undefined) out['expiration'] = p.expiration;
  if (p.messageId !== undefined) out['message_id'] = p.messageId;
  if (p.timestamp !== undefined) out['timestamp'] = p.timestamp;
  if (p.type !== undefined) out['type'] = p.type;
  if (p.userId !== undefined) out['user_id'] = p.userId;
  if (p.appId !== undefined) out['app_id'] = p.appId;
  if (p.clusterId !== undefined) out['cluster_id'] = p.clusterId;
  if (p.deliveryMode !== undefined) out['delivery_mode'] = p.deliveryMode;
  if (p.headers !== undefined) out['headers'] = tableJson(p.headers);
  return out;
}

export type PayloadEncoding = 'auto' | 'base64';

/** A payload for the API: text when `auto` and the (truncated) bytes are UTF-8, else base64. */
export function payloadJson(body: Buffer, encoding: PayloadEncoding, truncate: number | undefined): { payload: string; payload_encoding: 'string' | 'base64' } {
  const b = truncate !== undefined && body.length > truncate ? body.subarray(0, truncate) : body;
  if (encoding === 'auto' && isUtf8(b)) return { payload: b.toString('utf8'), payload_encoding: 'string' };
  return { payload: b.toString('base64'), payload_encoding: 'base64' };
}

// ------------------------------------------------------------ JSON → AMQP (publish)

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JSON value as a header value (numbers: the field-table codec picks I, l or d by value). */
function jsonFieldValue(v: unknown): FieldValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map(jsonFieldValue);
  if (isObject(v)) return jsonTable(v);
  return String(v);
}

export function jsonTable(o: Record<string, unknown>): FieldTable {
  const t: FieldTable = {};
  for (const [k, v] of Object.entries(o)) Object.defineProperty(t, k, { value: jsonFieldValue(v), enumerable: true, writable: true, configurable: true });
  return t;
}

/** An integer property; RabbitMQ accepts numbers and numeric strings (else `not_int`). */
function intProp(o: Record<string, unknown>, key: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new ApiRequestError(`not_int: ${key}`);
  return n;
}

function strProp(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ApiRequestError(`not_string: ${key}`);
}

/** The API's `properties` object as basic properties; unknown keys are ignored, as RabbitMQ does. */
export function propertiesFromJson(v: unknown): BasicProperties {
  if (!isObject(v)) throw new ApiRequestError('properties must be an object');
  const p: BasicProperties = {};
  p.contentType = strProp(v, 'content_type');
  p.contentEncoding = strProp(v, 'content_encoding');
  const h = v['headers'];
  if (h !== undefined) {
    if (!isObject(h)) throw new ApiRequestError('headers must be an object');
    p.headers = jsonTable(h);
  }
  p.deliveryMode = intProp(v, 'delivery_mode');
  p.priority = intProp(v, 'priority');
  p.correlationId = strProp(v, 'correlation_id');
  p.replyTo = strProp(v, 'reply_to');
  p.expiration = strProp(v, 'expiration');
  p.messageId = strProp(v, 'message_id');
  p.timestamp = intProp(v, 'timestamp');
  p.type = strProp(v, 'type');
  p.userId = strProp(v, 'user_id');
  p.appId = strProp(v, 'app_id');
  p.clusterId = strProp(v, 'cluster_id');
  for (const k of Object.keys(p) as (keyof BasicProperties)[]) if (p[k] === undefined) delete p[k];
  return p;
}

/** The payload of a publish body: `string` (UTF-8) or `base64` (strictly checked). */
export function payloadFromJson(payload: unknown, encoding: unknown): Buffer {
  if (typeof payload !== 'string') throw new ApiRequestError('payload must be a string');
  if (encoding === 'string') return Buffer.from(payload, 'utf8');
  if (encoding === 'base64') {
    const clean = payload.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) throw new ApiRequestError(`not_base64: ${payload}`);
    return Buffer.from(clean, 'base64');
  }
  throw new ApiRequestError(`unsupported_encoding: ${String(encoding)}`);
}
