// Queues, exchanges and bindings as RabbitMQ's management API renders them (3.10.8 field names;
// the fields strict readers require are always present: queue type/exclusive/arguments, exchange
// type/arguments, binding destination_type/properties_key).

import { createHash } from 'node:crypto';
import type { Broker } from '../../broker/broker.js';
import type { ConsumerInfo } from '../../broker/clients.js';
import { isExchange, type Destination, type Exchange } from '../../broker/exchange/exchange.js';
import { argsIdentity } from '../../broker/exchange/binding-set.js';
import { tableJson } from '../../broker/ops/message-json.js';
import type { Queue } from '../../broker/queue/queue.js';
import { EXCHANGE_STAT_KEYS, QUEUE_STAT_KEYS, messageStatsJson } from '../../broker/stats/index.js';
import type { VHost } from '../../broker/vhost.js';
import type { Json } from '../lists.js';
import { nodeName } from './identity.js';
import { lengthsJson } from './stats.js';
import type { BindingDefinition } from '../../broker/definitions/document.js';

type FieldTable = Exchange['args'];

export interface StatsSwitches {
  /** disable_stats=true: definitions only. */
  disableStats: boolean;
  /** enable_queue_totals=true (with disable_stats): the three message counts stay. */
  queueTotals: boolean;
}

/** Consumers with room for another message, as a share of all (RabbitMQ's consumer_capacity): 1 while the queue keeps none waiting. */
function consumerCapacity(q: Queue): number {
  const n = q.consumerCount;
  if (n === 0) return 0;
  if (q.depth === 0) return 1;
  let ready = 0;
  for (const c of q.consumers) if (!c.waitingForCredit) ready++;
  return ready / n;
}

export function queueJson(vhost: VHost, q: Queue, sw: StatsSwitches = { disableStats: false, queueTotals: false }): Json {
  const ready = q.depth;
  const unacked = q.unacked;
  const sac = q.activeConsumer;
  const out: Json = {
    arguments: tableJson(q.args),
    auto_delete: q.autoDelete,
    durable: q.durable,
    effective_policy_definition: q.effectivePolicyDefinition(),
    exclusive: q.exclusive,
    name: q.name,
    node: nodeName(),
    operator_policy: q.operatorPolicyName,
    policy: q.policyName,
    state: q.paused ? 'paused' : 'running',
    type: q.policy.type,
    vhost: vhost.name,
  };
  if (sw.disableStats) {
    if (sw.queueTotals) Object.assign(out, { messages: ready + unacked, messages_ready: ready, messages_unacknowledged: unacked });
    return out;
  }
  const capacity = consumerCapacity(q);
  Object.assign(out, {
    consumer_capacity: capacity,
    consumer_utilisation: capacity,
    consumers: q.consumerCount,
    exclusive_consumer_tag: exclusiveConsumerTag(q),
    single_active_consumer_tag: sac?.tag ?? null,
    message_bytes: q.readyBytes,
    message_bytes_ready: q.readyBytes,
    message_bytes_paged_out: 0,
    ...lengthsJson(ready, unacked),
    messages_paged_out: q.pagedCount,
    message_stats: messageStatsJson(q.stats, { keys: QUEUE_STAT_KEYS }),
  });
  return out;
}

function exclusiveConsumerTag(q: Queue): string | null {
  if (!q.hasExclusiveConsumer()) return null;
  for (const c of q.consumers) if (c.exclusive) return c.tag;
  return null;
}

/** A queue's consumers for GET /api/queues/{v}/{q} (consumer_details), from the connections of its vhost. */
export function consumersOfQueue(broker: Broker, vhost: string, queue: string): ConsumerInfo[] {
  const out: ConsumerInfo[] = [];
  for (const c of broker.clients.inVhost(vhost)) for (const i of c.consumerInfos()) if (i.queue.name === queue) out.push(i);
  return out;
}

export function exchangeJson(vhost: VHost, e: Exchange, sw: StatsSwitches = { disableStats: false, queueTotals: false }): Json {
  const out: Json = {
    arguments: tableJson(e.args),
    auto_delete: e.autoDelete,
    durable: e.durable,
    internal: e.internal,
    name: e.name,
    policy: e.policyName,
    type: e.type,
    user_who_performed_action: 'rmq-internal',
    vhost: vhost.name,
  };
  if (!sw.disableStats) out['message_stats'] = messageStatsJson(e.stats, { keys: EXCHANGE_STAT_KEYS });
  return out;
}

// ------------------------------------------------------------ bindings

/** A binding as the API lists it: the same fields as a definitions file's binding. */
export type BindingRow = BindingDefinition;

/**
 * RabbitMQ's properties_key: `~` for an empty key without arguments, else the key percent-encoded
 * (`~` too), then `~` and a hash of the arguments when there are any. Clients only round-trip it;
 * warren's hash is its own (a short SHA-1 of the arguments' canonical encoding).
 */
export function propertiesKey(routingKey: string, args: FieldTable): string {
  const id = argsIdentity(args);
  if (routingKey === '' && id === '') return '~';
  const key = encodeURIComponent(routingKey).replace(/~/g, '%7E');
  if (id === '') return key;
  return `${key}~${createHash('sha1').update(id, 'latin1').digest('base64url').slice(0, 12)}`;
}

/** Whether a path segment (decoded once by the router) names this binding's properties_key. */
export function matchesPropertiesKey(row: BindingRow, segment: string): boolean {
  const pk = propertiesKey(row.routingKey, row.args);
  if (pk === segment) return true;
  try {
    return decodeURIComponent(pk) === segment;
  } catch {
    return false;
  }
}

export function bindingJson(b: BindingRow): Json {
  return {
    source: b.source,
    vhost: b.vhost,
    destination: b.destination,
    destination_type: b.destinationType,
    routing_key: b.routingKey,
    arguments: tableJson(b.args),
    properties_key: propertiesKey(b.routingKey, b.args),
  };
}

function row(vhost: VHost, e: Exchange, d: Destination, routingKey: string, args: FieldTable): BindingRow {
  return { vhost: vhost.name, source: e.name, destination: d.name, destinationType: isExchange(d) ? 'exchange' : 'queue', routingKey, args };
}

/** The implicit binding of every queue to the default exchange, listed as RabbitMQ lists it. */
function defaultBinding(vhost: VHost, q: Queue): BindingRow {
  return { vhost: vhost.name, source: '', destination: q.name, destinationType: 'queue', routingKey: q.name, args: {} };
}

/** Every binding of a vhost: the default exchange's first, then each exchange's. */
export function* vhostBindings(vhost: VHost): Generator<BindingRow> {
  for (const q of vhost.queues.values()) yield defaultBinding(vhost, q);
  for (const e of vhost.exchanges.values()) {
    if (e.name === '' || e.table.size === 0) continue;
    for (const b of e.table.bindings()) yield row(vhost, e, b.destination, b.routingKey, b.args);
  }
}

/** Bindings whose destination is the queue (its default-exchange binding first). */
export function queueBindings(vhost: VHost, q: Queue): BindingRow[] {
  const out = [defaultBinding(vhost, q)];
  for (const e of vhost.exchanges.values()) {
    if (e.name === '' || e.table.size === 0) continue;
    for (const b of e.table.bindings()) if (b.destination === q) out.push(row(vhost, e, q, b.routingKey, b.args));
  }
  return out;
}

/** Bindings with `e` as source (`source`) or as destination (`destination`). */
export function exchangeBindings(vhost: VHost, e: Exchange, side: 'source' | 'destination'): BindingRow[] {
  const out: BindingRow[] = [];
  if (side === 'source') {
    if (e.name === '') for (const q of vhost.queues.values()) out.push(defaultBinding(vhost, q));
    else for (const b of e.table.bindings()) out.push(row(vhost, e, b.destination, b.routingKey, b.args));
    return out;
  }
  for (const src of vhost.exchanges.values()) {
    if (src.name === '' || src.table.size === 0) continue;
    for (const b of src.table.bindings()) if (b.destination === e) out.push(row(vhost, src, e, b.routingKey, b.args));
  }
  return out;
}

/** Bindings from source `e` to one destination. */
export function bindingsBetween(vhost: VHost, e: Exchange, d: Destination): BindingRow[] {
  if (e.name === '') return isExchange(d) ? [] : [defaultBinding(vhost, d as Queue)];
  const out: BindingRow[] = [];
  for (const b of e.table.bindings()) if (b.destination === d) out.push(row(vhost, e, d, b.routingKey, b.args));
  return out;
}
