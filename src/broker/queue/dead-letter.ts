// Dead-lettering: the x-death history RabbitMQ writes, and the republished message.

import { TypedValue, stringValue, type FieldTable, type FieldValue } from '../../protocol/field-table.js';
import type { BasicProperties } from '../../protocol/generated/amqp.js';
import { Message } from '../message.js';

export type DeadLetterReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';

function isTable(v: FieldValue | undefined): v is FieldTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Date) && !(v instanceof TypedValue);
}

function routingKeysOf(message: Message): string[] {
  const keys = [message.routingKey];
  const cc = message.hasHeaders ? message.properties.headers?.['CC'] : undefined;
  if (Array.isArray(cc)) for (const k of cc) {
    const s = stringValue(k);
    if (s !== undefined) keys.push(s);
  }
  return keys;
}

/**
 * The message as it leaves `queue` for the dead-letter exchange: x-death updated (one entry per
 * queue and reason, newest first, count incremented), x-first-death-* set once, x-last-death-*
 * every time, expiration moved into the x-death entry.
 */
export function deadLetterMessage(
  message: Message,
  queue: string,
  reason: DeadLetterReason,
  dlx: string,
  dlrk: string | undefined,
  now: number,
): { message: Message; routingKeys: string[] } {
  const props: BasicProperties = { ...message.properties };
  const headers: FieldTable = { ...(props.headers ?? {}) };
  const routingKeys = routingKeysOf(message);
  const previous = Array.isArray(headers['x-death']) ? (headers['x-death'] as FieldValue[]) : [];
  let existing: FieldTable | undefined;
  const rest: FieldValue[] = [];
  for (const d of previous) {
    if (existing === undefined && isTable(d) && stringValue(d['queue']) === queue && stringValue(d['reason']) === reason) existing = d;
    else rest.push(d);
  }
  let entry: FieldTable;
  if (existing !== undefined) {
    // RabbitMQ 3.10 bumps the count and moves the entry to the front, keeping its first time and expiration.
    const c = existing['count'];
    const count = (typeof c === 'number' ? c : c instanceof TypedValue ? Number(c.value) : typeof c === 'bigint' ? Number(c) : 0) + 1;
    entry = { ...existing, count: new TypedValue('l', count) };
    delete props.expiration;
  } else {
    entry = {
      count: new TypedValue('l', 1),
      reason,
      queue,
      time: new Date(Math.floor(now / 1000) * 1000),
      exchange: message.exchange,
      'routing-keys': routingKeys,
    };
    if (props.expiration !== undefined) {
      entry['original-expiration'] = props.expiration;
      delete props.expiration;
    }
  }
  headers['x-death'] = [entry, ...rest];
  if (headers['x-first-death-queue'] === undefined) {
    headers['x-first-death-queue'] = queue;
    headers['x-first-death-reason'] = reason;
    headers['x-first-death-exchange'] = message.exchange;
  }
  headers['x-last-death-queue'] = queue;
  headers['x-last-death-reason'] = reason;
  headers['x-last-death-exchange'] = message.exchange;
  if (dlrk !== undefined) delete headers['CC'];
  props.headers = headers;
  const out = new Message(dlx, dlrk ?? message.routingKey, message.header, [message.bodyBuffer()], message.bodySize);
  out.setProperties(props);
  return { message: out, routingKeys: dlrk !== undefined ? [dlrk] : routingKeys };
}

/** RabbitMQ's cycle rule: a message already dead-lettered from `queue` without any rejection is dropped. */
export function wouldCycle(message: Message, queue: string): boolean {
  const deaths = message.properties.headers?.['x-death'];
  if (!Array.isArray(deaths)) return false;
  let seen = false;
  for (const d of deaths) {
    if (!isTable(d)) continue;
    if (stringValue(d['reason']) === 'rejected') return false;
    if (stringValue(d['queue']) === queue) seen = true;
  }
  return seen;
}
