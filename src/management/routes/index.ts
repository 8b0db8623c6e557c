// Every route module of the management API. A module exports `register(app, ctx)`; add one line here.

import type { FastifyInstance } from 'fastify';
import type { ManagementContext } from '../context.js';
import * as identity from './identity.js';
import * as overview from './overview.js';

const MODULES: readonly { register(app: FastifyInstance, ctx: ManagementContext): void }[] = [identity, overview];

export function registerRoutes(app: FastifyInstance, ctx: ManagementContext): void {
  for (const m of MODULES) m.register(app, ctx);
}
