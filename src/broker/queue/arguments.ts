// Queue x-arguments: validation at declare time (RabbitMQ's 406 texts) into a typed policy.

import { preconditionFailed, type ChannelError } from '../../protocol/errors.js';
import { BASIC_CONSUME, BASIC_PUBLISH, QUEUE_DECLARE } from '../../protocol/generated/amqp.js';
import { typeName } from '../equivalence.js';
import { RawLongString, TypedValue, numberValue, stringValue, type FieldTable, type FieldValue } from '../../protocol/field-table.js';

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';
export type QueueType = 'classic' | 'quorum';

export interface QueuePolicy {
  type: QueueType;
  messageTtl: number | undefined;
  expires: number | undefined;
  maxLength: number | undefined;
  maxLengthBytes: number | undefined;
  overflow: Overflow;
  deadLetterExchange: string | undefined;
  deadLetterRoutingKey: string | undefined;
  maxPriority: number | undefined;
  singleActiveConsumer: boolean;
  deliveryLimit: number | undefined;
  /** True when deliveryLimit is the quorum default rather than an x-delivery-limit argument (Queue.requeue tells them apart). */
  deliveryLimitDefaulted?: boolean;
  consumerTimeout: number | undefined;
  deduplication: boolean;
  dedupCacheSize: number | undefined;
  dedupCacheTtl: number | undefined;
}

/** The queue an argument belongs to, as the error texts name it. */
interface QueueRef {
  readonly name: string;
  readonly vhost: string;
}

/** RabbitMQ 4 gives quorum queues a delivery limit of 20 unless one is set. */
export const QUORUM_DEFAULT_DELIVERY_LIMIT = 20;
/**
 * The longest TTL, expiry or per-message expiration RabbitMQ accepts: ten years in ms (checked
 * against RabbitMQ 3.10: one more is refused with value_too_large).
 */
export const MAX_EXPIRY_MS = 315_360_000_000;

/** RabbitMQ caps x-max-priority at 255. */
const MAX_PRIORITY = 255;

function invalid(queue: QueueRef, arg: string, why: string): ChannelError {
  return preconditionFailed(`invalid arg '${arg}' for queue '${queue.name}' in vhost '${queue.vhost}': ${why}`, QUEUE_DECLARE);
}

function isInteger(v: FieldValue): boolean {
  if (typeof v === 'number') return Number.isInteger(v);
  if (typeof v === 'bigint') return true;
  // RabbitMQ checks the wire type: a float or double is refused even when its value is whole.
  if (v instanceof TypedValue) return v.tag !== 'f' && v.tag !== 'd' && v.tag !== 'T';
  return false;
}

function nonNegInt(queue: QueueRef, args: FieldTable, arg: string, allowZero = true, max = Infinity): number | undefined {
  const v = args[arg];
  if (v === undefined) return undefined;
  if (!isInteger(v)) throw invalid(queue, arg, `"expected integer, got ${typeName(v)}"`);
  const n = numberValue(v) as number;
  if (n < 0) throw invalid(queue, arg, `{value_negative,${n}}`);
  if (!allowZero && n === 0) throw invalid(queue, arg, `{value_zero,0}`);
  if (n > max) throw invalid(queue, arg, `{value_too_large,${n}}`);
  return n;
}

function str(queue: QueueRef, args: FieldTable, arg: string): string | undefined {
  const v = args[arg];
  if (v === undefined) return undefined;
  const s = stringValue(v);
  if (s === undefined) {
    // RabbitMQ's type check for string arguments has its own wording.
    throw preconditionFailed(`invalid type '${typeName(v)}' for arg '${arg}' in queue '${queue.name}' in vhost '${queue.vhost}'`, QUEUE_DECLARE);
  }
  return s;
}

function bool(queue: QueueRef, args: FieldTable, arg: string): boolean {
  const v = args[arg];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalid(queue, arg, `{unacceptable_type,${typeName(v)}}`);
  return v;
}

export function parseQueueArguments(
  name: string,
  args: FieldTable,
  flags: { durable: boolean; exclusive: boolean; autoDelete: boolean },
  vhost: string,
): QueuePolicy {
  const queue: QueueRef = { name, vhost };
  const typeArg = str(queue, args, 'x-queue-type') ?? 'classic';
  if (typeArg === 'stream') {
    throw preconditionFailed(`queue type 'stream' is not supported by this broker (queue '${queue.name}' in vhost '${queue.vhost}')`, QUEUE_DECLARE);
  }
  if (typeArg !== 'classic' && typeArg !== 'quorum') throw invalid(queue, 'x-queue-type', `"unsupported queue type '${typeArg}'"`);
  if (typeArg === 'quorum') {
    // RabbitMQ's rules: quorum queues are always durable, never exclusive or auto-delete.
    if (!flags.durable) throw preconditionFailed(`invalid property 'non-durable' for queue '${queue.name}' in vhost '${queue.vhost}'`, QUEUE_DECLARE);
    if (flags.exclusive) throw preconditionFailed(`invalid property 'exclusive-owner' for queue '${queue.name}' in vhost '${queue.vhost}'`, QUEUE_DECLARE);
    if (flags.autoDelete) throw preconditionFailed(`invalid property 'auto-delete' for queue '${queue.name}' in vhost '${queue.vhost}'`, QUEUE_DECLARE);
  }
  queueMode(queue, args, typeArg);
  const overflowArg = str(queue, args, 'x-overflow') ?? 'drop-head';
  if (overflowArg !== 'drop-head' && overflowArg !== 'reject-publish' && overflowArg !== 'reject-publish-dlx') {
    throw invalid(queue, 'x-overflow', 'invalid_overflow');
  }
  const dlx = str(queue, args, 'x-dead-letter-exchange');
  const dlrk = str(queue, args, 'x-dead-letter-routing-key');
  if (dlrk !== undefined && dlx === undefined) throw invalid(queue, 'x-dead-letter-routing-key', 'routing_key_but_no_dlx_defined');
  const maxPriority = nonNegInt(queue, args, 'x-max-priority');
  if (maxPriority !== undefined && maxPriority > MAX_PRIORITY) {
    throw invalid(queue, 'x-max-priority', `{max_value_exceeded,${maxPriority}}`);
  }
  const deliveryLimit = nonNegInt(queue, args, 'x-delivery-limit');
  return {
    type: typeArg,
    messageTtl: nonNegInt(queue, args, 'x-message-ttl', true, MAX_EXPIRY_MS),
    expires: nonNegInt(queue, args, 'x-expires', false, MAX_EXPIRY_MS),
    maxLength: nonNegInt(queue, args, 'x-max-length'),
    maxLengthBytes: nonNegInt(queue, args, 'x-max-length-bytes'),
    overflow: overflowArg,
    deadLetterExchange: dlx,
    deadLetterRoutingKey: dlrk,
    maxPriority: maxPriority === 0 ? undefined : maxPriority,
    singleActiveConsumer: bool(queue, args, 'x-single-active-consumer'),
    deliveryLimit: deliveryLimit ?? (typeArg === 'quorum' ? QUORUM_DEFAULT_DELIVERY_LIMIT : undefined),
    deliveryLimitDefaulted: deliveryLimit === undefined && typeArg === 'quorum',
    consumerTimeout: nonNegInt(queue, args, 'x-consumer-timeout'),
    deduplication: bool(queue, args, 'x-message-deduplication'),
    dedupCacheSize: nonNegInt(queue, args, 'x-cache-size'),
    dedupCacheTtl: nonNegInt(queue, args, 'x-cache-ttl'),
  };
}

/** The queue modes RabbitMQ 3.10 knows; warren pages deep queues itself, so the mode only has to be valid. */
const QUEUE_MODES: readonly string[] = ['default', 'lazy'];

/** x-queue-mode: a longstr naming a known mode, and only on classic queues (texts as RabbitMQ 3.10 words them). */
function queueMode(queue: QueueRef, args: FieldTable, type: QueueType): void {
  const v = args['x-queue-mode'];
  if (v === undefined) return;
  if (type === 'quorum') {
    throw preconditionFailed(`invalid arg 'x-queue-mode' for queue '${queue.name}' in vhost '${queue.vhost}' of queue type rabbit_quorum_queue`, QUEUE_DECLARE);
  }
  if (typeof v !== 'string' && !(v instanceof RawLongString)) throw invalid(queue, 'x-queue-mode', `{unacceptable_type,${typeName(v)}}`);
  const mode = stringValue(v) ?? '';
  if (!QUEUE_MODES.includes(mode)) throw invalid(queue, 'x-queue-mode', `"unsupported queue mode '${mode}'"`);
}

/** A consumer's x-priority, checked at basic.consume: an integer of whatever width, negative allowed. */
export function consumerPriority(name: string, args: FieldTable, vhost: string): number {
  const queue: QueueRef = { name, vhost };
  const v = args['x-priority'];
  if (v === undefined) return 0;
  if (!isInteger(v)) {
    throw preconditionFailed(`invalid arg 'x-priority' for queue '${queue.name}' in vhost '${queue.vhost}': "expected integer, got ${typeName(v)}"`, BASIC_CONSUME);
  }
  return numberValue(v) ?? 0;
}

/** RabbitMQ 3.10's largest per-message expiration: 10 years in ms (checked live: 315360000001 is refused). */
const MAX_EXPIRATION_MS = 315_360_000_000n;
/**
 * RabbitMQ formats the reason with Erlang's ~p after "invalid expiration '<e>': ", and ~p breaks a
 * tuple that would run past column 78 of that text, indenting the next element under the first one.
 */
const ERLANG_PRETTY_WIDTH = 78;

/** A per-message `expiration` property: a string of non-negative integer milliseconds, at most 10 years. */
export function parseExpiration(expiration: string): number {
  // Texts follow Erlang's string:to_integer, which RabbitMQ uses to parse it.
  const m = /^[+-]?\d+/.exec(expiration);
  const prefix = `invalid expiration '${expiration}': `;
  const fail = (why: string): ChannelError => preconditionFailed(prefix + why, BASIC_PUBLISH);
  if (m === null) throw fail('no_integer');
  const rest = expiration.slice(m[0].length);
  if (rest !== '') throw fail(`{leftover_string,"${rest}"}`);
  const n = BigInt(m[0]);
  if (n < 0n) throw fail(`{value_negative,${n}}`);
  if (n > MAX_EXPIRATION_MS) {
    const oneLine = `{value_too_large,${n}}`;
    const col = prefix.length;
    throw fail(col + oneLine.length > ERLANG_PRETTY_WIDTH ? `{value_too_large,\n${' '.repeat(col + 1)}${n}}` : oneLine);
  }
  return Number(n);
}
