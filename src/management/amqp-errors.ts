// AMQP refusals met while serving an API request, as RabbitMQ's management API answers them
// (3.10.8, checked live): access refused → 401 "Access refused.", a missing object → 404, every
// other channel error → 400 with the explanation (the text after "CODE_NAME - ").

import { ApiRequestError } from '../broker/ops/message-json.js';
import { refusalOf, type Refusal } from '../broker/ops/refusal.js';
import { ApiError, badRequest, HTTP, notAuthorised } from './errors.js';

/** The API error for `err` (AMQP refusals and bad request bodies); anything else is rethrown. */
export function apiErrorOf(err: unknown, notFoundReason?: (r: Refusal) => string): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ApiRequestError) return badRequest(err.message);
  const r = refusalOf(err);
  if (r === null) throw err;
  if (r.kind === 'access_refused') return notAuthorised('Access refused.');
  if (r.kind === 'not_found') return new ApiError(HTTP.NOT_FOUND, 'not_found', notFoundReason === undefined ? r.explanation : notFoundReason(r));
  return badRequest(r.explanation);
}

/** Run `f`, answering its AMQP refusals as the API does. */
export async function amqp<T>(f: () => T | Promise<T>, notFoundReason?: (r: Refusal) => string): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw apiErrorOf(err, notFoundReason);
  }
}
