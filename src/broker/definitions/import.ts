// Definitions import (RabbitMQ's import_definitions / POST /api/definitions): the whole document
// is read and checked first (users, hashes, patterns, limits, vhosts, exchange types and
// arguments, queue arguments, policies), then applied. Access changes (users, vhosts,
// permissions, topic permissions, limits, cluster name) are written as one snapshot; then
// policies (through the vhosts' policy stores), exchanges, queues and bindings are declared, and the import returns once their
// records are fsynced.
//
// RabbitMQ's merge rules: nothing is deleted; users, vhosts, permissions, limits and policies are
// overwritten; an existing exchange, queue or binding is kept as it is, even if the document
// describes it differently; `amq.*` and default-exchange items are skipped. A binding whose
// source or destination is in neither the document nor the broker is skipped too: RabbitMQ 3.10
// exports bindings to internal exchanges it does not export itself.

import { AmqpError } from '../../protocol/errors.js';
import type { Broker } from '../broker.js';
import { AccessAdminError, type AccessChanges } from '../auth/access-admin.js';
import type { UserLimits } from '../auth/limits.js';
import { Exchange } from '../exchange/exchange.js';
import { parseQueueArguments } from '../queue/arguments.js';
import type { VHost } from '../vhost.js';
import { DefinitionsError, readDefinitions, type NormalizedDefinitions } from './document.js';
import { checkPolicy, policyStore } from './policies.js';
import type { PolicySpec } from '../policy/index.js';

export { DefinitionsError } from './document.js';

export interface ImportOptions {
  /** Import a per-vhost document into this (existing) vhost. */
  vhost?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface ImportReport {
  users: number;
  vhosts: number;
  permissions: number;
  topicPermissions: number;
  policies: number;
  operatorPolicies: number;
  exchanges: number;
  queues: number;
  bindings: number;
  /** Items kept as they were (existing) or not applicable (amq.*, missing ends), with why. */
  skipped: string[];
  /** Parts of the document this broker does not use (plugin parameters). */
  ignored: string[];
}

/** Nobody owns an imported queue; exclusive queues are never exported. */
const IMPORT_OWNER = {};

const FAIL = (where: string, err: unknown): DefinitionsError => {
  if (err instanceof DefinitionsError) return err;
  const msg = err instanceof AmqpError ? err.replyText.replace(/^[A-Z_]+ - /, '') : err instanceof Error ? err.message : String(err);
  return new DefinitionsError(`${where}: ${msg}`);
};

export async function importDefinitions(broker: Broker, doc: unknown, opts: ImportOptions = {}): Promise<ImportReport> {
  const defs = readDefinitions(doc, opts.vhost);
  if (opts.vhost !== undefined && broker.vhost(opts.vhost) === undefined) throw new DefinitionsError(`vhost '${opts.vhost}' not found`);
  const report: ImportReport = {
    users: 0, vhosts: 0, permissions: 0, topicPermissions: 0, policies: 0, operatorPolicies: 0,
    exchanges: 0, queues: 0, bindings: 0, skipped: [], ignored: [...defs.ignored],
  };
  const total = defs.users.length + defs.vhosts.length + defs.permissions.length + defs.topicPermissions.length + defs.policies.length
    + defs.operatorPolicies.length + defs.exchanges.length + defs.queues.length + defs.bindings.length;
  let done = 0;
  const progress = (n: number): void => {
    done += n;
    opts.onProgress?.(done, total);
  };
  const policySpecs = checkPolicies(defs);
  let plan: TopologyPlan | null = null;
  // Everything is checked inside the batch, against the access state it would produce: a throw
  // here leaves the broker as it was.
  await broker.access.batch((c) => {
    applyAccess(c, defs, report);
    plan = planTopology(broker, c, defs, report);
  });
  progress(defs.users.length + defs.vhosts.length + defs.permissions.length + defs.topicPermissions.length);
  await applyPolicies(broker, defs, policySpecs, report);
  progress(defs.policies.length + defs.operatorPolicies.length);
  await applyTopology(broker, plan as unknown as TopologyPlan, report, progress);
  return report;
}

function applyAccess(c: AccessChanges, defs: NormalizedDefinitions, report: ImportReport): void {
  const created = new Set<string>();
  defs.users.forEach((u, i) => {
    const where = `users[${i}] '${u.name}'`;
    try {
      if (c.putUser({ name: u.name, password: u.password, passwordHash: u.passwordHash, hashingAlgorithm: u.hashingAlgorithm, tags: u.tags }) === 'created') created.add(u.name);
      // Merged into the user's limits, as RabbitMQ's put_user does (an empty set changes nothing).
      c.setUserLimits(u.name, u.limits as UserLimits);
    } catch (err) {
      throw FAIL(where, err);
    }
    report.users++;
  });
  defs.vhosts.forEach((v, i) => {
    try {
      c.putVhost(v.name, { description: v.description, tags: v.tags, defaultQueueType: v.defaultQueueType });
      if (v.limits !== undefined) c.replaceVhostLimits(v.name, v.limits);
    } catch (err) {
      throw FAIL(`vhosts[${i}] '${v.name}'`, err);
    }
    report.vhosts++;
  });
  // Permissions carried by a user apply only when the import created the user (RabbitMQ's rule).
  for (const u of defs.users) {
    if (!created.has(u.name)) continue;
    for (const [vhost, p] of Object.entries(u.permissions)) {
      grant(c, `permissions of user '${u.name}' in vhost '${vhost}'`, u.name, vhost, () => c.setPermissions(u.name, vhost, p));
    }
  }
  defs.permissions.forEach((p, i) => {
    grant(c, `permissions[${i}]`, p.user, p.vhost, () => c.setPermissions(p.user, p.vhost, p));
    report.permissions++;
  });
  defs.topicPermissions.forEach((t, i) => {
    grant(c, `topic_permissions[${i}]`, t.user, t.vhost, () => c.setTopicPermissions(t.user, t.vhost, t.exchange, t));
    report.topicPermissions++;
  });
  defs.vhostLimits.forEach((l, i) => {
    try {
      c.replaceVhostLimits(l.vhost, l.limits);
    } catch (err) {
      throw FAIL(`parameters[${i}] vhost-limits of vhost '${l.vhost}'`, err instanceof AccessAdminError && err.kind === 'not_found' ? new Error(`vhost '${l.vhost}' not found`) : err);
    }
  });
  if (defs.clusterName !== undefined) {
    try {
      c.setClusterName(defs.clusterName);
    } catch (err) {
      throw FAIL('global_parameters cluster_name', err);
    }
  }
}

function grant(c: AccessChanges, where: string, user: string, vhost: string, set: () => void): void {
  if (!c.hasUser(user)) throw new DefinitionsError(`${where}: user '${user}' not found`);
  if (!c.hasVhost(vhost)) throw new DefinitionsError(`${where}: vhost '${vhost}' not found`);
  try {
    set();
  } catch (err) {
    throw FAIL(where, err);
  }
}

interface TopologyPlan {
  exchanges: NormalizedDefinitions['exchanges'];
  queues: NormalizedDefinitions['queues'];
  bindings: NormalizedDefinitions['bindings'];
  vhosts: Set<string>;
}

const key = (vhost: string, name: string): string => JSON.stringify([vhost, name]);

/** Checks exchanges, queues and bindings against the vhosts the access changes leave; returns what to declare. */
function planTopology(broker: Broker, c: AccessChanges, defs: NormalizedDefinitions, report: ImportReport): TopologyPlan {
  const plan: TopologyPlan = { exchanges: [], queues: [], bindings: [], vhosts: new Set() };
  const needVhost = (where: string, vhost: string): void => {
    if (!c.hasVhost(vhost)) throw new DefinitionsError(`${where}: vhost '${vhost}' not found`);
    plan.vhosts.add(vhost);
  };
  const exchanges = new Set<string>();
  const queues = new Set<string>();
  defs.exchanges.forEach((e, i) => {
    const where = `exchanges[${i}] '${e.name}' in vhost '${e.vhost}'`;
    needVhost(where, e.vhost);
    if (e.name === '' || e.name.startsWith('amq.')) {
      report.skipped.push(`exchange '${e.name}' in vhost '${e.vhost}': predeclared or reserved name`);
      return;
    }
    try {
      // The constructor refuses unknown types and arguments it cannot use, as a declare would.
      new Exchange(e.name, e.type, { durable: e.durable, autoDelete: e.autoDelete, internal: e.internal, args: e.args });
    } catch (err) {
      throw FAIL(where, err);
    }
    exchanges.add(key(e.vhost, e.name));
    plan.exchanges.push(e);
  });
  defs.queues.forEach((q, i) => {
    const where = `queues[${i}] '${q.name}' in vhost '${q.vhost}'`;
    needVhost(where, q.vhost);
    if (q.name === '') throw new DefinitionsError(`${where}: a queue needs a name`);
    if (q.name.startsWith('amq.')) {
      report.skipped.push(`queue '${q.name}' in vhost '${q.vhost}': reserved name`);
      return;
    }
    try {
      parseQueueArguments(q.name, q.args, { durable: q.durable, exclusive: false, autoDelete: q.autoDelete }, q.vhost);
    } catch (err) {
      throw FAIL(where, err);
    }
    queues.add(key(q.vhost, q.name));
    plan.queues.push(q);
  });
  const exchangeExists = (vhost: string, name: string): boolean => exchanges.has(key(vhost, name)) || broker.vhost(vhost)?.exchanges.has(name) === true || name.startsWith('amq.');
  const queueExists = (vhost: string, name: string): boolean => queues.has(key(vhost, name)) || broker.vhost(vhost)?.queues.has(name) === true;
  defs.bindings.forEach((b, i) => {
    needVhost(`bindings[${i}]`, b.vhost);
    const what = `binding of ${b.destinationType} '${b.destination}' to exchange '${b.source}' in vhost '${b.vhost}'`;
    if (b.source === '') {
      report.skipped.push(`${what}: the default exchange binds every queue implicitly`);
      return;
    }
    const destination = b.destinationType === 'queue' ? queueExists(b.vhost, b.destination) : exchangeExists(b.vhost, b.destination);
    if (!exchangeExists(b.vhost, b.source) || !destination) {
      report.skipped.push(`${what}: source or destination not found`);
      return;
    }
    plan.bindings.push(b);
  });
  return plan;
}

function checkPolicies(defs: NormalizedDefinitions): Map<object, PolicySpec> {
  const specs = new Map<object, PolicySpec>();
  for (const p of defs.policies) specs.set(p, checkPolicy(p, false));
  for (const p of defs.operatorPolicies) specs.set(p, checkPolicy(p, true));
  return specs;
}

async function applyPolicies(broker: Broker, defs: NormalizedDefinitions, specs: Map<object, PolicySpec>, report: ImportReport): Promise<void> {
  for (const [list, operator] of [[defs.policies, false], [defs.operatorPolicies, true]] as const) {
    for (const p of list) {
      const vhost = broker.vhost(p.vhost);
      if (vhost === undefined) throw new DefinitionsError(`${operator ? 'operator policy' : 'policy'} '${p.name}': vhost '${p.vhost}' not found`);
      const store = policyStore(vhost, operator);
      const spec = specs.get(p);
      if (spec === undefined) continue;
      try {
        await store.put(p.name, spec);
      } catch (err) {
        throw FAIL(`${operator ? 'operator policy' : 'policy'} '${p.name}' in vhost '${p.vhost}'`, err);
      }
      if (operator) report.operatorPolicies++;
      else report.policies++;
    }
  }
}

async function applyTopology(broker: Broker, plan: TopologyPlan, report: ImportReport, progress: (n: number) => void): Promise<void> {
  const vhostOf = (name: string): VHost => {
    const v = broker.vhost(name);
    if (v === undefined) throw new DefinitionsError(`vhost '${name}' was deleted during the import`);
    return v;
  };
  for (const e of plan.exchanges) {
    const v = vhostOf(e.vhost);
    if (v.exchanges.has(e.name)) report.skipped.push(`exchange '${e.name}' in vhost '${e.vhost}': exists`);
    else {
      v.declareExchange(e.name, e.type, { passive: false, durable: e.durable, autoDelete: e.autoDelete, internal: e.internal, args: e.args });
      report.exchanges++;
    }
    progress(1);
  }
  for (const q of plan.queues) {
    const v = vhostOf(q.vhost);
    if (v.queues.has(q.name)) report.skipped.push(`queue '${q.name}' in vhost '${q.vhost}': exists`);
    else {
      v.declareQueue(q.name, { passive: false, durable: q.durable, exclusive: false, autoDelete: q.autoDelete, args: q.args }, IMPORT_OWNER);
      report.queues++;
    }
    progress(1);
  }
  for (const b of plan.bindings) {
    const v = vhostOf(b.vhost);
    try {
      if (b.destinationType === 'queue') {
        const q = v.queues.get(b.destination);
        v.bindQueue(b.destination, b.source, b.routingKey, b.args, q?.owner ?? IMPORT_OWNER);
      } else v.bindExchange(b.destination, b.source, b.routingKey, b.args);
      report.bindings++;
    } catch (err) {
      // An existing exclusive queue of a client: left alone.
      report.skipped.push(`binding of ${b.destinationType} '${b.destination}' to exchange '${b.source}' in vhost '${b.vhost}': ${FAIL('', err).message.slice(2)}`);
    }
    progress(1);
  }
  // Durable before the import is reported done.
  await Promise.all(
    [...plan.vhosts].map((name) => {
      const store = broker.vhost(name)?.store;
      if (store === null || store === undefined) return undefined;
      return new Promise<void>((resolve, reject) => store.whenDefinitionsDurable((err) => (err === null ? resolve() : reject(err))));
    }),
  );
}
