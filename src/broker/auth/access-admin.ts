// Durable access administration: users, vhosts (with metadata and limits), permissions, topic
// permissions, user limits and the cluster name. Every change is validated first, then written
// to the access snapshot (fsynced, SIGKILL-safe), and only then applied to the live stores that
// connections check; changes run one at a time, so each sees the one before it.

import { hostname } from 'node:os';
import type { Logger } from '../../log.js';
import { AccessStore, type StoredUser, type StoredVhost } from '../../store/access-store.js';
import { removeVhostDir } from '../../store/data-dir.js';
import type { ClientRegistry } from '../clients.js';
import { AccessModel, diffMap, permissionKey, topicKey } from './access-model.js';
import { LimitError, parseUserLimits, parseVhostLimits, USER_LIMIT_NAMES, VHOST_LIMIT_NAMES, type LimitStore, type UserLimits, type VhostLimits } from './limits.js';
import { hashPassword, isValidPasswordHash, parseHashingAlgorithm, DEFAULT_HASHING_ALGORITHM, type HashingAlgorithm } from './password-hash.js';
import { compilePattern, InvalidPatternError, type PermissionStore } from './permissions.js';
import { parseTags, type UserDatabase } from './users.js';

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

/** What AccessAdmin needs of the broker (the Broker class; named here so this module does not import it). */
export interface AccessHost {
  readonly config: { readonly dataDir: string; readonly serverProperties: Readonly<Record<string, string>> };
  readonly log: Logger;
  readonly users: UserDatabase;
  readonly permissions: PermissionStore;
  readonly limits: LimitStore;
  readonly clients: ClientRegistry;
  readonly vhosts: ReadonlyMap<string, { defaultQueueType: string }>;
  addVhost(name: string): Promise<unknown>;
  /** Closes the vhost's connections (320), drops its grants and limits in memory, removes its data. */
  deleteVhost(name: string): Promise<boolean>;
}

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

export class AccessAdmin {
  private readonly host: AccessHost;
  private store: AccessStore | null = null;
  private model = new AccessModel();
  /** The change in progress; the next one waits for it. */
  private tail: Promise<unknown> = Promise.resolve();
  /** open() found no stored state: this is the data dir's first start. */
  startedFresh = false;

  constructor(host: AccessHost) {
    this.host = host;
  }

  /**
   * Load the stored access state and make the live stores match it; returns the vhosts to open. With none stored (a data dir never started with access state)
   * the live state becomes the first snapshot: the seeded default user and vhost unless `seed` is
   * false (definitions are imported at boot instead). A vhost directory the state does not name
   * (made by an older release, or by Broker.addVhost directly) is adopted; one of a deleted vhost
   * is removed.
   */
  async open(vhostsOnDisk: Iterable<string>, seed: boolean): Promise<{ fresh: boolean; vhosts: string[] }> {
    const store = new AccessStore(this.host.config.dataDir);
    const stored = await store.load();
    this.store = store;
    const h = this.host;
    const m = stored === null ? new AccessModel() : AccessModel.fromSnapshot(stored);
    if (stored === null && seed) {
      for (const u of h.users.list()) m.users.set(u.name, { name: u.name, passwordHash: u.passwordHash, hashingAlgorithm: u.hashingAlgorithm, tags: [...u.tags], limits: {} });
      for (const p of h.permissions.list()) m.permissions.set(permissionKey(p.user, p.vhost), { user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read });
      for (const name of h.vhosts.keys()) m.vhosts.set(name, newVhost(name, name === '/' ? 'Default virtual host' : ''));
    }
    const remove: string[] = [];
    let changed = stored === null || m.deletedVhosts.size > 0;
    for (const name of vhostsOnDisk) {
      if (m.vhosts.has(name)) continue;
      if (m.deletedVhosts.has(name)) {
        remove.push(name);
        continue;
      }
      m.vhosts.set(name, newVhost(name, ''));
      changed = true;
    }
    for (const name of remove) {
      h.log.warn({ vhost: name }, 'removing the data of a vhost deleted before a crash');
      await removeVhostDir(h.config.dataDir, name);
    }
    // Removed: nothing on disk is left to recognise.
    m.deletedVhosts.clear();
    if (changed) await store.save(m.snapshot());
    this.model = m;
    this.syncLive();
    this.startedFresh = stored === null;
    return { fresh: stored === null, vhosts: [...m.vhosts.keys()] };
  }

  /**
   * After a failed first start (boot definitions refused): forget the state written at open, so
   * the next start is a first start again and, without boot definitions, creates the default user.
   */
  async discardFirstStart(): Promise<void> {
    if (!this.startedFresh || this.store === null) return;
    await this.tail;
    await this.store.remove();
  }

  // ---- reads (the durable view; the live stores agree once a change has returned) ----

  get clusterName(): string {
    return this.model.clusterName ?? this.host.config.serverProperties['cluster_name'] ?? `warren@${hostname()}`;
  }

  /** Set by a change, not derived from config. */
  get storedClusterName(): string | null {
    return this.model.clusterName;
  }

  get bootDefinitionsHash(): string | null {
    return this.model.bootDefinitionsHash;
  }

  vhostMetadata(name: string): VhostMetadata | undefined {
    const v = this.model.vhosts.get(name);
    return v === undefined ? undefined : { description: v.description, tags: [...v.tags], defaultQueueType: v.defaultQueueType };
  }

  vhostNames(): string[] {
    return [...this.model.vhosts.keys()];
  }

  vhostLimits(name: string): VhostLimits {
    return this.model.vhosts.get(name)?.limits ?? {};
  }

  userLimits(name: string): UserLimits {
    return this.model.users.get(name)?.limits ?? {};
  }

  // ---- changes ----

  putUser(spec: UserPut): Promise<'created' | 'updated'> {
    return this.change((c) => c.putUser(spec));
  }

  deleteUser(name: string): Promise<boolean> {
    return this.change((c) => c.deleteUser(name));
  }

  setUserTags(name: string, tags: string | readonly string[]): Promise<void> {
    return this.change((c) => c.setUserTags(name, tags));
  }

  setPermissions(user: string, vhost: string, p: { configure: string; write: string; read: string }): Promise<void> {
    return this.change((c) => c.setPermissions(user, vhost, p));
  }

  clearPermissions(user: string, vhost: string): Promise<boolean> {
    return this.change((c) => c.clearPermissions(user, vhost));
  }

  setTopicPermissions(user: string, vhost: string, exchange: string, p: { write: string; read: string }): Promise<void> {
    return this.change((c) => c.setTopicPermissions(user, vhost, exchange, p));
  }

  clearTopicPermissions(user: string, vhost: string, exchange?: string): Promise<boolean> {
    return this.change((c) => c.clearTopicPermissions(user, vhost, exchange));
  }

  putVhost(name: string, meta?: VhostMeta): Promise<'created' | 'updated'> {
    return this.change((c) => c.putVhost(name, meta));
  }

  deleteVhost(name: string): Promise<boolean> {
    return this.change((c) => c.deleteVhost(name));
  }

  setVhostLimits(vhost: string, limits: VhostLimits): Promise<void> {
    return this.change((c) => c.setVhostLimits(vhost, limits));
  }

  clearVhostLimit(vhost: string, name: string): Promise<boolean> {
    return this.change((c) => c.clearVhostLimit(vhost, name));
  }

  /** rabbitmqctl set_vhost_limits: the given limits replace all of the vhost's (setVhostLimits merges). */
  replaceVhostLimits(vhost: string, limits: unknown): Promise<void> {
    return this.change((c) => c.replaceVhostLimits(vhost, limits));
  }

  setUserLimits(user: string, limits: UserLimits): Promise<void> {
    return this.change((c) => c.setUserLimits(user, limits));
  }

  clearUserLimit(user: string, name: string): Promise<boolean> {
    return this.change((c) => c.clearUserLimit(user, name));
  }

  /** rabbitmqctl set_user_limits: the given limits replace all of the user's. */
  replaceUserLimits(user: string, limits: unknown): Promise<void> {
    return this.change((c) => c.replaceUserLimits(user, limits));
  }

  setClusterName(name: string): Promise<void> {
    return this.change((c) => c.setClusterName(name));
  }

  /**
   * Several changes as one: `fn` validates and records them all (throwing leaves everything as it
   * was), then they are written with one fsync and applied.
   */
  batch<T>(fn: (changes: AccessChanges) => T): Promise<T> {
    return this.change(fn);
  }

  private change<T>(fn: (changes: AccessChanges) => T): Promise<T> {
    const run = async (): Promise<T> => {
      const next = this.model.clone();
      const result = fn(new AccessChanges(next));
      if (this.store === null) throw new Error('access administration is not open (broker not started)');
      await this.store.save(next.snapshot());
      const prev = this.model;
      this.model = next;
      await this.apply(prev, next);
      return result;
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /** Bring the live stores from `prev` to `next`: adds first, removals last, connections of removed users and vhosts closed. */
  private async apply(prev: AccessModel, next: AccessModel): Promise<void> {
    const h = this.host;
    const vhosts = diffMap(prev.vhosts, next.vhosts);
    for (const v of vhosts.put) {
      if (!h.vhosts.has(v.name)) await h.addVhost(v.name);
      const live = h.vhosts.get(v.name);
      if (live !== undefined) live.defaultQueueType = v.defaultQueueType;
      h.limits.setVhost(v.name, v.limits);
    }
    const users = diffMap(prev.users, next.users);
    for (const u of users.put) putLiveUser(h, u);
    const perms = diffMap(prev.permissions, next.permissions);
    for (const p of perms.removed) h.permissions.clear(p.user, p.vhost);
    for (const p of perms.put) h.permissions.set(p.user, p.vhost, p);
    const topics = diffMap(prev.topics, next.topics);
    for (const t of topics.removed) h.permissions.clearTopic(t.user, t.vhost, t.exchange);
    for (const t of topics.put) h.permissions.setTopic(t.user, t.vhost, t.exchange, t);
    for (const u of users.removed) {
      h.users.delete(u.name);
      h.limits.clearUser(u.name);
      h.permissions.clearUser(u.name);
      const n = h.clients.closeUser(u.name);
      h.log.info({ user: u.name, closedConnections: n }, 'user deleted');
    }
    for (const v of vhosts.removed) {
      await h.deleteVhost(v.name);
      h.log.info({ vhost: v.name }, 'vhost deleted');
    }
  }

  /** Make the live stores hold exactly the model (at open). */
  private syncLive(): void {
    const h = this.host;
    const m = this.model;
    for (const u of h.users.list()) if (!m.users.has(u.name)) h.users.delete(u.name);
    for (const p of h.permissions.list()) h.permissions.clear(p.user, p.vhost);
    for (const t of h.permissions.listTopic()) h.permissions.clearTopic(t.user, t.vhost, t.exchange);
    h.limits.clearAll();
    for (const u of m.users.values()) putLiveUser(h, u);
    for (const v of m.vhosts.values()) {
      h.limits.setVhost(v.name, v.limits);
      const live = h.vhosts.get(v.name);
      if (live !== undefined) live.defaultQueueType = v.defaultQueueType;
    }
    for (const p of m.permissions.values()) h.permissions.set(p.user, p.vhost, p);
    for (const t of m.topics.values()) h.permissions.setTopic(t.user, t.vhost, t.exchange, t);
  }
}

function newVhost(name: string, description: string): StoredVhost {
  return { name, description, tags: [], defaultQueueType: DEFAULT_QUEUE_TYPE, limits: {} };
}

function putLiveUser(h: AccessHost, u: StoredUser): void {
  h.users.put({ name: u.name, passwordHash: u.passwordHash, hashingAlgorithm: parseHashingAlgorithm(u.hashingAlgorithm), tags: u.tags });
  h.limits.setUser(u.name, u.limits);
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

export type { StoredVhost };
