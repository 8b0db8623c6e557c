// Permissions and topic permissions: lists and one grant per (vhost, user[, exchange]). Administrator only.

import type { FastifyInstance } from 'fastify';
import { bodyOf, objectSchema, requireKeys, stringField } from '../body.js';
import { noContent, putResult, type ManagementContext } from '../context.js';
import { domainCall } from '../domain-errors.js';
import { notFound } from '../errors.js';
import { listReply, objectReply } from '../lists.js';
import { permissionJson, topicPermissionJson } from '../views/access.js';

const PERMISSION_BODY = objectSchema({ configure: { type: 'string' }, write: { type: 'string' }, read: { type: 'string' } });
const TOPIC_BODY = objectSchema({ exchange: { type: 'string' }, write: { type: 'string' }, read: { type: 'string' } });

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const broker = ctx.broker;

  ctx.route(app, {
    method: 'GET',
    url: '/api/permissions',
    auth: 'administrator',
    handler: (req) => listReply(req.query, { items: broker.permissions.list(), render: permissionJson, pageable: false }),
  });

  ctx.route(app, {
    method: 'GET',
    url: '/api/permissions/:vhost/:user',
    auth: 'administrator',
    handler: (req) => {
      const [vhost, user] = [req.params['vhost'] as string, req.params['user'] as string];
      const p = broker.permissions.get(user, vhost);
      if (p === undefined) throw notFound();
      return objectReply(req.query, permissionJson({ user, vhost, ...p }));
    },
  });

  ctx.route(app, {
    method: 'PUT',
    url: '/api/permissions/:vhost/:user',
    auth: 'administrator',
    body: PERMISSION_BODY,
    handler: async (req) => {
      const [vhost, user] = [req.params['vhost'] as string, req.params['user'] as string];
      const b = bodyOf(req.body);
      requireKeys(b, 'configure', 'write', 'read');
      const existed = broker.permissions.get(user, vhost) !== undefined;
      await domainCall(() =>
        broker.access.setPermissions(user, vhost, {
          configure: stringField(b, 'configure') as string,
          write: stringField(b, 'write') as string,
          read: stringField(b, 'read') as string,
        }),
      );
      return putResult(existed ? 'updated' : 'created');
    },
  });

  ctx.route(app, {
    method: 'DELETE',
    url: '/api/permissions/:vhost/:user',
    auth: 'administrator',
    handler: async (req) => {
      const cleared = await domainCall(() => broker.access.clearPermissions(req.params['user'] as string, req.params['vhost'] as string));
      if (!cleared) throw notFound();
      return noContent();
    },
  });

  ctx.route(app, {
    method: 'GET',
    url: '/api/topic-permissions',
    auth: 'administrator',
    handler: (req) => listReply(req.query, { items: broker.permissions.listTopic(), render: topicPermissionJson, pageable: false }),
  });

  ctx.route(app, {
    method: 'GET',
    url: '/api/topic-permissions/:vhost/:user',
    auth: 'administrator',
    handler: (req) => {
      const [vhost, user] = [req.params['vhost'] as string, req.params['user'] as string];
      const items = broker.permissions.listTopic().filter((p) => p.user === user && p.vhost === vhost);
      if (items.length === 0) throw notFound();
      return listReply(req.query, { items, render: topicPermissionJson, pageable: false });
    },
  });

  ctx.route(app, {
    method: 'PUT',
    url: '/api/topic-permissions/:vhost/:user',
    auth: 'administrator',
    body: TOPIC_BODY,
    handler: async (req) => {
      const [vhost, user] = [req.params['vhost'] as string, req.params['user'] as string];
      const b = bodyOf(req.body);
      requireKeys(b, 'exchange', 'write', 'read');
      const exchange = stringField(b, 'exchange') as string;
      const existed = broker.permissions.getTopic(user, vhost, exchange) !== undefined;
      await domainCall(() => broker.access.setTopicPermissions(user, vhost, exchange, { write: stringField(b, 'write') as string, read: stringField(b, 'read') as string }));
      return putResult(existed ? 'updated' : 'created');
    },
  });

  for (const url of ['/api/topic-permissions/:vhost/:user', '/api/topic-permissions/:vhost/:user/:exchange']) {
    ctx.route(app, {
      method: 'DELETE',
      url,
      auth: 'administrator',
      handler: async (req) => {
        const cleared = await domainCall(() => broker.access.clearTopicPermissions(req.params['user'] as string, req.params['vhost'] as string, req.params['exchange']));
        if (!cleared) throw notFound();
        return noContent();
      },
    });
  }
}
