// The durable access state as maps (what AccessAdmin validates against and changes), and the
// conversion to and from the stored snapshot. Entries are immutable: a change puts a new object,
// so the difference of two models is found by reference.

import type { AccessSnapshot, StoredPermission, StoredTopicPermission, StoredUser, StoredVhost } from '../../store/access-store.js';

export const permissionKey = (user: string, vhost: string): string => JSON.stringify([user, vhost]);
export const topicKey = (user: string, vhost: string, exchange: string): string => JSON.stringify([user, vhost, exchange]);

export class AccessModel {
  readonly users = new Map<string, StoredUser>();
  readonly vhosts = new Map<string, StoredVhost>();
  readonly permissions = new Map<string, StoredPermission>();
  readonly topics = new Map<string, StoredTopicPermission>();
  readonly deletedVhosts = new Set<string>();
  clusterName: string | null = null;
  bootDefinitionsHash: string | null = null;

  static fromSnapshot(s: AccessSnapshot): AccessModel {
    const m = new AccessModel();
    for (const u of s.users) m.users.set(u.name, u);
    for (const v of s.vhosts) m.vhosts.set(v.name, v);
    for (const p of s.permissions) m.permissions.set(permissionKey(p.user, p.vhost), p);
    for (const t of s.topicPermissions) m.topics.set(topicKey(t.user, t.vhost, t.exchange), t);
    for (const d of s.deletedVhosts) m.deletedVhosts.add(d);
    m.clusterName = s.clusterName;
    m.bootDefinitionsHash = s.bootDefinitionsHash;
    return m;
  }

  clone(): AccessModel {
    const m = new AccessModel();
    for (const [k, v] of this.users) m.users.set(k, v);
    for (const [k, v] of this.vhosts) m.vhosts.set(k, v);
    for (const [k, v] of this.permissions) m.permissions.set(k, v);
    for (const [k, v] of this.topics) m.topics.set(k, v);
    for (const d of this.deletedVhosts) m.deletedVhosts.add(d);
    m.clusterName = this.clusterName;
    m.bootDefinitionsHash = this.bootDefinitionsHash;
    return m;
  }

  snapshot(): AccessSnapshot {
    return {
      users: [...this.users.values()],
      vhosts: [...this.vhosts.values()],
      permissions: [...this.permissions.values()],
      topicPermissions: [...this.topics.values()],
      deletedVhosts: [...this.deletedVhosts],
      clusterName: this.clusterName,
      bootDefinitionsHash: this.bootDefinitionsHash,
    };
  }

  /** A user and everything granted to them (RabbitMQ deletes permissions and topic permissions with the user). */
  removeUser(name: string): boolean {
    if (!this.users.delete(name)) return false;
    for (const [k, p] of this.permissions) if (p.user === name) this.permissions.delete(k);
    for (const [k, t] of this.topics) if (t.user === name) this.topics.delete(k);
    return true;
  }

  /** A vhost and every grant in it. */
  removeVhost(name: string): boolean {
    if (!this.vhosts.delete(name)) return false;
    this.deletedVhosts.add(name);
    for (const [k, p] of this.permissions) if (p.vhost === name) this.permissions.delete(k);
    for (const [k, t] of this.topics) if (t.vhost === name) this.topics.delete(k);
    return true;
  }
}

/** What changed between two models, by reference. */
export interface AccessDiff<T> {
  readonly removed: T[];
  /** Added or replaced. */
  readonly put: T[];
}

export function diffMap<T>(prev: ReadonlyMap<string, T>, next: ReadonlyMap<string, T>): AccessDiff<T> {
  const removed: T[] = [];
  const put: T[] = [];
  for (const [k, v] of prev) if (!next.has(k)) removed.push(v);
  for (const [k, v] of next) if (prev.get(k) !== v) put.push(v);
  return { removed, put };
}
