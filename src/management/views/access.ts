// Users, vhosts, permissions and limits in RabbitMQ 3.10.8's JSON shapes.

import type { Broker } from '../../broker/broker.js';
import type { User } from '../../broker/auth/users.js';
import type { PermissionEntry, TopicPermissionEntry } from '../../broker/auth/permissions.js';
import type { Json } from '../lists.js';
import { nodeName } from './identity.js';
import { vhostTotals } from './totals.js';

export function userJson(broker: Broker, u: User): Json {
  return { name: u.name, password_hash: u.passwordHash, hashing_algorithm: u.hashingAlgorithm, tags: [...u.tags], limits: { ...broker.access.userLimits(u.name) } };
}

export function permissionJson(p: PermissionEntry): Json {
  return { user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read };
}

export function topicPermissionJson(p: TopicPermissionEntry): Json {
  return { user: p.user, vhost: p.vhost, exchange: p.exchange, write: p.write, read: p.read };
}

/** A vhost: metadata, tracing, cluster state, and its message totals and rates. */
export function vhostJson(broker: Broker, name: string): Json {
  const meta = broker.access.vhostMetadata(name) ?? { description: '', tags: [], defaultQueueType: 'classic' };
  return {
    name,
    description: meta.description,
    tags: [...meta.tags],
    default_queue_type: meta.defaultQueueType,
    // 3.10.8's metadata has no default_queue_type (4.x added it); it is on the vhost itself.
    metadata: { description: meta.description, tags: [...meta.tags] },
    tracing: false,
    cluster_state: { [nodeName()]: 'running' },
    ...vhostTotals(broker, name),
  };
}
