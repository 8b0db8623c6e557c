// /api/bindings: all bindings (the default exchange's listed too), those between a source and a
// destination, create (POST → 201 + Location `<destination>/<properties_key>`), read and delete one
// by its properties_key.

import type { FastifyInstance } from 'fastify';
import { checkBinding } from '../../broker/auth/resource-access.js';
import { jsonTable } from '../../broker/ops/message-json.js';
import type { Destination } from '../../broker/exchange/exchange.js';
import type { VHost } from '../../broker/vhost.js';
import { amqp } from '../amqp-errors.js';
import { created, noContent, type ApiRequest, type ManagementContext, type RouteSpec } from '../context.js';
import { badRequest } from '../errors.js';
import { listReply, objectReply } from '../lists.js';
import { bindingJson, bindingsBetween, matchesPropertiesKey, propertiesKey, vhostBindings, type BindingRow } from '../views/objects.js';
import { accessOf, API_OWNER, argumentsField, bodyObject, definitionsDurable, listedVhosts, notFound, vhostOf } from './object-helpers.js';
import { exchangeName } from './exchanges.js';

type Kind = 'q' | 'e';

function kindOf(segment: string | undefined): Kind {
  if (segment === 'q' || segment === 'e') return segment;
  throw notFound();
}

/** The source and destination a path names, both existing (404 otherwise). */
function endsOf(v: VHost, params: Readonly<Record<string, string>>): { rows: BindingRow[] } {
  const src = v.exchanges.get(exchangeName(params['source'] as string));
  const kind = kindOf(params['kind']);
  const dst: Destination | undefined = kind === 'q' ? v.queues.get(params['destination'] as string) : v.exchanges.get(exchangeName(params['destination'] as string));
  if (src === undefined || dst === undefined) throw notFound();
  return { rows: bindingsBetween(v, src, dst) };
}

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const broker = ctx.broker;

  const list = (vhost: string | undefined): RouteSpec => ({
    method: 'GET',
    url: vhost === undefined ? '/api/bindings' : '/api/bindings/:vhost',
    auth: 'management',
    ...(vhost === undefined ? {} : { vhostParam: 'vhost' }),
    handler: (req: ApiRequest) => {
      const items: BindingRow[] = [];
      for (const v of listedVhosts(broker, req.user, req.params['vhost'])) for (const b of vhostBindings(v)) items.push(b);
      return listReply(req.query, {
        items,
        render: bindingJson,
        keys: { vhost: (b) => b.vhost, source: (b) => b.source, destination: (b) => b.destination, routing_key: (b) => b.routingKey },
        pageable: false,
      });
    },
  });
  ctx.route(app, list(undefined));
  ctx.route(app, list('vhost'));

  const between = '/api/bindings/:vhost/e/:source/:kind/:destination';

  ctx.route(app, {
    method: 'GET',
    url: between,
    auth: 'management',
    vhostParam: 'vhost',
    handler: (req) => {
      const v = vhostOf(broker, req.params['vhost'] as string);
      return listReply(req.query, { items: endsOf(v, req.params).rows, render: bindingJson, pageable: false });
    },
  });

  ctx.route(app, {
    method: 'POST',
    url: between,
    auth: 'management',
    vhostParam: 'vhost',
    handler: async (req) => {
      const v = vhostOf(broker, req.params['vhost'] as string);
      const kind = kindOf(req.params['kind']);
      const source = exchangeName(req.params['source'] as string);
      const destination = req.params['destination'] as string;
      const body = bodyObject(req.body);
      const key = body['routing_key'] ?? '';
      if (typeof key !== 'string') throw badRequest('routing_key must be a string');
      const args = jsonTable(argumentsField(body));
      await amqp(() => {
        // As queue.bind / exchange.bind (0: no AMQP method to name in the refusal).
        checkBinding(accessOf(broker, req.user, v.name), v, kind === 'q' ? 'queue' : 'exchange', kind === 'q' ? destination : exchangeName(destination), source, key, 0);
        if (kind === 'q') v.bindQueue(destination, source, key, args, API_OWNER);
        else v.bindExchange(exchangeName(destination), source, key, args);
      });
      await definitionsDurable(v);
      // Relative, as RabbitMQ sends it; clients take the last segment as the properties_key.
      return created({ location: `${encodeURIComponent(destination)}/${propertiesKey(key, args)}` });
    },
  });

  const one = `${between}/:props`;

  ctx.route(app, {
    method: 'GET',
    url: one,
    auth: 'management',
    vhostParam: 'vhost',
    handler: (req) => {
      const v = vhostOf(broker, req.params['vhost'] as string);
      const b = endsOf(v, req.params).rows.find((r) => matchesPropertiesKey(r, req.params['props'] as string));
      if (b === undefined) throw notFound();
      return objectReply(req.query, bindingJson(b));
    },
  });

  ctx.route(app, {
    method: 'DELETE',
    url: one,
    auth: 'management',
    vhostParam: 'vhost',
    handler: async (req) => {
      const v = vhostOf(broker, req.params['vhost'] as string);
      const b = endsOf(v, req.params).rows.find((r) => matchesPropertiesKey(r, req.params['props'] as string));
      if (b === undefined) throw notFound();
      await amqp(() => {
        checkBinding(accessOf(broker, req.user, v.name), v, b.destinationType, b.destination, b.source, b.routingKey, 0);
        if (b.destinationType === 'queue') v.unbindQueue(b.destination, b.source, b.routingKey, b.args, API_OWNER);
        else v.unbindExchange(b.destination, b.source, b.routingKey, b.args);
      });
      await definitionsDurable(v);
      return noContent();
    },
  });
}
