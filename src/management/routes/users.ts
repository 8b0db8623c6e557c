// Users: list, without-permissions, one user (GET/PUT/DELETE), bulk-delete, and a user's
// permissions and topic permissions. Administrator only, as in RabbitMQ.

import type { FastifyInstance } from 'fastify';
import { bodyOf, objectSchema, stringField, TAGS_SCHEMA } from '../body.js';
import { noContent, putResult, type ManagementContext } from '../context.js';
import { domainCall } from '../domain-errors.js';
import { badRequest, notFound } from '../errors.js';
import { listReply, objectReply } from '../lists.js';
import { permissionJson, topicPermissionJson, userJson } from '../views/access.js';

const USER_BODY = objectSchema({
  password: { type: 'string' },
  password_hash: { type: 'string' },
  hashing_algorithm: { type: 'string' },
  tags: TAGS_SCHEMA,
});

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const broker = ctx.broker;
  const byName = { name: (u: { name: string }) => u.name };

  ctx.route(app, {
    method: 'GET',
    url: '/api/users',
    auth: 'administrator',
    handler: (req) => listReply(req.query, { items: broker.users.list(), render: (u) => userJson(broker, u), keys: byName, defaultSort: ['name'], pageable: false }),
  });

  ctx.route(app, {
    method: 'GET',
    url: '/api/users/without-permissions',
    auth: 'administrator',
    handler: (req) => {
      const granted = new Set(broker.permissions.list().map((p) => p.user));
      const items = broker.users.list().filter((u) => !granted.has(u.name));
      return listReply(req.query, { items, render: (u) => userJson(broker, u), keys: byName, defaultSort: ['name'], pageable: false });
    },
  });

  ctx.route(app, {
    method: 'POST',
    url: '/api/users/bulk-delete',
    auth: 'administrator',
    body: objectSchema({ users: { type: 'array', items: { type: 'string' } } }),
    handler: async (req) => {
      const names = bodyOf(req.body)['users'];
      if (!Array.isArray(names)) throw badRequest('[{key_missing,users}]');
      // All names are checked first (RabbitMQ stops at the first unknown one, after deleting those before it).
      const unknown = (names as string[]).find((n) => broker.users.get(n) === undefined);
      if (unknown !== undefined) throw badRequest(['no_such_user', unknown]);
      for (const n of names as string[]) await domainCall(() => broker.access.deleteUser(n));
      return noContent();
    },
  });

  ctx.route(app, {
    method: 'GET',
    url: '/api/users/:user',
    auth: 'administrator',
    handler: (req) => {
      const u = broker.users.get(req.params['user'] as string);
      if (u === undefined) throw notFound();
      return objectReply(req.query, userJson(broker, u));
    },
  });

  ctx.route(app, {
    method: 'PUT',
    url: '/api/users/:user',
    auth: 'administrator',
    body: USER_BODY,
    handler: async (req) => {
      const b = bodyOf(req.body);
      // RabbitMQ requires tags (an empty string is fine): a PUT without them is a mistake.
      if (b['tags'] === undefined) throw badRequest('tags_not_present');
      const password = stringField(b, 'password');
      const passwordHash = stringField(b, 'password_hash');
      if (password !== undefined && passwordHash !== undefined) throw badRequest('both_password_and_password_hash_are_provided');
      const outcome = await domainCall(() =>
        broker.access.putUser({
          name: req.params['user'] as string,
          password,
          passwordHash,
          // rabbitmqadmin v2 sends a client-computed SHA-256 hash without naming the algorithm.
          hashingAlgorithm: stringField(b, 'hashing_algorithm'),
          tags: b['tags'] as string | string[],
        }),
      );
      return putResult(outcome);
    },
  });

  ctx.route(app, {
    method: 'DELETE',
    url: '/api/users/:user',
    auth: 'administrator',
    handler: async (req) => {
      const deleted = await domainCall(() => broker.access.deleteUser(req.params['user'] as string));
      if (!deleted) throw notFound();
      return noContent();
    },
  });

  ctx.route(app, {
    method: 'GET',
    url: '/api/users/:user/permissions',
    auth: 'administrator',
    handler: (req) => {
      const user = req.params['user'] as string;
      if (broker.users.get(user) === undefined) throw notFound();
      return listReply(req.query, { items: broker.permissions.list().filter((p) => p.user === user), render: permissionJson, pageable: false });
    },
  });

  ctx.route(app, {
    method: 'GET',
    url: '/api/users/:user/topic-permissions',
    auth: 'administrator',
    handler: (req) => {
      const user = req.params['user'] as string;
      if (broker.users.get(user) === undefined) throw notFound();
      return listReply(req.query, { items: broker.permissions.listTopic().filter((p) => p.user === user), render: topicPermissionJson, pageable: false });
    },
  });
}
