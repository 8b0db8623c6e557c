// A definitions document (RabbitMQ's export format) read into one normalised shape. Accepts the
// drift between versions: the 3.10 HTTP export (vhosts as {name}, queues without `type`,
// exchanges with `internal`), `rabbitmqctl export_definitions` (vhost limits as [[k, v]] pairs,
// metadata tags as a string), the 4.x shapes (metadata objects, tags arrays), and the per-vhost
// export (items without `vhost`). Shape errors throw DefinitionsError naming the item.

import type { FieldTable } from '../../protocol/field-table.js';
import { importedHashingAlgorithm, type HashingAlgorithm } from '../auth/password-hash.js';
import { parseTags } from '../auth/users.js';
import { jsonToTable } from './json-args.js';

export class DefinitionsError extends Error {
  override readonly name = 'DefinitionsError';
}

export interface PermissionTriple {
  configure: string;
  write: string;
  read: string;
}

export interface UserDefinition {
  name: string;
  password?: string;
  passwordHash?: string;
  hashingAlgorithm: HashingAlgorithm;
  tags: string[];
  limits: unknown;
  /** Granted when the user is created (RabbitMQ's import only then). */
  permissions: Record<string, PermissionTriple>;
}

export interface VhostDefinition {
  name: string;
  description?: string;
  tags?: string[];
  defaultQueueType?: string;
  limits?: Record<string, unknown>;
}

export interface PolicyDefinition {
  vhost: string;
  name: string;
  pattern: string;
  applyTo: string;
  priority: number;
  definition: Record<string, unknown>;
}

export interface ExchangeDefinition {
  vhost: string;
  name: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  args: FieldTable;
}

export interface QueueDefinition {
  vhost: string;
  name: string;
  durable: boolean;
  autoDelete: boolean;
  args: FieldTable;
}

export interface BindingDefinition {
  vhost: string;
  source: string;
  destination: string;
  destinationType: 'queue' | 'exchange';
  routingKey: string;
  args: FieldTable;
}

export interface NormalizedDefinitions {
  users: UserDefinition[];
  vhosts: VhostDefinition[];
  permissions: (PermissionTriple & { user: string; vhost: string })[];
  topicPermissions: { user: string; vhost: string; exchange: string; write: string; read: string }[];
  vhostLimits: { vhost: string; limits: unknown }[];
  policies: PolicyDefinition[];
  operatorPolicies: PolicyDefinition[];
  clusterName: string | undefined;
  exchanges: ExchangeDefinition[];
  queues: QueueDefinition[];
  bindings: BindingDefinition[];
  /** Parts read but not applied (plugin parameters, internal global parameters), for the report. */
  ignored: string[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Reader {
  constructor(readonly where: string, readonly o: Obj) {}

  fail(msg: string): DefinitionsError {
    return new DefinitionsError(`${this.where}: ${msg}`);
  }

  str(k: string): string {
    const v = this.o[k];
    if (typeof v !== 'string') throw this.fail(`'${k}' must be a string`);
    return v;
  }

  optStr(k: string): string | undefined {
    const v = this.o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw this.fail(`'${k}' must be a string`);
    return v;
  }

  /** Booleans may come as "true"/"false" strings (rabbitmqadmin sends them so). */
  bool(k: string, dflt: boolean): boolean {
    const v = this.o[k];
    if (v === undefined || v === null) return dflt;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    throw this.fail(`'${k}' must be a boolean`);
  }

  vhost(given: string | undefined): string {
    return given ?? this.str('vhost');
  }
}

function list(doc: Obj, key: string): Reader[] {
  const v = doc[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new DefinitionsError(`'${key}' must be a list`);
  return v.map((item, i) => {
    const where = `${key}[${i}]`;
    if (!isObj(item)) throw new DefinitionsError(`${where} must be an object`);
    return new Reader(where, item);
  });
}

function tagsOf(v: unknown, r: Reader, k: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return parseTags(v);
  if (Array.isArray(v) && v.every((t) => typeof t === 'string')) return parseTags(v);
  throw r.fail(`'${k}' must be a list of strings or a comma-separated string`);
}

/** Limits as an object, `[]` (3.10's empty set) or `[[name, value], ...]` (rabbitmqctl 3.10). */
function limitsOf(v: unknown, r: Reader): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (isObj(v)) return v;
  if (Array.isArray(v)) {
    const out: Record<string, unknown> = {};
    for (const pair of v) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') throw r.fail(`'limits' must be an object`);
      out[pair[0]] = pair[1];
    }
    return out;
  }
  throw r.fail(`'limits' must be an object`);
}

function policyOf(r: Reader, vhost: string, name: string, p: Obj): PolicyDefinition {
  const pr = new Reader(r.where, p);
  const priority = p['priority'] ?? 0;
  const prio = typeof priority === 'string' ? Number(priority) : priority;
  if (typeof prio !== 'number' || !Number.isInteger(prio)) throw r.fail(`'priority' must be an integer`);
  const definition = p['definition'];
  if (!isObj(definition)) throw r.fail(`'definition' must be an object`);
  return { vhost, name, pattern: pr.str('pattern'), applyTo: pr.optStr('apply-to') ?? 'all', priority: prio, definition };
}

/** `vhost`: a per-vhost document, imported into that vhost (items carry no vhost of their own). */
export function readDefinitions(doc: unknown, vhost?: string): NormalizedDefinitions {
  if (!isObj(doc)) throw new DefinitionsError('a definitions document must be a JSON object');
  const version = doc['rabbit_version'] ?? doc['rabbitmq_version'];
  const out: NormalizedDefinitions = {
    users: [], vhosts: [], permissions: [], topicPermissions: [], vhostLimits: [], policies: [], operatorPolicies: [],
    clusterName: undefined, exchanges: [], queues: [], bindings: [], ignored: [],
  };
  // A per-vhost import sets up that vhost's contents only (RabbitMQ's POST /api/definitions/{vhost}).
  if (vhost === undefined) {
    for (const r of list(doc, 'users')) {
      const name = r.str('name');
      let hashingAlgorithm: HashingAlgorithm;
      try {
        hashingAlgorithm = importedHashingAlgorithm(r.o['hashing_algorithm'], version);
      } catch (err) {
        throw r.fail((err as Error).message);
      }
      const perms: Record<string, PermissionTriple> = {};
      const given = r.o['permissions'];
      if (given !== undefined && given !== null) {
        if (!isObj(given)) throw r.fail(`'permissions' must be an object`);
        for (const [v, p] of Object.entries(given)) {
          if (!isObj(p)) throw r.fail(`permissions of vhost '${v}' must be an object`);
          const pr = new Reader(`${r.where}.permissions['${v}']`, p);
          perms[v] = { configure: pr.str('configure'), write: pr.str('write'), read: pr.str('read') };
        }
      }
      const u: UserDefinition = { name, hashingAlgorithm, tags: tagsOf(r.o['tags'], r, 'tags'), limits: limitsOf(r.o['limits'], r) ?? {}, permissions: perms };
      const hash = r.optStr('password_hash');
      const password = r.optStr('password');
      if (hash !== undefined) u.passwordHash = hash;
      else if (password !== undefined) u.password = password;
      out.users.push(u);
    }
    for (const r of list(doc, 'vhosts')) {
      const v: VhostDefinition = { name: r.str('name') };
      const meta = isObj(r.o['metadata']) ? new Reader(`${r.where}.metadata`, r.o['metadata']) : r;
      const description = meta.optStr('description');
      if (description !== undefined) v.description = description;
      if (meta.o['tags'] !== undefined) v.tags = tagsOf(meta.o['tags'], meta, 'tags');
      const dqt = meta.optStr('default_queue_type');
      // 3.10 writes "undefined" for a vhost created without one.
      if (dqt !== undefined && dqt !== 'undefined') v.defaultQueueType = dqt;
      const limits = limitsOf(r.o['limits'], r);
      if (limits !== undefined) v.limits = limits;
      out.vhosts.push(v);
    }
    for (const r of list(doc, 'permissions')) {
      out.permissions.push({ user: r.str('user'), vhost: r.str('vhost'), configure: r.str('configure'), write: r.str('write'), read: r.str('read') });
    }
    for (const r of list(doc, 'topic_permissions')) {
      out.topicPermissions.push({ user: r.str('user'), vhost: r.str('vhost'), exchange: r.str('exchange'), write: r.str('write'), read: r.str('read') });
    }
    for (const r of list(doc, 'global_parameters')) {
      const name = r.str('name');
      if (name === 'cluster_name') {
        const value = r.o['value'];
        if (typeof value !== 'string') throw r.fail(`cluster_name must be a string`);
        out.clusterName = value;
      } else if (!name.startsWith('internal')) {
        out.ignored.push(`global parameter '${name}'`);
      }
    }
  }
  for (const r of list(doc, 'parameters')) {
    const v = r.vhost(vhost);
    const component = r.str('component');
    const name = r.str('name');
    const value = r.o['value'];
    if (component === 'vhost-limits') out.vhostLimits.push({ vhost: v, limits: value });
    else if (component === 'operator_policy') {
      if (!isObj(value)) throw r.fail(`operator policy '${name}' must be an object`);
      out.operatorPolicies.push(policyOf(r, v, name, value));
    } else out.ignored.push(`parameter '${name}' of component '${component}' in vhost '${v}'`);
  }
  for (const r of list(doc, 'policies')) out.policies.push(policyOf(r, r.vhost(vhost), r.str('name'), r.o));
  for (const r of list(doc, 'exchanges')) {
    out.exchanges.push({
      vhost: r.vhost(vhost), name: r.str('name'), type: r.str('type'),
      durable: r.bool('durable', true), autoDelete: r.bool('auto_delete', false), internal: r.bool('internal', false),
      args: args(r),
    });
  }
  for (const r of list(doc, 'queues')) {
    const a = args(r);
    // 4.x and rabbitmqctl name the type beside the arguments; a declare names it in them.
    const type = r.optStr('type');
    if (type !== undefined && type !== 'classic' && a['x-queue-type'] === undefined) a['x-queue-type'] = type;
    out.queues.push({ vhost: r.vhost(vhost), name: r.str('name'), durable: r.bool('durable', true), autoDelete: r.bool('auto_delete', false), args: a });
  }
  for (const r of list(doc, 'bindings')) {
    const t = r.str('destination_type');
    if (t !== 'queue' && t !== 'exchange') throw r.fail(`'destination_type' must be queue or exchange`);
    out.bindings.push({ vhost: r.vhost(vhost), source: r.str('source'), destination: r.str('destination'), destinationType: t, routingKey: r.optStr('routing_key') ?? '', args: args(r) });
  }
  return out;
}

function args(r: Reader): FieldTable {
  try {
    return jsonToTable(r.o['arguments'], r.where);
  } catch (err) {
    throw new DefinitionsError((err as Error).message);
  }
}
