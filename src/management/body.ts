// Reading request bodies the way RabbitMQ's handlers do: a missing key is `[{key_missing,<key>}]`
// (rabbit_mgmt_util:with_decode), types already coerced by the route's JSON schema.

import { badRequest } from './errors.js';

export type Body = Readonly<Record<string, unknown>>;

export function bodyOf(body: unknown): Body {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Body) : {};
}

/** The keys a body must have, all checked first, in RabbitMQ's wording. */
export function requireKeys(body: Body, ...keys: string[]): void {
  const missing = keys.filter((k) => body[k] === undefined);
  if (missing.length > 0) throw badRequest(`[${missing.map((k) => `{key_missing,${k}}`).join(',')}]`);
}

export function stringField(body: Body, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw badRequest(`${key} must be a string`);
}

/** JSON schema pieces: RabbitMQ accepts a tags list or a comma-separated string. */
export const TAGS_SCHEMA = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] } as const;
export const objectSchema = (properties: Record<string, object>): object => ({ type: 'object', properties });
