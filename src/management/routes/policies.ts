// Policies (policymakers, in vhosts they have access to) and operator policies (administrators):
// lists, per vhost, and one policy (GET/PUT/DELETE). Validation and its texts are the policy store's.

import type { FastifyInstance } from 'fastify';
import type { PolicyStore } from '../../broker/policy/policy-store.js';
import { policyJson, policySpecFromJson } from '../../broker/policy/policy-json.js';
import type { NamedPolicy } from '../../broker/policy/policy-spec.js';
import type { VHost } from '../../broker/vhost.js';
import { requireVhostAccess, visibleVhosts, type Requirement } from '../auth.js';
import { bodyOf, objectSchema, requireKeys } from '../body.js';
import { noContent, putResult, type ManagementContext } from '../context.js';
import { domainCall } from '../domain-errors.js';
import { notFound, vhostNotFound } from '../errors.js';
import { listReply, objectReply } from '../lists.js';

const POLICY_BODY = objectSchema({
  pattern: { type: 'string' },
  'apply-to': { type: 'string' },
  priority: { type: 'integer' },
  definition: { type: 'object' },
});

interface Kind {
  readonly path: string;
  /** Who may read; writes need policymaker (policies) or administrator (operator policies). */
  readonly read: Requirement;
  readonly write: Requirement;
  store(v: VHost): PolicyStore;
}

const KINDS: readonly Kind[] = [
  { path: 'policies', read: 'management', write: 'policymaker', store: (v) => v.policies },
  { path: 'operator-policies', read: 'management', write: 'administrator', store: (v) => v.operatorPolicies },
];

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const broker = ctx.broker;
  for (const kind of KINDS) {
    const all = (vhosts: readonly string[]): { vhost: string; p: NamedPolicy }[] => {
      const out: { vhost: string; p: NamedPolicy }[] = [];
      for (const name of vhosts) {
        const v = broker.vhosts.get(name);
        if (v !== undefined) for (const p of kind.store(v).list()) out.push({ vhost: name, p });
      }
      return out;
    };
    const render = (e: { vhost: string; p: NamedPolicy }): Record<string, unknown> => ({ ...policyJson(e.vhost, e.p) });
    const keys = { vhost: (e: { vhost: string }) => e.vhost, name: (e: { p: NamedPolicy }) => e.p.name };

    ctx.route(app, {
      method: 'GET',
      url: `/api/${kind.path}`,
      auth: kind.read,
      handler: (req) => listReply(req.query, { items: all(visibleVhosts(broker, req.user)), render, keys, pageable: false }),
    });

    ctx.route(app, {
      method: 'GET',
      url: `/api/${kind.path}/:vhost`,
      auth: kind.read,
      vhostParam: 'vhost',
      handler: (req) => {
        const name = req.params['vhost'] as string;
        if (!broker.vhosts.has(name)) throw notFound();
        return listReply(req.query, { items: all([name]), render, keys, pageable: false });
      },
    });

    ctx.route(app, {
      method: 'GET',
      url: `/api/${kind.path}/:vhost/:name`,
      auth: kind.read,
      vhostParam: 'vhost',
      handler: (req) => {
        const [vname, name] = [req.params['vhost'] as string, req.params['name'] as string];
        const v = broker.vhosts.get(vname);
        const spec = v === undefined ? undefined : kind.store(v).get(name);
        if (spec === undefined) throw notFound();
        return objectReply(req.query, render({ vhost: vname, p: { name, ...spec } }));
      },
    });

    ctx.route(app, {
      method: 'PUT',
      url: `/api/${kind.path}/:vhost/:name`,
      auth: kind.write,
      body: POLICY_BODY,
      handler: async (req) => {
        const [vname, name] = [req.params['vhost'] as string, req.params['name'] as string];
        const v = broker.vhosts.get(vname);
        if (v === undefined) throw vhostNotFound();
        requireVhostAccess(broker, req.user, vname);
        const b = bodyOf(req.body);
        requireKeys(b, 'pattern', 'definition');
        return putResult(await domainCall(() => kind.store(v).put(name, policySpecFromJson(b))));
      },
    });

    ctx.route(app, {
      method: 'DELETE',
      url: `/api/${kind.path}/:vhost/:name`,
      auth: kind.write,
      vhostParam: 'vhost',
      handler: async (req) => {
        const v = broker.vhosts.get(req.params['vhost'] as string);
        if (v === undefined) throw notFound();
        const deleted = await domainCall(() => kind.store(v).delete(req.params['name'] as string));
        if (!deleted) throw notFound();
        return noContent();
      },
    });
  }
}
