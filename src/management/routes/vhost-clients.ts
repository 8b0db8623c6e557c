// A vhost's connections and channels (GET /api/vhosts/{v}/connections, /channels): everyone's
// for monitors, else the user's own, as RabbitMQ filters them. The rows are the broker's
// connection and channel infos (RabbitMQ's field names) plus the node name.

import type { FastifyInstance } from 'fastify';
import type { ClientConnection } from '../../broker/clients.js';
import type { User } from '../../broker/auth/users.js';
import { isMonitor } from '../auth.js';
import type { ManagementContext } from '../context.js';
import { notFound } from '../errors.js';
import { listReply } from '../lists.js';
import { nodeName } from '../views/identity.js';

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const broker = ctx.broker;
  const connections = (vhost: string, user: User): ClientConnection[] => {
    if (!broker.vhosts.has(vhost)) throw notFound();
    const all = broker.clients.inVhost(vhost);
    return isMonitor(user) ? all : all.filter((c) => c.user === user.name);
  };

  ctx.route(app, {
    method: 'GET',
    url: '/api/vhosts/:vhost/connections',
    auth: 'management',
    vhostParam: 'vhost',
    handler: (req) =>
      listReply(req.query, {
        items: connections(req.params['vhost'] as string, req.user),
        render: (c) => ({ ...c.info(), node: nodeName() }),
        keys: { name: (c) => c.name },
        defaultSort: ['name'],
      }),
  });

  ctx.route(app, {
    method: 'GET',
    url: '/api/vhosts/:vhost/channels',
    auth: 'management',
    vhostParam: 'vhost',
    handler: (req) => {
      const channels = connections(req.params['vhost'] as string, req.user).flatMap((c) => c.channelInfos());
      return listReply(req.query, {
        items: channels,
        render: (ch) => ({ ...ch, node: nodeName() }),
        keys: { name: (ch) => ch.name },
        defaultSort: ['name'],
      });
    },
  });
}
