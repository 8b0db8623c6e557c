// Runtime parameters as RabbitMQ lists them: component `vhost-limits` (name `limits`) and
// `operator_policy`; the components of plugins warren does not have are refused with RabbitMQ's
// text. Global parameters: cluster_name only.

import type { FastifyInstance } from 'fastify';
import { policyJson, policySpecFromJson } from '../../broker/policy/policy-json.js';
import { isAdministrator, visibleVhosts } from '../auth.js';
import { bodyOf, objectSchema, requireKeys } from '../body.js';
import { noContent, putResult, type ApiRequest, type ManagementContext } from '../context.js';
import { domainCall } from '../domain-errors.js';
import { badRequest, notAuthorised, notFound, vhostNotFound } from '../errors.js';
import { listReply, objectReply, type Json } from '../lists.js';

const COMPONENTS = ['vhost-limits', 'operator_policy'] as const;
type Component = (typeof COMPONENTS)[number];
const LIMITS_NAME = 'limits';

interface Param {
  value: unknown;
  vhost: string;
  component: Component;
  name: string;
}

const componentNotFound = (c: string): Error => badRequest(`Validation failed\n\ncomponent ${c} not found\n`);

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const broker = ctx.broker;
  const access = broker.access;

  const paramsOf = (component: Component, vhost: string): Param[] => {
    const v = broker.vhosts.get(vhost);
    if (v === undefined) return [];
    if (component === 'vhost-limits') {
      const limits = access.vhostLimits(vhost);
      return Object.keys(limits).length === 0 ? [] : [{ value: { ...limits }, vhost, component, name: LIMITS_NAME }];
    }
    return v.operatorPolicies.list().map((p) => {
      const { vhost: _v, name: _n, ...value } = policyJson(vhost, p);
      return { value, vhost, component, name: p.name };
    });
  };
  const list = (components: readonly Component[], vhosts: readonly string[]): Param[] => components.flatMap((c) => vhosts.flatMap((v) => paramsOf(c, v)));
  const render = (p: Param): Json => ({ value: p.value, vhost: p.vhost, component: p.component, name: p.name });
  const component = (req: ApiRequest): Component => {
    const c = req.params['component'] as string;
    if (!(COMPONENTS as readonly string[]).includes(c)) throw componentNotFound(c);
    return c as Component;
  };
  // Parameters are for policymakers; operator policies among them only for administrators.
  const allowed = (req: ApiRequest, c: Component): void => {
    if (c === 'operator_policy' && !isAdministrator(req.user)) throw notAuthorised('User not authorised to access object');
  };
  // A policymaker sees and changes parameters of the vhosts they may access only (RabbitMQ's
  // is_authorized_policies); monitors and administrators see every vhost.
  const vhosts = (req: ApiRequest): string[] => visibleVhosts(broker, req.user);

  ctx.route(app, {
    method: 'GET',
    url: '/api/parameters',
    auth: 'policymaker',
    handler: (req) => listReply(req.query, { items: list(isAdministrator(req.user) ? COMPONENTS : ['vhost-limits'], vhosts(req)), render, pageable: false }),
  });
  ctx.route(app, {
    method: 'GET',
    url: '/api/parameters/:component',
    auth: 'policymaker',
    handler: (req) => {
      const c = req.params['component'] as string;
      // Listing an unknown component is an empty list in RabbitMQ, not an error.
      if (!(COMPONENTS as readonly string[]).includes(c)) return [];
      allowed(req, c as Component);
      return listReply(req.query, { items: list([c as Component], vhosts(req)), render, pageable: false });
    },
  });
  ctx.route(app, {
    method: 'GET',
    url: '/api/parameters/:component/:vhost',
    auth: 'policymaker',
    vhostParam: 'vhost',
    handler: (req) => {
      const c = req.params['component'] as string;
      if (!(COMPONENTS as readonly string[]).includes(c)) return [];
      allowed(req, c as Component);
      const vhost = req.params['vhost'] as string;
      if (!broker.vhosts.has(vhost)) throw notFound();
      return listReply(req.query, { items: list([c as Component], [vhost]), render, pageable: false });
    },
  });
  ctx.route(app, {
    method: 'GET',
    url: '/api/parameters/:component/:vhost/:name',
    auth: 'policymaker',
    vhostParam: 'vhost',
    handler: (req) => {
      const c = component(req);
      allowed(req, c);
      const p = paramsOf(c, req.params['vhost'] as string).find((x) => x.name === req.params['name']);
      if (p === undefined) throw notFound();
      return objectReply(req.query, render(p));
    },
  });
  ctx.route(app, {
    method: 'PUT',
    url: '/api/parameters/:component/:vhost/:name',
    auth: 'policymaker',
    vhostParam: 'vhost',
    body: objectSchema({ value: {} }),
    handler: async (req) => {
      const c = component(req);
      allowed(req, c);
      const [vhost, name] = [req.params['vhost'] as string, req.params['name'] as string];
      const v = broker.vhosts.get(vhost);
      if (v === undefined) throw vhostNotFound();
      const b = bodyOf(req.body);
      requireKeys(b, 'value');
      if (c === 'vhost-limits') {
        if (name !== LIMITS_NAME) throw badRequest(`Validation failed\n\nvhost limits must be named '${LIMITS_NAME}'\n`);
        const existed = Object.keys(access.vhostLimits(vhost)).length > 0;
        await domainCall(() => access.batch((changes) => changes.replaceVhostLimits(vhost, b['value'])));
        return putResult(existed ? 'updated' : 'created');
      }
      const value = bodyOf(b['value']);
      // Inside a parameter RabbitMQ wants every key of the policy, priority included.
      for (const k of ['pattern', 'definition', 'priority']) {
        if (value[k] === undefined) throw badRequest(`Validation failed\n\nKey "${k}" not found in ${name}\n`);
      }
      return putResult(await domainCall(() => v.operatorPolicies.put(name, policySpecFromJson(value))));
    },
  });
  ctx.route(app, {
    method: 'DELETE',
    url: '/api/parameters/:component/:vhost/:name',
    auth: 'policymaker',
    vhostParam: 'vhost',
    handler: async (req) => {
      const c = component(req);
      allowed(req, c);
      const [vhost, name] = [req.params['vhost'] as string, req.params['name'] as string];
      const v = broker.vhosts.get(vhost);
      if (v === undefined) throw notFound();
      const deleted =
        c === 'vhost-limits'
          ? name === LIMITS_NAME && (await domainCall(() => access.clearVhostLimit(vhost, 'all')))
          : await domainCall(() => v.operatorPolicies.delete(name));
      if (!deleted) throw notFound();
      return noContent();
    },
  });

  // Global parameters: RabbitMQ keeps any; warren has the one that means something, cluster_name.
  const globals = (): Json[] => [{ name: 'cluster_name', value: access.clusterName }];
  ctx.route(app, {
    method: 'GET',
    url: '/api/global-parameters',
    auth: 'policymaker',
    handler: (req) => listReply(req.query, { items: globals(), render: (g) => g, pageable: false }),
  });
  ctx.route(app, {
    method: 'GET',
    url: '/api/global-parameters/:name',
    auth: 'policymaker',
    handler: (req) => {
      const g = globals().find((x) => x['name'] === req.params['name']);
      if (g === undefined) throw notFound();
      return objectReply(req.query, { value: g['value'], name: g['name'] });
    },
  });
  ctx.route(app, {
    method: 'PUT',
    url: '/api/global-parameters/:name',
    auth: 'administrator',
    body: objectSchema({ value: {} }),
    handler: async (req) => {
      const b = bodyOf(req.body);
      requireKeys(b, 'value');
      if (req.params['name'] !== 'cluster_name') throw badRequest(`Validation failed\n\nglobal parameter ${String(req.params['name'])} is not supported by warren (only cluster_name)\n`);
      if (typeof b['value'] !== 'string') throw badRequest('Validation failed\n\ncluster_name must be a string\n');
      await domainCall(() => access.setClusterName(b['value'] as string));
      return noContent();
    },
  });
}
