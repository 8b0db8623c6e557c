// /api/consumers[/{vhost}]: every consumer in the vhosts the user may see, with the fields
// strict readers require (consumer_timeout, queue{name,vhost}, channel_details).

import type { FastifyInstance } from 'fastify';
import type { ConsumerInfo } from '../../broker/clients.js';
import type { ApiRequest, ManagementContext, RouteSpec } from '../context.js';
import { listReply, type Json } from '../lists.js';
import { nodeName } from '../views/identity.js';
import { listedVhosts } from './object-helpers.js';

function consumerJson(c: ConsumerInfo): Json {
  return { ...c, channel_details: { ...c.channel_details, node: nodeName() } };
}

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const broker = ctx.broker;
  const list = (vhost: string | undefined): RouteSpec => ({
    method: 'GET',
    url: vhost === undefined ? '/api/consumers' : '/api/consumers/:vhost',
    auth: 'management',
    ...(vhost === undefined ? {} : { vhostParam: 'vhost' }),
    handler: (req: ApiRequest) => {
      const items: ConsumerInfo[] = [];
      // As RabbitMQ: every consumer in the vhosts the user may see, whoever's connection holds it.
      for (const v of listedVhosts(broker, req.user, req.params['vhost'])) {
        for (const c of broker.clients.inVhost(v.name)) items.push(...c.consumerInfos());
      }
      return listReply(req.query, {
        items,
        render: consumerJson,
        keys: { consumer_tag: (c) => c.consumer_tag, 'queue.name': (c) => c.queue.name, 'queue.vhost': (c) => c.queue.vhost },
        pageable: false,
      });
    },
  });
  ctx.route(app, list(undefined));
  ctx.route(app, list('vhost'));
}
