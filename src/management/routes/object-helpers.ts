// What the object routes share: the vhost of a path (404 as RabbitMQ words it), the caller's
// AMQP permissions, the stats switches of a list query, and waiting for durable definitions.

import type { Broker } from '../../broker/broker.js';
import type { User } from '../../broker/auth/users.js';
import type { AccessContext } from '../../broker/auth/permissions.js';
import type { VHost } from '../../broker/vhost.js';
import type { Queue } from '../../broker/queue/queue.js';
import { ApiError, HTTP, notFound } from '../errors.js';
import { queryFlag, type Query } from '../lists.js';
import type { StatsSwitches } from '../views/objects.js';
import { accessFor, visibleVhosts } from '../auth.js';

/**
 * Stands for the API's own connection when the broker asks who owns an exclusive queue: an API
 * request owns none, so another connection's exclusive queue is refused (RESOURCE_LOCKED).
 */
export const API_OWNER: object = Object.freeze({});

export function vhostOf(broker: Broker, name: string): VHost {
  const v = broker.vhost(name);
  if (v === undefined) throw new ApiError(HTTP.NOT_FOUND, 'not_found', 'vhost_not_found');
  return v;
}

/** The vhost and queue a `/…/:vhost/:name` route names; 404 when either is missing. */
export function queueOf(broker: Broker, params: Readonly<Record<string, unknown>>): { v: VHost; q: Queue } {
  const v = vhostOf(broker, params['vhost'] as string);
  const q = v.queues.get(params['name'] as string);
  if (q === undefined) throw notFound();
  return { v, q };
}

/** The vhosts a list covers: one named in the path, or all the user may see. */
export function listedVhosts(broker: Broker, user: User, name: string | undefined): VHost[] {
  if (name !== undefined) return [vhostOf(broker, name)];
  const out: VHost[] = [];
  for (const n of visibleVhosts(broker, user)) {
    const v = broker.vhost(n);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** The user's AMQP permissions in a vhost: API writes are checked as the same operations over AMQP. */
export function accessOf(broker: Broker, user: User, vhost: string): AccessContext {
  return accessFor(broker, user, vhost);
}

export function statsSwitches(q: Query): StatsSwitches {
  return { disableStats: queryFlag(q, 'disable_stats'), queueTotals: queryFlag(q, 'enable_queue_totals') };
}

/** Answer only once the definition changes made so far are on disk (as declare-ok does). */
export async function definitionsDurable(v: VHost): Promise<void> {
  const p = v.store;
  if (p === null || !p.definitionsPending()) return;
  await new Promise<void>((resolve, reject) => p.whenDefinitionsDurable((err) => (err === null ? resolve() : reject(err))));
}

/** RabbitMQ's loose booleans: true/false or "true"/"false"; absent → `dflt`. */
export function boolField(body: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new ApiError(HTTP.BAD_REQUEST, 'bad_request', `${key} must be a boolean`);
}

export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new ApiError(HTTP.BAD_REQUEST, 'bad_request', 'body must be a JSON object');
  return body as Record<string, unknown>;
}

export function argumentsField(body: Record<string, unknown>): Record<string, unknown> {
  const a = body['arguments'];
  if (a === undefined || a === null || a === '') return {};
  if (typeof a !== 'object' || Array.isArray(a)) throw new ApiError(HTTP.BAD_REQUEST, 'bad_request', 'arguments must be an object');
  return a as Record<string, unknown>;
}

export { notFound };
