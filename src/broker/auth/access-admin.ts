// Durable access administration: users, vhosts (with metadata and limits), permissions, topic
// permissions, user limits and the cluster name. Every change is validated first, then written
// to the access snapshot (fsynced, SIGKILL-safe), and only then applied to the live stores that
// connections check; changes run one at a time, so each sees the one before it. On an HA leader
// a change also waits for the replicated log to hold the new snapshot before it resolves.

import { hostname } from 'node:os';
import type { Logger } from '../../log.js';
import { AccessStore, AccessStoreError, type AccessReplication, type StoredUser, type StoredVhost } from '../../store/access-store.js';
import { removeVhostDir, vhostDir } from '../../store/data-dir.js';
import type { ClientRegistry } from '../clients.js';
import { AccessModel, diffMap, permissionKey } from './access-model.js';
import { AccessChanges, DEFAULT_QUEUE_TYPE, type UserPut, type VhostMeta, type VhostMetadata } from './access-changes.js';
import type { LimitStore, UserLimits, VhostLimits } from './limits.js';
import { parseHashingAlgorithm } from './password-hash.js';
import type { PermissionStore } from './permissions.js';
import type { UserDatabase } from './users.js';

export { AccessAdminError, AccessChanges, DEFAULT_QUEUE_TYPE, QUEUE_TYPES, type AccessErrorKind, type UserPut, type VhostMeta, type VhostMetadata } from './access-changes.js';

/** What AccessAdmin needs of the broker (the Broker class; named here so this module does not import it). */
export interface AccessHost {
  readonly config: { readonly dataDir: string; readonly defaultVhost: string; readonly serverProperties: Readonly<Record<string, string>> };
  readonly log: Logger;
  readonly users: UserDatabase;
  readonly permissions: PermissionStore;
  readonly limits: LimitStore;
  readonly clients: ClientRegistry;
  readonly vhosts: ReadonlyMap<string, { defaultQueueType: string }>;
  /** Set on an HA leader: snapshots and vhost directory removals replicate through it. */
  readonly accessReplication?: AccessReplication | null;
  addVhost(name: string): Promise<unknown>;
  /** Closes the vhost's connections (320), drops its grants and limits in memory, removes its data. */
  deleteVhost(name: string): Promise<boolean>;
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
   *
   * On an HA node the stored state is the one replicated from the leaders before it: a promoted
   * standby that has one is not a first start, so it seeds nothing (boot definitions are imported
   * as at any restart, see boot.ts). It replicates its snapshot once here, so followers converge
   * on the state it serves. One that has none although the group has data (snapshotLost) refuses.
   */
  async open(vhostsOnDisk: Iterable<string>, seed: boolean): Promise<{ fresh: boolean; vhosts: string[] }> {
    const rep = this.host.accessReplication ?? null;
    const store = new AccessStore(this.host.config.dataDir, rep === null ? null : (bytes) => rep.snapshot(bytes));
    const stored = await store.load();
    if (stored === null && rep?.snapshotLost === true) {
      // Seeding the default user (or importing boot definitions as a first start) would replace the group's users and permissions.
      throw new AccessStoreError(
        `${store.file} is missing, yet the replicated log holds this group's data: its access snapshot (users, permissions) never reached this node; refusing to start as a first start`,
      );
    }
    this.store = store;
    const h = this.host;
    const m = stored === null ? new AccessModel() : AccessModel.fromSnapshot(stored);
    if (stored === null && seed) {
      for (const u of h.users.list()) m.users.set(u.name, { name: u.name, passwordHash: u.passwordHash, hashingAlgorithm: u.hashingAlgorithm, tags: [...u.tags], limits: {} });
      for (const p of h.permissions.list()) m.permissions.set(permissionKey(p.user, p.vhost), { user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read });
      for (const name of h.vhosts.keys()) m.vhosts.set(name, newVhost(name, name === h.config.defaultVhost ? 'Default virtual host' : ''));
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
      // Followers hold a copy of it too, which nothing would remove once the snapshot forgets the vhost.
      await rep?.vhostRemoved(vhostDir(h.config.dataDir, name));
      await removeVhostDir(h.config.dataDir, name);
    }
    // Removed: nothing on disk is left to recognise.
    m.deletedVhosts.clear();
    if (changed) await store.save(m.snapshot());
    else await store.republish();
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

