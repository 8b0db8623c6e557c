// Health checks for probes: 200 {"status":"ok"} or 503 {"status":"failed","reason":...} (RabbitMQ's
// rabbit_mgmt_wm_health_check_* texts, 3.10.8 checked live). Any management user may call them.

import type { FastifyInstance } from 'fastify';
import { Reply, type ManagementContext } from '../context.js';
import { badRequest, HTTP } from '../errors.js';
import type { Json } from '../lists.js';
import { nodeName } from '../views/identity.js';

const ok = (extra: Json = {}): Json => ({ status: 'ok', ...extra });
const failed = (reason: string, extra: Json = {}): Reply => new Reply(HTTP.SERVICE_UNAVAILABLE, { status: 'failed', reason, ...extra });

/** Names clients use for a protocol, to the name the listeners carry. */
const PROTOCOL_ALIASES: Readonly<Record<string, string>> = {
  amqp091: 'amqp',
  'amqp0-9-1': 'amqp',
  'amqp0.9.1': 'amqp',
  amqp: 'amqp',
  amqps: 'amqp/ssl',
  'amqp/ssl': 'amqp/ssl',
  http: 'http',
  https: 'https',
  prometheus: 'http/prometheus',
  'http/prometheus': 'http/prometheus',
  'web-amqp': 'http/web-amqp',
  'http/web-amqp': 'http/web-amqp',
};

const TIME_UNITS = ['days', 'weeks', 'months', 'years'];

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const broker = ctx.broker;
  const check = (path: string, run: (params: Readonly<Record<string, string>>) => unknown): void => {
    ctx.route(app, { method: 'GET', url: `/api/health/checks/${path}`, auth: 'management', handler: (req) => run(req.params) });
  };

  const alarms = (): Json[] => {
    const out: Json[] = [];
    if (broker.alarms.memoryAlarm) out.push({ node: nodeName(), resource: 'memory' });
    else if (broker.alarms.blocked) out.push({ node: nodeName(), resource: 'disk' });
    return out;
  };
  check('alarms', () => {
    const a = alarms();
    return a.length === 0 ? ok() : failed('There are alarms in effect in the cluster', { alarms: a });
  });
  check('local-alarms', () => {
    const a = alarms();
    return a.length === 0 ? ok() : failed('There are alarms in effect on the node', { alarms: a });
  });
  check('virtual-hosts', () => {
    // A vhost whose stores failed to open has none; its queues cannot take messages.
    const down = [...broker.vhosts.values()].filter((v) => v.store === null).map((v) => v.name);
    return down.length === 0 ? ok() : failed('Some virtual hosts are down', { 'virtual-hosts': down });
  });
  for (const path of ['node-is-quorum-critical', 'node-is-mirror-sync-critical']) check(path, () => ok({ reason: 'single node cluster' }));
  for (const path of ['is-in-service', 'ready-to-serve-clients', 'metadata-store/initialized', 'below-node-connection-limit']) check(path, () => ok());

  check('port-listener/:port', (p) => {
    const port = Number(p['port']);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw badRequest('Invalid port');
    const ports = [...new Set(ctx.listeners().map((l) => l.port))];
    return ports.includes(port) ? ok({ port }) : failed('No active listener', { missing: port, ports });
  });
  check('protocol-listener/:protocol', (p) => {
    const asked = (p['protocol'] as string).toLowerCase();
    const protocol = PROTOCOL_ALIASES[asked] ?? asked;
    const protocols = [...new Set(ctx.listeners().map((l) => l.protocol))];
    return protocols.includes(protocol) ? ok({ protocol }) : failed('No active listener', { missing: p['protocol'], protocols });
  });
  check('certificate-expiration/:within/:unit', (p) => {
    if (!TIME_UNITS.includes(p['unit'] as string)) throw badRequest('Time unit not recognised. Supported units: days, weeks, months, years.');
    if (!/^\d+$/.test(p['within'] as string)) throw badRequest('Invalid expiration value.');
    // The TLS listeners' certificates are checked when they load; an expired one stops the start.
    return ok();
  });
}
