// Vhost limits (max-connections, max-queues) and user limits (max-connections, max-channels):
// `[{vhost|user, value: {...}}]` lists, PUT `{"value": N}` and DELETE per limit, both always 204.

import type { FastifyInstance } from 'fastify';
import { bodyOf, objectSchema, requireKeys } from '../body.js';
import { noContent, type ManagementContext } from '../context.js';
import { domainCall } from '../domain-errors.js';
import { badRequest, notFound } from '../errors.js';
import { listReply } from '../lists.js';

const VALUE_BODY = objectSchema({ value: { type: 'integer' } });

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const broker = ctx.broker;
  const access = broker.access;
  const vhostEntry = (vhost: string): { vhost: string; value: Record<string, number> } => ({ vhost, value: { ...access.vhostLimits(vhost) } });
  const userEntry = (user: string): { user: string; value: Record<string, number> } => ({ user, value: { ...access.userLimits(user) } });
  const nonEmpty = (e: { value: object }): boolean => Object.keys(e.value).length > 0;

  ctx.route(app, {
    method: 'GET',
    url: '/api/vhost-limits',
    auth: 'monitoring',
    handler: (req) => listReply(req.query, { items: [...broker.vhosts.keys()].map(vhostEntry).filter(nonEmpty), render: (e) => ({ ...e }), pageable: false }),
  });
  ctx.route(app, {
    method: 'GET',
    url: '/api/vhost-limits/:vhost',
    auth: 'monitoring',
    handler: (req) => {
      const name = req.params['vhost'] as string;
      if (!broker.vhosts.has(name)) throw notFound();
      return [vhostEntry(name)].filter(nonEmpty);
    },
  });
  ctx.route(app, {
    method: 'PUT',
    url: '/api/vhost-limits/:vhost/:name',
    auth: 'administrator',
    body: VALUE_BODY,
    handler: async (req) => {
      const b = bodyOf(req.body);
      requireKeys(b, 'value');
      const name = req.params['name'] as string;
      await domainCall(() => access.setVhostLimits(req.params['vhost'] as string, { [name]: b['value'] as number }));
      return noContent();
    },
  });
  ctx.route(app, {
    method: 'DELETE',
    url: '/api/vhost-limits/:vhost/:name',
    auth: 'administrator',
    handler: async (req) => {
      await domainCall(() => access.clearVhostLimit(req.params['vhost'] as string, req.params['name'] as string));
      return noContent();
    },
  });

  ctx.route(app, {
    method: 'GET',
    url: '/api/user-limits',
    auth: 'monitoring',
    handler: (req) => listReply(req.query, { items: broker.users.list().map((u) => userEntry(u.name)).filter(nonEmpty), render: (e) => ({ ...e }), pageable: false }),
  });
  ctx.route(app, {
    method: 'GET',
    url: '/api/user-limits/:user',
    auth: 'monitoring',
    handler: (req) => {
      const name = req.params['user'] as string;
      if (broker.users.get(name) === undefined) throw notFound();
      return [userEntry(name)].filter(nonEmpty);
    },
  });
  ctx.route(app, {
    method: 'PUT',
    url: '/api/user-limits/:user/:name',
    auth: 'administrator',
    body: VALUE_BODY,
    handler: async (req) => {
      const b = bodyOf(req.body);
      requireKeys(b, 'value');
      const user = req.params['user'] as string;
      if (broker.users.get(user) === undefined) throw badRequest('user_not_found');
      await domainCall(() => access.setUserLimits(user, { [req.params['name'] as string]: b['value'] as number }));
      return noContent();
    },
  });
  ctx.route(app, {
    method: 'DELETE',
    url: '/api/user-limits/:user/:name',
    auth: 'administrator',
    handler: async (req) => {
      await domainCall(() => access.clearUserLimit(req.params['user'] as string, req.params['name'] as string));
      return noContent();
    },
  });
}
