// The node object (GET /api/nodes): RabbitMQ's keys, filled from the process (memory, file
// descriptors, disk) and the broker's alarms and churn. Reads of /proc are Linux-only; elsewhere
// the counts fall back to what Node.js can tell.

import { readdirSync, readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Broker } from '../../broker/broker.js';
import { brokerMemory } from '../../broker/flow.js';
import type { ManagementContext } from '../context.js';
import type { Json } from '../lists.js';
import { EXCHANGE_TYPES, nodeName } from './identity.js';

/** Linux's usual soft limit, reported when /proc cannot be read. */
const DEFAULT_FD_LIMIT = 1024;

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

function fdLimit(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m === null ? DEFAULT_FD_LIMIT : Number(m[1]);
  } catch {
    return DEFAULT_FD_LIMIT;
  }
}

export async function diskFree(broker: Broker): Promise<number> {
  try {
    const s = await statfs(broker.config.dataDir);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

export async function nodeJson(ctx: ManagementContext): Promise<Json> {
  const broker = ctx.broker;
  const memLimit = broker.alarms.memoryLimitBytes;
  const free = await diskFree(broker);
  const fdTotal = fdLimit();
  const node = nodeName();
  return {
    name: node,
    type: 'disc',
    running: true,
    being_drained: false,
    os_pid: String(process.pid),
    fd_total: fdTotal,
    fd_used: openFds(),
    // Sockets share the descriptor table; RabbitMQ reserves about 90 % of it for them.
    sockets_total: Math.floor(fdTotal * 0.9),
    sockets_used: broker.clients.size,
    mem_limit: Number.isFinite(memLimit) ? memLimit : 0,
    mem_alarm: broker.alarms.memoryAlarm,
    mem_used: brokerMemory(),
    mem_calculation_strategy: 'rss',
    disk_free_limit: broker.config.diskFreeLimit,
    disk_free: free,
    disk_free_alarm: free < broker.config.diskFreeLimit,
    // Erlang process counts have no Node.js counterpart; the event loop is one "process".
    proc_total: 1048576,
    proc_used: 1,
    run_queue: 0,
    processors: availableParallelism(),
    uptime: Math.round(process.uptime() * 1000),
    rates_mode: 'basic',
    net_ticktime: 60,
    db_dir: broker.config.dataDir,
    enabled_plugins: ['rabbitmq_management'],
    partitions: [],
    cluster_links: [],
    exchange_types: EXCHANGE_TYPES,
    auth_mechanisms: broker.config.authMechanisms.map((name) => ({ name, description: name === 'PLAIN' ? 'SASL PLAIN authentication mechanism' : 'QPid AMQPLAIN mechanism', enabled: true })),
    applications: [{ name: 'warren', description: 'warren', version: ctx.productVersion }],
    contexts: ctx.contexts().map((c) => ({ description: 'RabbitMQ Management', path: '/', ip: c.ip, port: String(c.port) })),
    log_files: ['<stdout>'],
    config_files: [],
    ...broker.stats.churn.toJson(),
  };
}

/** GET /api/nodes/{n}/memory: the process's memory by kind (Node.js's breakdown, RabbitMQ's totals). */
export function memoryJson(): Json {
  const m = process.memoryUsage();
  return {
    memory: {
      heap_used: m.heapUsed,
      heap_unused: m.heapTotal - m.heapUsed,
      external: m.external - m.arrayBuffers,
      binary: m.arrayBuffers,
      other_system: Math.max(0, m.rss - m.heapTotal - m.external),
      strategy: 'rss',
      total: { erlang: brokerMemory(), rss: m.rss, allocated: m.heapTotal + m.external },
    },
  };
}
