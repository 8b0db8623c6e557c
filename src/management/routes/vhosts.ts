// Virtual hosts: list (every vhost for monitors, else those with permissions), one vhost
// (GET/PUT/DELETE, administrator), and the permissions and topic permissions granted in a vhost.

import type { FastifyInstance } from 'fastify';
import { isAdministrator, SOCKET_ADMIN, visibleVhosts } from '../auth.js';
import { bodyOf, objectSchema, stringField, TAGS_SCHEMA } from '../body.js';
import { created, noContent, type ManagementContext } from '../context.js';
import { domainCall } from '../domain-errors.js';
import { notFound } from '../errors.js';
import { listReply, objectReply } from '../lists.js';
import { permissionJson, topicPermissionJson, vhostJson } from '../views/access.js';

const VHOST_BODY = objectSchema({
  description: { type: 'string' },
  tags: TAGS_SCHEMA,
  default_queue_type: { type: 'string' },
  tracing: { type: 'boolean' },
});

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const broker = ctx.broker;
  const exists = (name: string): boolean => broker.vhosts.has(name);

  ctx.route(app, {
    method: 'GET',
    url: '/api/vhosts',
    auth: 'management',
    handler: (req) =>
      listReply(req.query, {
        items: visibleVhosts(broker, req.user),
        render: (v) => vhostJson(broker, v),
        keys: { name: (v) => v },
        defaultSort: ['name'],
      }),
  });

  ctx.route(app, {
    method: 'GET',
    url: '/api/vhosts/:vhost',
    auth: 'administrator',
    handler: (req) => {
      const name = req.params['vhost'] as string;
      if (!exists(name)) throw notFound();
      return objectReply(req.query, vhostJson(broker, name));
    },
  });

  ctx.route(app, {
    method: 'PUT',
    url: '/api/vhosts/:vhost',
    auth: 'administrator',
    body: VHOST_BODY,
    handler: async (req) => {
      const name = req.params['vhost'] as string;
      const b = bodyOf(req.body);
      const outcome = await domainCall(() =>
        broker.access.putVhost(name, {
          description: stringField(b, 'description'),
          tags: b['tags'] as string | string[] | undefined,
          defaultQueueType: stringField(b, 'default_queue_type'),
        }),
      );
      if (outcome === 'updated') return noContent();
      // RabbitMQ gives the creating user full permissions in the new vhost.
      if (req.user !== SOCKET_ADMIN && isAdministrator(req.user) && broker.permissions.get(req.user.name, name) === undefined) {
        await domainCall(() => broker.access.setPermissions(req.user.name, name, { configure: '.*', write: '.*', read: '.*' }));
      }
      return created();
    },
  });

  ctx.route(app, {
    method: 'DELETE',
    url: '/api/vhosts/:vhost',
    auth: 'administrator',
    handler: async (req) => {
      const deleted = await domainCall(() => broker.access.deleteVhost(req.params['vhost'] as string));
      if (!deleted) throw notFound();
      return noContent();
    },
  });

  ctx.route(app, {
    method: 'GET',
    url: '/api/vhosts/:vhost/permissions',
    auth: 'administrator',
    handler: (req) => {
      const name = req.params['vhost'] as string;
      if (!exists(name)) throw notFound();
      return listReply(req.query, { items: broker.permissions.list().filter((p) => p.vhost === name), render: permissionJson, pageable: false });
    },
  });

  ctx.route(app, {
    method: 'GET',
    url: '/api/vhosts/:vhost/topic-permissions',
    auth: 'administrator',
    handler: (req) => {
      const name = req.params['vhost'] as string;
      if (!exists(name)) throw notFound();
      return listReply(req.query, { items: broker.permissions.listTopic().filter((p) => p.vhost === name), render: topicPermissionJson, pageable: false });
    },
  });
}
