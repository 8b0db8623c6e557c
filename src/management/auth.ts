// Basic authentication against the broker's user database and RabbitMQ's tag rules for the HTTP
// API (rabbit_web_dispatch_access_control.erl; 3.10.8 replies checked live): no credentials or
// wrong ones → 401 with the Basic challenge; a user without a management tag, or without the tag
// or vhost access a route needs → 401 `not_authorised` naming what is missing, and no challenge.

import type { Broker } from '../broker/broker.js';
import type { User } from '../broker/auth/users.js';
import { AccessContext } from '../broker/auth/permissions.js';
import { loginFailed, notAuthorised } from './errors.js';

/** Who the admin socket's caller is (as LavinMQ's ctl socket): an administrator with access everywhere. */
export const SOCKET_ADMIN: User = { name: 'warren-ctl', passwordHash: '', hashingAlgorithm: 'rabbit_password_hashing_sha256', tags: ['administrator'] };

/** What a route requires of the logged-in user, from least to most. */
export type Requirement = 'management' | 'policymaker' | 'monitoring' | 'administrator';

const MANAGEMENT_TAGS: readonly string[] = ['management', 'policymaker', 'monitoring', 'administrator'];

export function isAdministrator(user: User): boolean {
  return user.tags.includes('administrator');
}

export function isMonitor(user: User): boolean {
  return user.tags.includes('monitoring') || isAdministrator(user);
}

export function isPolicymaker(user: User): boolean {
  return user.tags.includes('policymaker') || isAdministrator(user);
}

/** Any of the tags that open the HTTP API. */
export function isManagementUser(user: User): boolean {
  return user.tags.some((t) => MANAGEMENT_TAGS.includes(t));
}

/** `Authorization: Basic base64(user:password)`; null when absent or not Basic. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  if (header === undefined) return null;
  const m = /^Basic\s+([A-Za-z0-9+/=]*)\s*$/i.exec(header);
  if (m === null) return null;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function isLoopbackAddress(addr: string | undefined): boolean {
  if (addr === undefined) return false;
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.');
}

export type LoginOutcome = { ok: true; user: User } | { ok: false; detail: string };

/**
 * Log in with Basic credentials. A refused login throws the 401 with the challenge; `onRefused`
 * gets the log-only detail (never the password).
 */
export function login(broker: Broker, authorization: string | undefined, remoteAddress: string | undefined, onRefused: (user: string, detail: string) => void): User {
  const cred = basicCredentials(authorization);
  if (cred === null) throw loginFailedNoBody();
  const result = broker.users.authenticate(cred.user, cred.password, isLoopbackAddress(remoteAddress));
  if (!result.ok) {
    onRefused(cred.user, result.detail);
    // The right password from a non-loopback address for a loopback-only user (guest): RabbitMQ says so.
    if (result.detail.endsWith('can only connect via localhost')) throw notAuthorised('User can only log in via localhost');
    throw loginFailed();
  }
  if (!isManagementUser(result.user)) throw notAuthorised('Not management user');
  return result.user;
}

/** No credentials at all: RabbitMQ answers 401 with the challenge and an empty body. */
export class ChallengeOnly extends Error {
  override readonly name = 'ChallengeOnly';
}

function loginFailedNoBody(): ChallengeOnly {
  return new ChallengeOnly('no credentials');
}

/** The route's tag requirement, with RabbitMQ's reasons. */
export function requireTag(user: User, need: Requirement): void {
  switch (need) {
    case 'management':
      return;
    case 'policymaker':
      if (!isPolicymaker(user)) throw notAuthorised('User not authorised to access object');
      return;
    case 'monitoring':
      if (!isMonitor(user)) throw notAuthorised('Not monitor user');
      return;
    case 'administrator':
      if (!isAdministrator(user)) throw notAuthorised('Not administrator user');
      return;
  }
}

/**
 * Whether the user may see a vhost: a permission entry for it (RabbitMQ's check_vhost_access).
 * Monitoring and administrator users see every vhost in lists, but acting inside a vhost still
 * needs permissions there, as in RabbitMQ.
 */
export function hasVhostAccess(broker: Broker, user: User, vhost: string): boolean {
  if (user === SOCKET_ADMIN) return true;
  return broker.permissions.get(user.name, vhost) !== undefined;
}

/** is_authorized_vhost: a vhost-scoped route for a user with no access there. */
export function requireVhostAccess(broker: Broker, user: User, vhost: string): void {
  if (!hasVhostAccess(broker, user, vhost)) throw notAuthorised('User not authorised to access virtual host');
}

/** The vhosts a user's lists cover: all for monitors, else those they have permissions in. */
export function visibleVhosts(broker: Broker, user: User): string[] {
  const all = [...broker.vhosts.keys()];
  return isMonitor(user) ? all : all.filter((v) => hasVhostAccess(broker, user, v));
}

/** The admin socket's permissions: every operation in every vhost, as rabbitmqctl has. */
class UnrestrictedAccess extends AccessContext {
  override get hasVhostAccess(): boolean {
    return true;
  }

  override allowed(): boolean {
    return true;
  }

  override topicAllowed(): boolean {
    return true;
  }
}

/** The AMQP permissions an API request acts with: the user's, or all of them on the admin socket. */
export function accessFor(broker: Broker, user: User, vhost: string): AccessContext {
  return user === SOCKET_ADMIN ? new UnrestrictedAccess(broker.permissions, user.name, vhost) : broker.permissions.access(user.name, vhost);
}
