// Open connections per vhost and per user, and channels per user, for the limits: admit checks the
// limit and counts in one step, release uncounts. RabbitMQ counts channels per user across all
// their connections (3.10.8, checked live).

import { checkUserChannelLimit, checkUserConnectionLimit, checkVhostConnectionLimit, type LimitStore } from './limits.js';

export class ConnectionCounts {
  private readonly limits: LimitStore;
  private readonly connectionsByVhost = new Map<string, number>();
  private readonly connectionsByUser = new Map<string, number>();
  private readonly channelsByUser = new Map<string, number>();

  constructor(limits: LimitStore) {
    this.limits = limits;
  }

  /** At connection.open, after the vhost is known to exist: vhost limit, then user limit (RabbitMQ's order). */
  admitConnection(vhost: string, user: string): void {
    checkVhostConnectionLimit(vhost, user, this.limits.vhost(vhost), this.connectionsIn(vhost));
    checkUserConnectionLimit(user, this.limits.user(user), this.connectionsOf(user));
    bump(this.connectionsByVhost, vhost, 1);
    bump(this.connectionsByUser, user, 1);
  }

  /** Once per admitted connection, when it closes. */
  releaseConnection(vhost: string, user: string): void {
    bump(this.connectionsByVhost, vhost, -1);
    bump(this.connectionsByUser, user, -1);
  }

  /** At channel.open. */
  admitChannel(user: string): void {
    checkUserChannelLimit(user, this.limits.user(user), this.channelsOf(user));
    bump(this.channelsByUser, user, 1);
  }

  /** Once per admitted channel, when it closes (by either side, or with its connection). */
  releaseChannel(user: string): void {
    bump(this.channelsByUser, user, -1);
  }

  connectionsIn(vhost: string): number {
    return this.connectionsByVhost.get(vhost) ?? 0;
  }

  connectionsOf(user: string): number {
    return this.connectionsByUser.get(user) ?? 0;
  }

  channelsOf(user: string): number {
    return this.channelsByUser.get(user) ?? 0;
  }
}

function bump(m: Map<string, number>, key: string, by: number): void {
  const n = (m.get(key) ?? 0) + by;
  if (n > 0) m.set(key, n);
  else m.delete(key);
}
