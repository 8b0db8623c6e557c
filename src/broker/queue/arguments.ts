// Queue x-arguments: validation at declare time (RabbitMQ's 406 texts) into a typed policy.

import { ChannelError } from '../../protocol/errors.js';
import { typeName } from '../equivalence.js';
import { TypedValue, numberValue, stringValue, type FieldTable, type FieldValue } from '../../protocol/field-table.js';

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
  consumerTimeout: number | undefined;
  deduplication: boolean;
  dedupCacheSize: number | undefined;
  dedupCacheTtl: number | undefined;
}

/** RabbitMQ 4 gives quorum queues a delivery limit of 20 unless one is set. */
const QUORUM_DEFAULT_DELIVERY_LIMIT = 20;
/**
 * The longest TTL, expiry or per-message expiration RabbitMQ accepts: ten years in ms (checked
 * against RabbitMQ 3.10: one more is refused with value_too_large).
 */
export const MAX_EXPIRY_MS = 315_360_000_000;

/** RabbitMQ caps x-max-priority at 255. */
const MAX_PRIORITY = 255;

function invalid(queue: string, arg: string, why: string): ChannelError {
  return new ChannelError(406, `invalid arg '${arg}' for queue '${queue}' in vhost '/': ${why}`, 50, 10);
}

function isInteger(v: FieldValue): boolean {
  if (typeof v === 'number') return Number.isInteger(v);
  if (typeof v === 'bigint') return true;
  if (v instanceof TypedValue) return v.tag !== 'f' && v.tag !== 'd' ? true : Number.isInteger(Number(v.value));
  return false;
}

function nonNegInt(queue: string, args: FieldTable, arg: string, allowZero = true, max = Infinity): number | undefined {
  const v = args[arg];
  if (v === undefined) return undefined;
  if (!isInteger(v)) throw invalid(queue, arg, `"expected integer, got ${typeName(v)}"`);
  const n = numberValue(v) as number;
  if (n < 0) throw invalid(queue, arg, `{value_negative,${n}}`);
  if (!allowZero && n === 0) throw invalid(queue, arg, `{value_zero,0}`);
  if (n > max) throw invalid(queue, arg, `{value_too_large,${n}}`);
  return n;
}

function str(queue: string, args: FieldTable, arg: string): string | undefined {
  const v = args[arg];
  if (v === undefined) return undefined;
  const s = stringValue(v);
  if (s === undefined) {
    // RabbitMQ's type check for string arguments has its own wording.
    throw new ChannelError(406, `invalid type '${typeName(v)}' for arg '${arg}' in queue '${queue}' in vhost '/'`, 50, 10);
  }
  return s;
}

function bool(queue: string, args: FieldTable, arg: string): boolean {
  const v = args[arg];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalid(queue, arg, `{unacceptable_type,${typeName(v)}}`);
  return v;
}

export function parseQueueArguments(
  queue: string,
  args: FieldTable,
  flags: { durable: boolean; exclusive: boolean; autoDelete: boolean },
): QueuePolicy {
  const typeArg = str(queue, args, 'x-queue-type') ?? 'classic';
  if (typeArg === 'stream') {
    throw new ChannelError(406, `queue type 'stream' is not supported by this broker (queue '${queue}' in vhost '/')`, 50, 10);
  }
  if (typeArg !== 'classic' && typeArg !== 'quorum') throw invalid(queue, 'x-queue-type', `"unsupported queue type '${typeArg}'"`);
  if (typeArg === 'quorum') {
    // RabbitMQ's rules: quorum queues are always durable, never exclusive or auto-delete.
    if (!flags.durable) throw new ChannelError(406, `invalid property 'non-durable' for queue '${queue}' in vhost '/'`, 50, 10);
    if (flags.exclusive) throw new ChannelError(406, `invalid property 'exclusive-owner' for queue '${queue}' in vhost '/'`, 50, 10);
    if (flags.autoDelete) throw new ChannelError(406, `invalid property 'auto-delete' for queue '${queue}' in vhost '/'`, 50, 10);
  }
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
    consumerTimeout: nonNegInt(queue, args, 'x-consumer-timeout'),
    deduplication: bool(queue, args, 'x-message-deduplication'),
    dedupCacheSize: nonNegInt(queue, args, 'x-cache-size'),
    dedupCacheTtl: nonNegInt(queue, args, 'x-cache-ttl'),
  };
}

/** A per-message `expiration` property: a string of non-negative integer milliseconds. */
export function parseExpiration(expiration: string): number {
  // Texts follow Erlang's string:to_integer, which RabbitMQ uses to parse it.
  const m = /^[+-]?\d+/.exec(expiration);
  const fail = (why: string): ChannelError => new ChannelError(406, `invalid expiration '${expiration}': ${why}`, 60, 40);
  if (m === null) throw fail('no_integer');
  const rest = expiration.slice(m[0].length);
  if (rest !== '') throw fail(`{leftover_string,"${rest}"}`);
  const n = Number(m[0]);
  if (n < 0) throw fail(`{value_negative,${n}}`);
  if (n > MAX_EXPIRY_MS) throw fail(`{value_too_large,${n}}`);
  return n;
}
