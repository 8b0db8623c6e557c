// Domain errors as API replies: the broker's validation errors carry RabbitMQ's reasons, so they
// pass through as 400 bad_request; an object that is not there is the generic 404.

import { AccessAdminError } from '../broker/auth/access-admin.js';
import { LimitError } from '../broker/auth/limits.js';
import { InvalidPatternError } from '../broker/auth/permissions.js';
import { UserError } from '../broker/auth/users.js';
import { PolicyError } from '../broker/policy/policy-spec.js';
import { ApiError, badRequest, notFound } from './errors.js';

/** Run a broker change; its domain errors become 400/404, anything else stays a 500. */
export async function domainCall<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asApiError(err);
  }
}

export function asApiError(err: unknown): unknown {
  if (err instanceof ApiError) return err;
  if (err instanceof AccessAdminError) return err.kind === 'not_found' ? notFound() : badRequest(err.message);
  if (err instanceof PolicyError || err instanceof LimitError || err instanceof InvalidPatternError || err instanceof UserError) return badRequest(err.message);
  return err;
}
