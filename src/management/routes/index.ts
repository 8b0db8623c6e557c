// Every route module of the management API. A module exports `register(app, ctx)`; add one line here.

import type { FastifyInstance } from 'fastify';
import type { ManagementContext } from '../context.js';
import * as definitions from './definitions.js';
import * as health from './health.js';
import * as identity from './identity.js';
import * as limits from './limits.js';
import * as misc from './misc.js';
import * as nodes from './nodes.js';
import * as overview from './overview.js';
import * as parameters from './parameters.js';
import * as permissions from './permissions.js';
import * as policies from './policies.js';
import * as users from './users.js';
import * as vhostClients from './vhost-clients.js';
import * as vhosts from './vhosts.js';
import * as queues from './queues.js';
import * as exchanges from './exchanges.js';
import * as bindings from './bindings.js';
import * as connections from './connections.js';
import * as consumers from './consumers.js';
import * as warrenExtras from './warren-extras.js';

const MODULES: readonly { register(app: FastifyInstance, ctx: ManagementContext): void }[] = [
  identity,
  overview,
  nodes,
  health,
  misc,
  users,
  vhosts,
  vhostClients,
  permissions,
  limits,
  parameters,
  policies,
  definitions,
  queues,
  exchanges,
  bindings,
  connections,
  consumers,
  warrenExtras,
];

export function registerRoutes(app: FastifyInstance, ctx: ManagementContext): void {
  for (const m of MODULES) m.register(app, ctx);
}
