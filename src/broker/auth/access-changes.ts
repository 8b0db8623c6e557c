// The changes AccessAdmin makes, as operations on a copy of the access model: each validates
// first (RabbitMQ's reasons in AccessAdminError) and only then changes the copy. AccessAdmin
// writes the copy and applies it; a batch (definitions import) makes many before one write.

import type { StoredUser } from '../../store/access-store.js';
import { AccessModel, permissionKey, topicKey } from './access-model.js';
import { LimitError, parseUserLimits, parseVhostLimits, USER_LIMIT_NAMES, VHOST_LIMIT_NAMES, type UserLimits, type VhostLimits } from './limits.js';
import { hashPassword, isValidPasswordHash, parseHashingAlgorithm, DEFAULT_HASHING_ALGORITHM, type HashingAlgorithm } from './password-hash.js';
import { compilePattern, InvalidPatternError } from './permissions.js';
import { parseTags } from './users.js';

export type AccessErrorKind = 'not_found' | 'bad_request';

export class AccessAdminError extends Error {
  override readonly name = 'AccessAdminError';
  readonly kind: AccessErrorKind;
  constructor(kind: AccessErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

export interface UserPut {
  name: string;
  password?: string | undefined;
  passwordHash?: string | undefined;
  hashingAlgorithm?: string | undefined;
  tags?: string | readonly string[] | undefined;
}

export interface VhostMeta {
  description?: string | undefined;
  tags?: string | readonly string[] | undefined;
  defaultQueueType?: string | undefined;
}

export interface VhostMetadata {
  description: string;
  tags: string[];
  defaultQueueType: string;
}

/** The queue types a vhost may default to (RabbitMQ's default_queue_type). */
export const QUEUE_TYPES = ['classic', 'quorum', 'stream'] as const;
export const DEFAULT_QUEUE_TYPE = 'classic';

/**
 * A set of changes applied together (definitions import): the methods of AccessAdmin without the
 * writes; `AccessAdmin.batch` validates them all, then writes once and applies once.
 */
export class AccessChanges {
  /** @internal */
  readonly model: AccessModel;

  constructor(model: AccessModel) {
    this.model = model;
  }

  hasUser(name: string): boolean {
    return this.model.users.has(name);
  }

  hasVhost(name: string): boolean {
    return this.model.vhosts.has(name);
  }

  putUser(spec: UserPut): 'created' | 'updated' {
    const m = this.model;
    if (spec.name === '') throw bad('user name must not be empty');
    if (spec.password !== undefined && spec.passwordHash !== undefined) throw bad('give password or password_hash, not both');
    let algorithm: HashingAlgorithm = DEFAULT_HASHING_ALGORITHM;
    if (spec.hashingAlgorithm !== undefined) {
      try {
        algorithm = parseHashingAlgorithm(spec.hashingAlgorithm);
      } catch (err) {
        throw bad((err as Error).message);
      }
    }
    let passwordHash = '';
    if (spec.password !== undefined) passwordHash = hashPassword(spec.password, algorithm);
    else if (spec.passwordHash !== undefined && spec.passwordHash !== '') {
      if (!isValidPasswordHash(spec.passwordHash, algorithm)) throw bad(`password_hash of user '${spec.name}' is not a valid ${algorithm} hash`);
      passwordHash = spec.passwordHash;
    }
    const prev = m.users.get(spec.name);
    const user: StoredUser = { name: spec.name, passwordHash, hashingAlgorithm: algorithm, tags: parseTags(spec.tags), limits: prev?.limits ?? {} };
    m.users.set(user.name, user);
    return prev === undefined ? 'created' : 'updated';
  }

  deleteUser(name: string): boolean {
    return this.model.removeUser(name);
  }

  /** rabbitmqctl set_user_tags: the tags only, the password stays. */
  setUserTags(name: string, tags: string | readonly string[]): void {
    const u = this.model.users.get(name);
    if (u === undefined) throw notFound('user_not_found');
    this.model.users.set(name, { ...u, tags: parseTags(tags) });
  }

  setPermissions(user: string, vhost: string, p: { configure: string; write: string; read: string }): void {
    this.grantee(user, vhost);
    for (const k of ['configure', 'write', 'read'] as const) pattern(p[k], `${k} permission of user '${user}' in vhost '${vhost}'`);
    this.model.permissions.set(permissionKey(user, vhost), { user, vhost, configure: p.configure, write: p.write, read: p.read });
  }

  clearPermissions(user: string, vhost: string): boolean {
    return this.model.permissions.delete(permissionKey(user, vhost));
  }

  setTopicPermissions(user: string, vhost: string, exchange: string, p: { write: string; read: string }): void {
    this.grantee(user, vhost);
    for (const k of ['write', 'read'] as const) pattern(p[k], `topic ${k} permission of user '${user}' in vhost '${vhost}' on exchange '${exchange}'`);
    this.model.topics.set(topicKey(user, vhost, exchange), { user, vhost, exchange, write: p.write, read: p.read });
  }

  clearTopicPermissions(user: string, vhost: string, exchange?: string): boolean {
    const m = this.model;
    if (exchange !== undefined) return m.topics.delete(topicKey(user, vhost, exchange));
    let had = false;
    for (const [k, t] of m.topics) {
      if (t.user === user && t.vhost === vhost) {
        m.topics.delete(k);
        had = true;
      }
    }
    return had;
  }

  putVhost(name: string, meta: VhostMeta = {}): 'created' | 'updated' {
    if (name === '') throw bad('vhost name must not be empty');
    const prev = this.model.vhosts.get(name);
    const type = meta.defaultQueueType ?? prev?.defaultQueueType ?? DEFAULT_QUEUE_TYPE;
    if (!(QUEUE_TYPES as readonly string[]).includes(type)) throw bad(`invalid default queue type '${type}' (${QUEUE_TYPES.join(', ')})`);
    this.model.vhosts.set(name, {
      name,
      description: meta.description ?? prev?.description ?? '',
      tags: meta.tags !== undefined ? parseTags(meta.tags) : (prev?.tags ?? []),
      defaultQueueType: type,
      limits: prev?.limits ?? {},
    });
    this.model.deletedVhosts.delete(name);
    return prev === undefined ? 'created' : 'updated';
  }

  deleteVhost(name: string): boolean {
    return this.model.removeVhost(name);
  }

  setVhostLimits(vhost: string, limits: VhostLimits): void {
    const v = this.model.vhosts.get(vhost);
    if (v === undefined) throw notFound(`vhost_not_found`);
    const parsed = limitsOf(() => parseVhostLimits(limits));
    this.model.vhosts.set(vhost, { ...v, limits: { ...v.limits, ...(parsed as Record<string, number>) } });
  }

  /** Replaces all of the vhost's limits (definitions import, set_vhost_limits). */
  replaceVhostLimits(vhost: string, limits: unknown): void {
    const v = this.model.vhosts.get(vhost);
    if (v === undefined) throw notFound(`vhost_not_found`);
    this.model.vhosts.set(vhost, { ...v, limits: limitsOf(() => parseVhostLimits(limits)) as Record<string, number> });
  }

  clearVhostLimit(vhost: string, name: string): boolean {
    const v = this.model.vhosts.get(vhost);
    if (v === undefined) throw notFound(`vhost_not_found`);
    if (name !== 'all' && !(VHOST_LIMIT_NAMES as readonly string[]).includes(name)) throw bad(`unknown vhost limit '${name}' (${VHOST_LIMIT_NAMES.join(', ')})`);
    const rest = name === 'all' ? {} : withoutKey(v.limits, name);
    if (Object.keys(rest).length === Object.keys(v.limits).length) return false;
    this.model.vhosts.set(vhost, { ...v, limits: rest });
    return true;
  }

  setUserLimits(user: string, limits: UserLimits): void {
    const u = this.model.users.get(user);
    if (u === undefined) throw notFound(`user_not_found`);
    const parsed = limitsOf(() => parseUserLimits(limits));
    this.model.users.set(user, { ...u, limits: { ...u.limits, ...(parsed as Record<string, number>) } });
  }

  replaceUserLimits(user: string, limits: unknown): void {
    const u = this.model.users.get(user);
    if (u === undefined) throw notFound(`user_not_found`);
    this.model.users.set(user, { ...u, limits: limitsOf(() => parseUserLimits(limits)) as Record<string, number> });
  }

  clearUserLimit(user: string, name: string): boolean {
    const u = this.model.users.get(user);
    if (u === undefined) throw notFound(`user_not_found`);
    if (name !== 'all' && !(USER_LIMIT_NAMES as readonly string[]).includes(name)) throw bad(`unknown user limit '${name}' (${USER_LIMIT_NAMES.join(', ')})`);
    const rest = name === 'all' ? {} : withoutKey(u.limits, name);
    if (Object.keys(rest).length === Object.keys(u.limits).length) return false;
    this.model.users.set(user, { ...u, limits: rest });
    return true;
  }

  setClusterName(name: string): void {
    if (name.trim() === '') throw bad('cluster name must not be empty');
    this.model.clusterName = name;
  }

  setBootDefinitionsHash(hash: string | null): void {
    this.model.bootDefinitionsHash = hash;
  }

  private grantee(user: string, vhost: string): void {
    // RabbitMQ's management API answers both cases with this one reason.
    if (!this.model.users.has(user) || !this.model.vhosts.has(vhost)) throw bad('vhost_or_user_not_found');
  }
}

function bad(message: string): AccessAdminError {
  return new AccessAdminError('bad_request', message);
}

function notFound(message: string): AccessAdminError {
  return new AccessAdminError('not_found', message);
}

function pattern(p: unknown, what: string): void {
  if (typeof p !== 'string') throw bad(`${what} must be a string`);
  try {
    compilePattern(p, what);
  } catch (err) {
    if (err instanceof InvalidPatternError) throw bad(err.message);
    throw err;
  }
}

function limitsOf<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof LimitError) throw bad(err.message);
    throw err;
  }
}

function withoutKey(o: Readonly<Record<string, number>>, key: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (k !== key) out[k] = v;
  return out;
}

