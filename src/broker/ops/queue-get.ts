// Reading messages over the management API: RabbitMQ's "Get messages" (a basic.get per message,
// then ack, or nack with or without requeue) and warren's peek (a look that takes nothing).

import { Message } from '../message.js';
import type { Queue, QueueEntry } from '../queue/queue.js';
import type { VHost } from '../vhost.js';
import { ApiRequestError, payloadJson, propertiesJson, type Json, type PayloadEncoding } from './message-json.js';

export type AckMode = 'ack_requeue_true' | 'ack_requeue_false' | 'reject_requeue_true' | 'reject_requeue_false';
const ACK_MODES: readonly string[] = ['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false'];

export interface GetRequest {
  count: number;
  ackmode: AckMode;
  encoding: PayloadEncoding;
  /** Payload bytes shown at most (payload_bytes still gives the full size). */
  truncate?: number | undefined;
}

/** One message as POST /api/queues/{v}/{q}/get returns it. */
export interface GotMessage {
  payload_bytes: number;
  redelivered: boolean;
  exchange: string;
  routing_key: string;
  message_count: number;
  properties: { [key: string]: Json };
  payload: string;
  payload_encoding: 'string' | 'base64';
}

function toInt(v: unknown, key: string, min: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min) throw new ApiRequestError(`${key} must be an integer >= ${min}`);
  return n;
}

/** The body of a get request, checked as RabbitMQ does (count may be a string, as rabbitmqadmin sends it). */
export function parseGetRequest(body: unknown): GetRequest {
  const o = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const missing = ['count', 'ackmode', 'encoding'].filter((k) => o[k] === undefined);
  if (missing.length > 0) throw new ApiRequestError(`[${missing.map((k) => `{key_missing,${k}}`).join(',')}]`);
  const ackmode = o['ackmode'];
  if (typeof ackmode !== 'string' || !ACK_MODES.includes(ackmode)) throw new ApiRequestError(`Unsupported ackmode: ${String(ackmode)}`);
  const encoding = o['encoding'];
  if (encoding !== 'auto' && encoding !== 'base64') throw new ApiRequestError('Unsupported encoding. Please use auto or base64.');
  const truncate = o['truncate'] === undefined || o['truncate'] === '' ? undefined : toInt(o['truncate'], 'truncate', 0);
  return { count: toInt(o['count'], 'count', 0), ackmode: ackmode as AckMode, encoding, truncate };
}

/** The header a consumer would see: quorum and delivery-limit queues add x-delivery-count. */
function shownHeader(q: Queue, e: QueueEntry): Buffer {
  if (!q.tracksDeliveries || (e.returns === 0 && q.policy.type !== 'quorum')) return e.message.header;
  return e.message.headerWithDeliveryCount(e.returns);
}

function render(q: Queue, e: QueueEntry, redelivered: boolean, messageCount: number, req: { encoding: PayloadEncoding; truncate?: number | undefined }): GotMessage {
  const m = e.message;
  const header = shownHeader(q, e);
  // Decoded from a throwaway view: a queued message keeps only its raw header (see Message.forgetProperties).
  const props = new Message(m.exchange, m.routingKey, header, [], m.bodySize).properties;
  return {
    payload_bytes: m.bodySize,
    redelivered,
    exchange: m.exchange,
    routing_key: m.routingKey,
    message_count: messageCount,
    properties: propertiesJson(props),
    ...payloadJson(m.bodyBuffer(), req.encoding, req.truncate),
  };
}

/**
 * RabbitMQ's get: takes up to `count` messages as basic.get would (each counted as delivered), then
 * acks them, rejects them (dead-lettered), or returns them to the queue marked redelivered (both
 * requeue modes, which RabbitMQ implements as a nack with requeue). Requeued ones go back only
 * after all were taken, so one request never shows a message twice. `owner` stands for the
 * connection: an exclusive queue of another connection is refused with RabbitMQ's 405 text.
 */
export function getMessages(vhost: VHost, queueName: string, req: GetRequest, owner: object): GotMessage[] {
  const q = vhost.getQueue(queueName, owner);
  q.touch();
  const out: GotMessage[] = [];
  const requeue: QueueEntry[] = [];
  for (let i = 0; i < req.count; i++) {
    const e = q.get(false);
    if (e === undefined) break;
    try {
      out.push(render(q, e, e.redelivered, q.messageCount, req));
    } catch (err) {
      // Nothing is lost over a message that cannot be shown: it goes back, and the error is the reply.
      requeue.push(e);
      q.requeue(requeue, 'client');
      throw err;
    }
    if (req.ackmode === 'ack_requeue_false') q.ack(e);
    else if (req.ackmode === 'reject_requeue_false') q.reject(e);
    else requeue.push(e);
  }
  q.requeue(requeue, 'client');
  return out;
}

/** warren's peek: the first `count` ready messages, in delivery order, left where they are. */
export function peekMessages(vhost: VHost, queueName: string, req: { count: number; encoding: PayloadEncoding; truncate?: number | undefined }, owner: object): GotMessage[] {
  const q = vhost.getQueue(queueName, owner);
  const entries = q.peek(req.count);
  const total = q.messageCount;
  return entries.map((e, i) => render(q, e, e.redelivered, total - i - 1, req));
}
