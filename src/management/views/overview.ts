// The overview object (GET /api/overview), RabbitMQ 3.10.8's keys in its order.

import type { User } from '../../broker/auth/users.js';
import { isMonitor, visibleVhosts } from '../auth.js';
import type { ManagementContext } from '../context.js';
import type { Json } from '../lists.js';
import { EXCHANGE_TYPES, nodeName, PRODUCT_NAME, RABBITMQ_API_VERSION } from './identity.js';
import { churnRates, lengthsJson, messageStatsOver } from './stats.js';

/** RabbitMQ's sample retention (seconds of history per rates mode); warren keeps rates only. */
const SAMPLE_RETENTION = { global: [600, 3600, 28800, 86400], basic: [600, 3600], detailed: [600] };

export function overviewOf(ctx: ManagementContext, user: User): Json {
  const broker = ctx.broker;
  const node = nodeName();
  const vhosts = visibleVhosts(broker, user);
  let queues = 0;
  let exchanges = 0;
  let consumers = 0;
  let ready = 0;
  let unacked = 0;
  for (const name of vhosts) {
    const v = broker.vhosts.get(name);
    if (v === undefined) continue;
    exchanges += v.exchanges.size;
    for (const q of v.queues.values()) {
      queues++;
      consumers += q.consumerCount;
      ready += q.depth;
      unacked += q.unacked;
    }
  }
  const inVhosts = new Set(vhosts);
  const connections = broker.clients.list().filter((c) => inVhosts.has(c.vhostName));
  const listeners = ctx.listeners();
  return {
    management_version: RABBITMQ_API_VERSION,
    rates_mode: 'basic',
    sample_retention_policies: SAMPLE_RETENTION,
    exchange_types: EXCHANGE_TYPES,
    product_version: ctx.productVersion,
    product_name: PRODUCT_NAME,
    rabbitmq_version: RABBITMQ_API_VERSION,
    cluster_name: broker.access.clusterName,
    erlang_version: process.versions.node,
    erlang_full_version: `Node.js ${process.version} (${process.platform} ${process.arch})`,
    release_series_support_status: 'supported',
    disable_stats: false,
    enable_queue_totals: false,
    message_stats: messageStatsOver(broker, isMonitor(user) ? 'all' : vhosts),
    churn_rates: churnRates(broker),
    queue_totals: lengthsJson(ready, unacked),
    object_totals: { channels: channelsIn(broker, inVhosts), connections: connections.length, consumers, exchanges, queues },
    statistics_db_event_queue: 0,
    node,
    listeners: listeners.map((l) => ({ node, protocol: l.protocol, ip_address: l.ip, port: l.port })),
    contexts: ctx.contexts().map((c) => ({ node, description: 'RabbitMQ Management', path: '/', ip: c.ip, port: String(c.port) })),
  };
}

function channelsIn(broker: ManagementContext['broker'], vhosts: ReadonlySet<string>): number {
  let n = 0;
  for (const c of broker.stats.channels) if (vhosts.has(c.identity.vhost)) n++;
  return n;
}
