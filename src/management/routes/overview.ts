// GET /api/overview: identity (versions, node, cluster name), object and queue totals, listeners.

import type { FastifyInstance } from 'fastify';
import type { ManagementContext } from '../context.js';
import { objectReply } from '../lists.js';
import { overviewOf } from '../views/overview.js';

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  ctx.route(app, {
    method: 'GET',
    url: '/api/overview',
    auth: 'management',
    handler: (req) => objectReply(req.query, overviewOf(ctx, req.user)),
  });
}
