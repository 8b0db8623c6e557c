// Who am I and what this server offers: whoami, auth (the login page's OAuth question), extensions.

import type { FastifyInstance } from 'fastify';
import type { ManagementContext } from '../context.js';

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  ctx.route(app, {
    method: 'GET',
    url: '/api/whoami',
    auth: 'management',
    // 3.10.8's keys (later versions add is_internal_user).
    handler: (req) => ({ name: req.user.name, tags: [...req.user.tags] }),
  });
  ctx.route(app, {
    method: 'GET',
    url: '/api/extensions',
    auth: 'management',
    // No UI plugins.
    handler: () => [],
  });
}
