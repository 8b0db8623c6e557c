// /api/exchanges: list (the default exchange listed with name ""), one exchange, declare (PUT),
// delete (?if-unused), publish (POST …/publish) and an exchange's bindings either way.

import type { FastifyInstance } from 'fastify';
import { checkExchangeDeclare, checkExchangeDelete } from '../../broker/auth/resource-access.js';
import { DEFAULT_EXCHANGE_ALIAS, publishFromApi } from '../../broker/ops/api-publish.js';
import { jsonTable } from '../../broker/ops/message-json.js';
import type { Exchange } from '../../broker/exchange/exchange.js';
import type { VHost } from '../../broker/vhost.js';
import { refusalOf } from '../../broker/ops/refusal.js';
import { amqp } from '../amqp-errors.js';
import { created, noContent, type ApiRequest, type ManagementContext, type RouteSpec } from '../context.js';
import { badRequest } from '../errors.js';
import { listReply, objectReply, queryFlag } from '../lists.js';
import { bindingJson, exchangeBindings, exchangeJson } from '../views/objects.js';
import { accessOf, argumentsField, bodyObject, boolField, definitionsDurable, listedVhosts, notFound, statsSwitches, vhostOf } from './object-helpers.js';

/** The exchange a path names; `amq.default` is the default exchange. */
export function exchangeName(segment: string): string {
  return segment === DEFAULT_EXCHANGE_ALIAS ? '' : segment;
}

function exchangeIn(v: VHost, segment: string): Exchange {
  const e = v.exchanges.get(exchangeName(segment));
  if (e === undefined) throw notFound();
  return e;
}

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const broker = ctx.broker;

  const list = (vhost: string | undefined): RouteSpec => ({
    method: 'GET',
    url: vhost === undefined ? '/api/exchanges' : '/api/exchanges/:vhost',
    auth: 'management',
    ...(vhost === undefined ? {} : { vhostParam: 'vhost' }),
    handler: (req: ApiRequest) => {
      const sw = statsSwitches(req.query);
      const items: { v: VHost; e: Exchange }[] = [];
      for (const v of listedVhosts(broker, req.user, req.params['vhost'])) for (const e of v.exchanges.values()) items.push({ v, e });
      return listReply(req.query, {
        items,
        render: (i) => exchangeJson(i.v, i.e, sw),
        keys: { name: (i) => i.e.name, vhost: (i) => i.v.name, type: (i) => i.e.type },
        defaultSort: ['vhost', 'name'],
      });
    },
  });
  ctx.route(app, list(undefined));
  ctx.route(app, list('vhost'));

  ctx.route(app, {
    method: 'GET',
    url: '/api/exchanges/:vhost/:name',
    auth: 'management',
    vhostParam: 'vhost',
    handler: (req) => {
      const v = vhostOf(broker, req.params['vhost'] as string);
      // The detail view carries per-channel flows in RabbitMQ; warren has none to show.
      return objectReply(req.query, { ...exchangeJson(v, exchangeIn(v, req.params['name'] as string), statsSwitches(req.query)), incoming: [], outgoing: [] });
    },
  });

  ctx.route(app, {
    method: 'PUT',
    url: '/api/exchanges/:vhost/:name',
    auth: 'management',
    vhostParam: 'vhost',
    handler: async (req) => {
      const v = vhostOf(broker, req.params['vhost'] as string);
      const name = exchangeName(req.params['name'] as string);
      const body = bodyObject(req.body);
      const type = body['type'] ?? 'direct';
      if (typeof type !== 'string') throw badRequest('type must be a string');
      const existed = v.exchanges.has(name);
      const args = jsonTable(argumentsField(body));
      await amqp(() => {
        checkExchangeDeclare(accessOf(broker, req.user, v.name), v, name, args);
        v.declareExchange(name, type, {
          passive: false,
          durable: boolField(body, 'durable', true),
          autoDelete: boolField(body, 'auto_delete', false),
          internal: boolField(body, 'internal', false),
          args,
        });
      });
      await definitionsDurable(v);
      return existed ? noContent() : created();
    },
  });

  ctx.route(app, {
    method: 'DELETE',
    url: '/api/exchanges/:vhost/:name',
    auth: 'management',
    vhostParam: 'vhost',
    handler: async (req) => {
      const v = vhostOf(broker, req.params['vhost'] as string);
      const e = exchangeIn(v, req.params['name'] as string);
      await amqp(() => {
        checkExchangeDelete(accessOf(broker, req.user, v.name), e.name);
        v.deleteExchange(e.name, queryFlag(req.query, 'if-unused'));
      });
      await definitionsDurable(v);
      return noContent();
    },
  });

  ctx.route(app, {
    method: 'POST',
    url: '/api/exchanges/:vhost/:name/publish',
    auth: 'management',
    vhostParam: 'vhost',
    handler: async (req) => {
      const v = vhostOf(broker, req.params['vhost'] as string);
      const name = exchangeName(req.params['name'] as string);
      try {
        // The publish checks write on the exchange (and topic write) itself, as basic.publish does.
        return await publishFromApi(v, name, req.body, { user: req.user, access: accessOf(broker, req.user, v.name), maxMessageSize: broker.config.maxMessageSize });
      } catch (err) {
        // The channel's refusal comes back whole, code first (3.10.8: "404 NOT_FOUND - no exchange 'x' in vhost '/'").
        const r = refusalOf(err);
        if (r !== null && r.kind !== 'access_refused') throw badRequest(`${r.replyCode} ${r.replyText}`);
        return amqp(() => {
          throw err;
        });
      }
    },
  });

  for (const side of ['source', 'destination'] as const) {
    ctx.route(app, {
      method: 'GET',
      url: `/api/exchanges/:vhost/:name/bindings/${side}`,
      auth: 'management',
      vhostParam: 'vhost',
      handler: (req) => {
        const v = vhostOf(broker, req.params['vhost'] as string);
        const e = exchangeIn(v, req.params['name'] as string);
        return listReply(req.query, { items: exchangeBindings(v, e, side), render: bindingJson, pageable: false });
      },
    });
  }
}
