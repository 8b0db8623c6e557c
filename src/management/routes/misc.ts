// Small routes: cluster name, the login page's auth settings, password hashing, the aliveness
// test, and the empty lists and 404s of features warren does not have (RabbitMQ plugins).

import type { FastifyInstance } from 'fastify';
import { hashPassword } from '../../broker/auth/password-hash.js';
import { bodyOf, objectSchema, requireKeys, stringField } from '../body.js';
import { noContent, type ManagementContext } from '../context.js';
import { domainCall } from '../domain-errors.js';
import { badRequest, notFound } from '../errors.js';

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const broker = ctx.broker;

  ctx.route(app, { method: 'GET', url: '/api/cluster-name', auth: 'management', handler: () => ({ name: broker.access.clusterName }) });
  ctx.route(app, {
    method: 'PUT',
    url: '/api/cluster-name',
    auth: 'administrator',
    body: objectSchema({ name: { type: 'string' } }),
    handler: async (req) => {
      const b = bodyOf(req.body);
      requireKeys(b, 'name');
      await domainCall(() => broker.access.setClusterName(stringField(b, 'name') as string));
      return noContent();
    },
  });

  // The login page asks whether to offer OAuth 2 (RabbitMQ 3.10's keys); no credentials needed there.
  app.get('/api/auth', async (_req, reply) => reply.type('application/json').send(JSON.stringify({ enable_uaa: false, uaa_client_id: '', uaa_location: '', oauth_enabled: false })));

  ctx.route(app, {
    method: 'GET',
    url: '/api/auth/hash_password/:password',
    auth: 'administrator',
    handler: (req) => ({ ok: hashPassword(req.params['password'] as string) }),
  });

  // warren's own: check a user's password (rabbitmqctl authenticate_user, through warren ctl).
  ctx.route(app, {
    method: 'POST',
    url: '/api/warren/authenticate',
    auth: 'administrator',
    body: objectSchema({ username: { type: 'string' }, password: { type: 'string' } }),
    handler: (req) => {
      const b = bodyOf(req.body);
      requireKeys(b, 'username', 'password');
      const name = stringField(b, 'username') as string;
      // Where the user may log in from is not the question here, only the password.
      const r = broker.users.authenticate(name, stringField(b, 'password') as string, true);
      if (!r.ok) throw badRequest(`user '${name}' - invalid credentials`);
      return { name, tags: [...r.user.tags] };
    },
  });

  ctx.route(app, {
    method: 'GET',
    url: '/api/aliveness-test/:vhost',
    auth: 'management',
    vhostParam: 'vhost',
    handler: (req) => {
      const v = broker.vhosts.get(req.params['vhost'] as string);
      if (v === undefined) throw notFound();
      // RabbitMQ declares a queue and round-trips a message; here: the vhost is there and its store open.
      return v.store === null ? { status: 'failed', reason: 'vhost store is not open' } : { status: 'ok' };
    },
  });

  // Plugins and features warren does not have: empty lists where RabbitMQ 3.10 answers with one.
  for (const path of ['feature-flags', 'deprecated-features', 'deprecated-features/used']) {
    ctx.route(app, { method: 'GET', url: `/api/${path}`, auth: 'management', handler: () => [] });
  }
  ctx.route(app, { method: 'GET', url: '/api/auth/attempts/:node', auth: 'monitoring', handler: () => [] });
  // Deprecated in RabbitMQ, still polled by old monitors.
  ctx.route(app, { method: 'GET', url: '/api/healthchecks/node', auth: 'management', handler: () => ({ status: 'ok' }) });
}
