// warren's own queue operations, beyond RabbitMQ's API (under /api/warren/):
//   GET  /api/warren/queues/{v}/{q}/peek?count=&encoding=&truncate=   look without taking
//   POST /api/warren/queues/{v}/{q}/move  {target?, count?}            move ready messages (default:
//        each dead-lettered one back to the queue it died in); crash-safe per message
//   PUT  /api/warren/queues/{v}/{q}/pause | resume                     stop/restart deliveries to consumers
//        (in memory: a restart resumes every queue)
//   GET  /api/warren/queues/{v}/{q}/unacked                           deliveries awaiting their ack: who holds
//        them (connection, channel, consumer tag) and for how long

import type { FastifyInstance } from 'fastify';
import { moveMessages } from '../../broker/ops/move.js';
import { peekMessages } from '../../broker/ops/queue-get.js';
import type { Queue } from '../../broker/queue/queue.js';
import type { VHost } from '../../broker/vhost.js';
import { amqp } from '../amqp-errors.js';
import { noContent, type ApiRequest, type ManagementContext } from '../context.js';
import { badRequest } from '../errors.js';
import { listReply, queryParam } from '../lists.js';
import { nodeName } from '../views/identity.js';
import { accessOf, API_OWNER, queueOf, bodyObject } from './object-helpers.js';

const PREFIX = '/api/warren/queues/:vhost/:name';
/** Most messages one peek shows (each is rendered with its payload). */
const MAX_PEEK = 10_000;

function intParam(v: unknown, key: string, dflt: number | undefined): number | undefined {
  if (v === undefined || v === '') return dflt;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw badRequest(`${key} must be a non-negative integer`);
  return n;
}

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const broker = ctx.broker;
  const target = (req: ApiRequest): { v: VHost; q: Queue } => queueOf(broker, req.params);

  ctx.route(app, {
    method: 'GET',
    url: `${PREFIX}/peek`,
    auth: 'management',
    vhostParam: 'vhost',
    handler: (req) => {
      const { v, q } = target(req);
      const count = Math.min(intParam(queryParam(req.query, 'count'), 'count', 1) ?? 1, MAX_PEEK);
      const encoding = queryParam(req.query, 'encoding') ?? 'auto';
      if (encoding !== 'auto' && encoding !== 'base64') throw badRequest('Unsupported encoding. Please use auto or base64.');
      const truncate = intParam(queryParam(req.query, 'truncate'), 'truncate', undefined);
      return amqp(() => {
        accessOf(broker, req.user, v.name).check('read', 'queue', q.name);
        return peekMessages(v, q.name, { count, encoding, truncate }, API_OWNER);
      });
    },
  });

  ctx.route(app, {
    method: 'POST',
    url: `${PREFIX}/move`,
    auth: 'management',
    vhostParam: 'vhost',
    handler: async (req) => {
      const { v, q } = target(req);
      const body = bodyObject(req.body);
      const to = body['target'];
      if (to !== undefined && to !== null && typeof to !== 'string') throw badRequest('target must be a queue name');
      const count = intParam(body['count'], 'count', undefined);
      const access = accessOf(broker, req.user, v.name);
      return amqp(() => {
        // Taking from the source is a read; each copy is a write to its target.
        access.check('read', 'queue', q.name);
        return moveMessages(v, q.name, { target: to ?? undefined, count, mayWrite: (name) => access.allowed('write', 'queue', name) }, API_OWNER);
      });
    },
  });

  for (const op of ['pause', 'resume'] as const) {
    ctx.route(app, {
      method: 'PUT',
      url: `${PREFIX}/${op}`,
      auth: 'management',
      vhostParam: 'vhost',
      handler: async (req) => {
        const { v, q } = target(req);
        await amqp(() => accessOf(broker, req.user, v.name).check('configure', 'queue', q.name));
        if (op === 'pause') q.pause();
        else q.resume();
        return noContent();
      },
    });
  }

  ctx.route(app, {
    method: 'GET',
    url: `${PREFIX}/unacked`,
    auth: 'management',
    vhostParam: 'vhost',
    handler: (req) => {
      const { v, q } = target(req);
      const now = broker.clock.now();
      const node = nodeName();
      return listReply(req.query, {
        items: broker.clients.unackedIn(v.name, q),
        render: (u) => ({ ...u, node, age_ms: Math.max(0, now - u.delivered_at) }),
        keys: { delivered_at: (u) => u.delivered_at, connection_name: (u) => u.connection_name, consumer_tag: (u) => u.consumer_tag ?? '' },
      });
    },
  });
}
