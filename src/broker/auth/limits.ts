// Vhost limits (max-connections, max-queues) and user limits (max-connections, max-channels), with
// RabbitMQ 3.10's refusals (texts checked live against 3.10.8). A negative value, or no value, is
// no limit, as in RabbitMQ (`-1` is what the management API shows).

import { connectionClose, preconditionFailed, type AmqpError, type MethodRef } from '../../protocol/errors.js';
import { CONNECTION_OPEN, QUEUE_DECLARE, ReplyCode } from '../../protocol/generated/amqp.js';

export interface VhostLimits {
  readonly 'max-connections'?: number;
  readonly 'max-queues'?: number;
}

export interface UserLimits {
  readonly 'max-connections'?: number;
  readonly 'max-channels'?: number;
}

export const VHOST_LIMIT_NAMES = ['max-connections', 'max-queues'] as const;
export const USER_LIMIT_NAMES = ['max-connections', 'max-channels'] as const;

export class LimitError extends Error {
  override readonly name = 'LimitError';
}

/** Validates limits as given in JSON (definitions, set_vhost_limits); unknown names and non-integers are errors. */
export function parseVhostLimits(value: unknown): VhostLimits {
  return parseLimits(value, VHOST_LIMIT_NAMES, 'vhost');
}

export function parseUserLimits(value: unknown): UserLimits {
  return parseLimits(value, USER_LIMIT_NAMES, 'user');
}

function parseLimits<N extends string>(value: unknown, names: readonly N[], what: string): Partial<Record<N, number>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    // RabbitMQ 3.10 exports an empty vhost limit set as [].
    if (Array.isArray(value) && value.length === 0) return {};
    throw new LimitError(`${what} limits must be a JSON object`);
  }
  const out: Partial<Record<N, number>> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (!(names as readonly string[]).includes(k)) throw new LimitError(`unknown ${what} limit '${k}' (${names.join(', ')})`);
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new LimitError(`${what} limit '${k}' must be an integer, got ${JSON.stringify(v)}`);
    out[k as N] = v;
  }
  return out;
}

/** Whether `current` more-than-fills `limit`: the next one would exceed it. */
function reached(limit: number | undefined, current: number): limit is number {
  return limit !== undefined && limit >= 0 && current >= limit;
}

/** connection.open to a vhost with `current` connections already: 530 once max-connections is reached. */
export function checkVhostConnectionLimit(vhost: string, user: string, limits: VhostLimits, current: number): void {
  const limit = limits['max-connections'];
  if (reached(limit, current)) {
    throw connectionClose(ReplyCode.NOT_ALLOWED, `access to vhost '${vhost}' refused for user '${user}': connection limit (${limit}) is reached`, CONNECTION_OPEN);
  }
}

/** connection.open by a user with `current` connections already (checked after the vhost limit). */
export function checkUserConnectionLimit(user: string, limits: UserLimits, current: number): void {
  const limit = limits['max-connections'];
  if (reached(limit, current)) {
    throw connectionClose(ReplyCode.NOT_ALLOWED, `connection refused for user '${user}': user connection limit (${limit}) is reached`, CONNECTION_OPEN);
  }
}

/**
 * channel.open by a user with `current` channels open across all their connections (3.10.8 counts
 * them per user, checked live): RabbitMQ closes the whole connection, 530, class and method 0.
 */
export function checkUserChannelLimit(user: string, limits: UserLimits, current: number): void {
  const limit = limits['max-channels'];
  if (reached(limit, current)) {
    throw connectionClose(ReplyCode.NOT_ALLOWED, `number of channels opened for user '${user}' has reached the maximum allowed user limit of (${limit})`);
  }
}

/** Declaring a new queue in a vhost holding `current` queues: 406 on the channel (redeclaring an existing queue is not checked). */
export function checkQueueLimit(queue: string, vhost: string, limits: VhostLimits, current: number, method: MethodRef = QUEUE_DECLARE): void {
  const limit = limits['max-queues'];
  if (reached(limit, current)) throw queueLimitReached(queue, vhost, limit, method);
}

function queueLimitReached(queue: string, vhost: string, limit: number, method: MethodRef): AmqpError {
  return preconditionFailed(`cannot declare queue '${queue}': queue limit in vhost '${vhost}' (${limit}) is reached`, method);
}

/** The limits in force: per vhost and per user (rabbitmqctl set_vhost_limits / set_user_limits). */
export class LimitStore {
  private readonly vhosts = new Map<string, VhostLimits>();
  private readonly users = new Map<string, UserLimits>();

  setVhost(vhost: string, limits: VhostLimits): void {
    if (Object.keys(limits).length === 0) this.vhosts.delete(vhost);
    else this.vhosts.set(vhost, { ...limits });
  }

  setUser(user: string, limits: UserLimits): void {
    if (Object.keys(limits).length === 0) this.users.delete(user);
    else this.users.set(user, { ...limits });
  }

  /** No limits: an empty object. */
  vhost(vhost: string): VhostLimits {
    return this.vhosts.get(vhost) ?? NONE;
  }

  user(user: string): UserLimits {
    return this.users.get(user) ?? NONE;
  }

  clearVhost(vhost: string): void {
    this.vhosts.delete(vhost);
  }

  clearUser(user: string): void {
    this.users.delete(user);
  }

  /** Forget every limit (the access state is being reloaded). */
  clearAll(): void {
    this.vhosts.clear();
    this.users.clear();
  }
}

const NONE: VhostLimits & UserLimits = Object.freeze({});
