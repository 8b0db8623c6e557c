// One effective value per key for a queue: its x-arguments, the policy that applies to it and
// the operator policy that applies to it, merged key by key as RabbitMQ does
// (rabbit_queue_type_util:args_policy_lookup and the queue types' resolvers):
//
//   key                       argument vs policy          policy vs operator policy
//   message-ttl, expires,     the lower wins              the lower wins
//   max-length(-bytes),
//   consumer-timeout
//   delivery-limit            the lower wins; a negative  the same
//                             value (no limit) loses
//   overflow                  classic: argument wins;     operator policy wins
//                             quorum: policy wins
//   dead-letter-exchange,     argument wins               (not an operator key)
//   dead-letter-routing-key
//   queue-mode, queue-version accepted, no effect here

import type { FieldTable } from '../../protocol/field-table.js';
import { QUORUM_DEFAULT_DELIVERY_LIMIT, type Overflow, type QueuePolicy } from './arguments.js';

type Definition = Readonly<Record<string, unknown>>;

/** Keys where the lower of policy and operator policy wins. */
const MIN_KEYS: ReadonlySet<string> = new Set([
  'expires', 'message-ttl', 'max-length', 'max-length-bytes', 'max-in-memory-length', 'max-in-memory-bytes', 'consumer-timeout',
]);

/** delivery-limit: a negative value means no limit, so it only wins when both are negative. */
function mergeDeliveryLimit(a: number, b: number): number {
  return a < 0 || b < 0 ? Math.max(a, b) : Math.min(a, b);
}

/** Where both set a key: the value the queue gets (RabbitMQ's merge_policy_value). */
function mergeOperatorValue(key: string, value: unknown, operatorValue: unknown): unknown {
  if (typeof value === 'number' && typeof operatorValue === 'number') {
    if (key === 'delivery-limit') return mergeDeliveryLimit(value, operatorValue);
    if (MIN_KEYS.has(key)) return Math.min(value, operatorValue);
  }
  // overflow, queue-version and anything else an operator may set: the operator's value.
  return operatorValue;
}

/**
 * RabbitMQ's effective_policy_definition: the policy's keys and the operator policy's keys, the
 * shared ones merged. Keys in byte order, as RabbitMQ lists them.
 */
export function mergePolicyDefinitions(policy: Definition | null, operator: Definition | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = new Set([...Object.keys(policy ?? {}), ...Object.keys(operator ?? {})]);
  for (const key of [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
    const v = policy?.[key];
    const o = operator?.[key];
    out[key] = v === undefined ? o : o === undefined ? v : mergeOperatorValue(key, v, o);
  }
  return out;
}

const num = (d: Definition, key: string): number | undefined => {
  const v = d[key];
  return typeof v === 'number' ? v : undefined;
};
const str = (d: Definition, key: string): string | undefined => {
  const v = d[key];
  return typeof v === 'string' ? v : undefined;
};

function lower(arg: number | undefined, policy: number | undefined): number | undefined {
  return arg === undefined ? policy : policy === undefined ? arg : Math.min(arg, policy);
}

function isOverflow(v: string | undefined): v is Overflow {
  return v === 'drop-head' || v === 'reject-publish' || v === 'reject-publish-dlx';
}

/**
 * The queue's effective settings: `declared` (parsed from `args`) with the merged policy
 * definition applied. Settings no policy can change (type, priorities, single active consumer,
 * deduplication) are the declared ones. With an empty definition this is `declared` itself.
 */
export function effectiveQueuePolicy(declared: QueuePolicy, args: FieldTable, merged: Definition): QueuePolicy {
  if (Object.keys(merged).length === 0) return declared;
  const quorum = declared.type === 'quorum';
  const policyOverflow = str(merged, 'overflow');
  let overflow = declared.overflow;
  if (isOverflow(policyOverflow) && (quorum || args['x-overflow'] === undefined)) overflow = policyOverflow;

  // The quorum default limit counts only when neither argument nor policy sets one.
  const argLimit = declared.deliveryLimitDefaulted === true ? undefined : declared.deliveryLimit;
  const policyLimit = num(merged, 'delivery-limit');
  const limit = argLimit === undefined ? policyLimit : policyLimit === undefined ? argLimit : mergeDeliveryLimit(argLimit, policyLimit);
  let deliveryLimit: number | undefined;
  let deliveryLimitDefaulted = false;
  if (limit === undefined) {
    deliveryLimit = quorum ? QUORUM_DEFAULT_DELIVERY_LIMIT : undefined;
    deliveryLimitDefaulted = quorum;
  } else {
    deliveryLimit = limit < 0 ? undefined : limit;
  }

  return {
    ...declared,
    messageTtl: lower(declared.messageTtl, num(merged, 'message-ttl')),
    expires: lower(declared.expires, num(merged, 'expires')),
    maxLength: lower(declared.maxLength, num(merged, 'max-length')),
    maxLengthBytes: lower(declared.maxLengthBytes, num(merged, 'max-length-bytes')),
    overflow,
    deadLetterExchange: declared.deadLetterExchange ?? str(merged, 'dead-letter-exchange'),
    deadLetterRoutingKey: declared.deadLetterRoutingKey ?? str(merged, 'dead-letter-routing-key'),
    deliveryLimit,
    deliveryLimitDefaulted,
    consumerTimeout: lower(declared.consumerTimeout, num(merged, 'consumer-timeout')),
  };
}
