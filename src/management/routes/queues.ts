// /api/queues: list (paged, sorted, filtered server-side), one queue with its consumers, declare
// (PUT: 201 created, 204 existing, 400 with the AMQP text when not equivalent), delete
// (?if-empty, ?if-unused), purge (DELETE …/contents), get (POST …/get) and a queue's bindings.

import type { FastifyInstance } from 'fastify';
import { queueDeclareGuard } from '../../broker/auth/resource-access.js';
import { getMessages, parseGetRequest } from '../../broker/ops/queue-get.js';
import { jsonTable } from '../../broker/ops/message-json.js';
import type { Queue } from '../../broker/queue/queue.js';
import type { VHost } from '../../broker/vhost.js';
import { amqp } from '../amqp-errors.js';
import { created, noContent, type ApiRequest, type ManagementContext, type RouteSpec } from '../context.js';
import { listReply, objectReply, queryFlag } from '../lists.js';
import { bindingJson, consumersOfQueue, queueBindings, queueJson } from '../views/objects.js';
import { nodeName } from '../views/identity.js';
import { accessOf, API_OWNER, queueOf, argumentsField, bodyObject, boolField, definitionsDurable, listedVhosts, statsSwitches, vhostOf } from './object-helpers.js';

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const broker = ctx.broker;

  const list = (vhost: string | undefined): RouteSpec => ({
    method: 'GET',
    url: vhost === undefined ? '/api/queues' : '/api/queues/:vhost',
    auth: 'management',
    ...(vhost === undefined ? {} : { vhostParam: 'vhost' }),
    handler: (req: ApiRequest) => {
      const vhosts = listedVhosts(broker, req.user, req.params['vhost']);
      const sw = statsSwitches(req.query);
      const items: { v: VHost; q: Queue }[] = [];
      for (const v of vhosts) for (const q of v.queues.values()) items.push({ v, q });
      return listReply(req.query, {
        items,
        render: (i) => queueJson(i.v, i.q, sw),
        keys: { name: (i) => i.q.name, vhost: (i) => i.v.name, messages: (i) => i.q.depth + i.q.unacked, messages_ready: (i) => i.q.depth, consumers: (i) => i.q.consumerCount },
        defaultSort: ['vhost', 'name'],
      });
    },
  });
  ctx.route(app, list(undefined));
  ctx.route(app, list('vhost'));
  // RabbitMQ 3.13+ trimmed /api/queues and moved the full objects here (rabbitmqadmin v2 and the
  // kbudde exporter read it); warren's list items are already full, so it is the same list.
  ctx.route(app, { ...list(undefined), url: '/api/queues/detailed' });

  ctx.route(app, {
    method: 'GET',
    url: '/api/queues/:vhost/:name',
    auth: 'management',
    vhostParam: 'vhost',
    handler: (req) => {
      const { v, q } = queueOf(broker, req.params);
      const node = nodeName();
      const o = queueJson(v, q, statsSwitches(req.query));
      o['consumer_details'] = consumersOfQueue(broker, v.name, q.name).map((c) => ({ ...c, channel_details: { ...c.channel_details, node } }));
      return objectReply(req.query, o);
    },
  });

  ctx.route(app, {
    method: 'PUT',
    url: '/api/queues/:vhost/:name',
    auth: 'management',
    vhostParam: 'vhost',
    handler: async (req) => {
      const v = vhostOf(broker, req.params['vhost'] as string);
      const name = req.params['name'] as string;
      const body = bodyObject(req.body);
      const args = jsonTable(argumentsField(body));
      // RabbitMQ 3.10 takes the queue type from the arguments; `type` (rabbitmqadmin's queue_type) fills it in.
      const type = body['type'];
      if (typeof type === 'string' && type !== '' && args['x-queue-type'] === undefined && type !== 'classic') args['x-queue-type'] = type;
      const existed = v.queues.has(name);
      await amqp(() => {
        // As queue.declare: configure, then the vhost's max-queues and the DLX's permissions for a new queue.
        const guard = queueDeclareGuard(accessOf(broker, req.user, v.name), broker.limits.vhost(v.name));
        v.declareQueue(name, { passive: false, durable: boolField(body, 'durable', true), exclusive: false, autoDelete: boolField(body, 'auto_delete', false), args }, API_OWNER, guard);
      });
      await definitionsDurable(v);
      return existed ? noContent() : created();
    },
  });

  ctx.route(app, {
    method: 'DELETE',
    url: '/api/queues/:vhost/:name',
    auth: 'management',
    vhostParam: 'vhost',
    handler: async (req) => {
      const { v, q } = queueOf(broker, req.params);
      await amqp(() => {
        accessOf(broker, req.user, v.name).check('configure', 'queue', q.name);
        v.deleteQueue(q.name, queryFlag(req.query, 'if-unused'), queryFlag(req.query, 'if-empty'), API_OWNER);
      });
      await definitionsDurable(v);
      return noContent();
    },
  });

  ctx.route(app, {
    method: 'DELETE',
    url: '/api/queues/:vhost/:name/contents',
    auth: 'management',
    vhostParam: 'vhost',
    handler: async (req) => {
      const { v, q } = queueOf(broker, req.params);
      await amqp(() => {
        accessOf(broker, req.user, v.name).check('read', 'queue', q.name);
        v.purgeQueue(q.name, API_OWNER);
      });
      return noContent();
    },
  });

  ctx.route(app, {
    method: 'POST',
    url: '/api/queues/:vhost/:name/get',
    auth: 'management',
    vhostParam: 'vhost',
    handler: (req) => {
      const v = vhostOf(broker, req.params['vhost'] as string);
      const name = req.params['name'] as string;
      // A missing queue keeps its AMQP wording here (3.10.8: 404 "NOT_FOUND - no queue 'q' in vhost '/'").
      return amqp(
        () => {
          const r = parseGetRequest(req.body);
          accessOf(broker, req.user, v.name).check('read', 'queue', name);
          return getMessages(v, name, r, API_OWNER);
        },
        (e) => e.replyText,
      );
    },
  });

  ctx.route(app, {
    method: 'GET',
    url: '/api/queues/:vhost/:name/bindings',
    auth: 'management',
    vhostParam: 'vhost',
    handler: (req) => {
      const { v, q } = queueOf(broker, req.params);
      return listReply(req.query, { items: queueBindings(v, q), render: bindingJson, pageable: false });
    },
  });
}

