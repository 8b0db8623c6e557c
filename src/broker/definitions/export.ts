// Definitions export in the shape of `rabbitmqctl export_definitions` (RabbitMQ 3.13/4.x, which
// the 4.x HTTP export shares), or the per-vhost shape of GET /api/definitions/{vhost}: items
// without `vhost`, no users, vhosts or permissions.

import type { Broker } from '../broker.js';
import { isExchange } from '../exchange/exchange.js';
import { tableToJson, type Json } from './json-args.js';
import { policyStore } from './policies.js';

/** The RabbitMQ release whose dialect warren speaks; importers read it to choose defaults. */
export const RABBIT_VERSION = '3.10.8';

export type DefinitionsDocument = { [k: string]: Json };

export function exportDefinitions(broker: Broker, opts: { vhost?: string } = {}): DefinitionsDocument {
  const one = opts.vhost;
  const vhostNames = one === undefined ? broker.access.vhostNames().filter((n) => broker.vhost(n) !== undefined) : [one];
  const item = (vhost: string, o: { [k: string]: Json }): { [k: string]: Json } => (one === undefined ? { ...o, vhost } : o);
  const parameters: Json[] = [];
  const policies: Json[] = [];
  const queues: Json[] = [];
  const exchanges: Json[] = [];
  const bindings: Json[] = [];
  for (const name of vhostNames) {
    const v = broker.vhost(name);
    if (v === undefined) continue;
    const limits = broker.access.vhostLimits(name);
    if (Object.keys(limits).length > 0) parameters.push(item(name, { value: { ...limits }, component: 'vhost-limits', name: 'limits' }));
    const operator = policyStore(v, true);
    for (const p of operator.list()) {
      parameters.push(item(name, { value: { pattern: p.pattern, 'apply-to': p.applyTo, priority: p.priority, definition: p.definition as { [k: string]: Json } }, component: 'operator_policy', name: p.name }));
    }
    for (const p of policyStore(v, false).list()) {
      policies.push(item(name, { name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: p.definition as { [k: string]: Json }, priority: p.priority }));
    }
    for (const q of v.queues.values()) {
      // Exclusive queues die with their connection; RabbitMQ leaves them out too.
      if (q.exclusive) continue;
      queues.push(item(name, { name: q.name, durable: q.durable, auto_delete: q.autoDelete, type: q.policy.type, arguments: tableToJson(q.args) }));
    }
    for (const e of v.exchanges.values()) {
      for (const b of e.table.bindings()) {
        if (e.name === '') continue;
        bindings.push(item(name, {
          source: e.name,
          destination: b.destination.name,
          destination_type: isExchange(b.destination) ? 'exchange' : 'queue',
          routing_key: b.routingKey,
          arguments: tableToJson(b.args),
        }));
      }
      if (e.name === '' || e.name.startsWith('amq.')) continue;
      exchanges.push(item(name, { name: e.name, type: e.type, durable: e.durable, auto_delete: e.autoDelete, internal: e.internal, arguments: tableToJson(e.args) }));
    }
  }
  const topology = { parameters, policies, queues, exchanges, bindings };
  if (one !== undefined) {
    const meta = broker.access.vhostMetadata(one);
    return {
      rabbit_version: RABBIT_VERSION,
      rabbitmq_version: RABBIT_VERSION,
      product_name: 'warren',
      original_vhost_name: one,
      metadata: meta === undefined ? {} : { description: meta.description, tags: meta.tags, default_queue_type: meta.defaultQueueType },
      description: meta?.description ?? '',
      limits: { ...broker.access.vhostLimits(one) },
      ...topology,
    };
  }
  return {
    rabbit_version: RABBIT_VERSION,
    rabbitmq_version: RABBIT_VERSION,
    product_name: 'warren',
    users: broker.users.list().map((u) => ({
      name: u.name,
      password_hash: u.passwordHash,
      hashing_algorithm: u.hashingAlgorithm,
      tags: [...u.tags],
      limits: { ...broker.access.userLimits(u.name) },
    })),
    vhosts: vhostNames.map((name) => {
      const meta = broker.access.vhostMetadata(name);
      return {
        name,
        limits: { ...broker.access.vhostLimits(name) },
        metadata: { description: meta?.description ?? '', tags: meta?.tags ?? [], default_queue_type: meta?.defaultQueueType ?? 'classic' },
      };
    }),
    permissions: broker.permissions.list().map((p) => ({ user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read })),
    topic_permissions: broker.permissions.listTopic().map((t) => ({ user: t.user, vhost: t.vhost, exchange: t.exchange, write: t.write, read: t.read })),
    global_parameters: [{ name: 'cluster_name', value: broker.access.clusterName }],
    ...topology,
  };
}
