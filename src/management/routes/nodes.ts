// Nodes (monitoring users): warren is a one-node "cluster".

import type { FastifyInstance } from 'fastify';
import type { ManagementContext } from '../context.js';
import { notFound } from '../errors.js';
import { listReply, objectReply } from '../lists.js';
import { nodeName } from '../views/identity.js';
import { memoryJson, nodeJson } from '../views/node.js';

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const known = (name: string | undefined): void => {
    if (name !== nodeName()) throw notFound();
  };
  ctx.route(app, {
    method: 'GET',
    url: '/api/nodes',
    auth: 'monitoring',
    handler: async (req) => {
      const node = await nodeJson(ctx);
      return listReply(req.query, { items: [node], render: (n) => n, pageable: false });
    },
  });
  ctx.route(app, {
    method: 'GET',
    url: '/api/nodes/:node',
    auth: 'monitoring',
    handler: async (req) => {
      known(req.params['node']);
      const node = await nodeJson(ctx);
      return objectReply(req.query, req.query['memory'] === 'true' ? { ...node, ...memoryJson() } : node);
    },
  });
  ctx.route(app, {
    method: 'GET',
    url: '/api/nodes/:node/memory',
    auth: 'monitoring',
    handler: (req) => {
      known(req.params['node']);
      return memoryJson();
    },
  });
}
