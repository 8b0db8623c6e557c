// AMQP refusals met while serving an API request, as RabbitMQ's management API answers them
// (3.10.8, checked live): access refused → 401 "Access refused.", a missing object → 404, every
// other channel error → 400 with the explanation (the text after "CODE_NAME - ").

import { ApiRequestError } from '../broker/ops/message-json.js';
import { AmqpError, ReplyCode } from '../protocol/errors.js';
import { ApiError, badRequest, HTTP, notAuthorised } from './errors.js';

/** The explanation of an AMQP reply text: `NOT_FOUND - no queue 'q'…` → `no queue 'q'…`. */
export function explanation(err: AmqpError): string {
  const i = err.replyText.indexOf(' - ');
  return i < 0 ? err.replyText : err.replyText.slice(i + 3);
}

/** The API error for `err` (AMQP refusals and bad request bodies); anything else is rethrown. */
export function apiErrorOf(err: unknown, notFoundReason?: (e: AmqpError) => string): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ApiRequestError) return badRequest(err.message);
  if (err instanceof AmqpError) {
    if (err.replyCode === ReplyCode.ACCESS_REFUSED) return notAuthorised('Access refused.');
    if (err.replyCode === ReplyCode.NOT_FOUND) return new ApiError(HTTP.NOT_FOUND, 'not_found', notFoundReason === undefined ? explanation(err) : notFoundReason(err));
    return badRequest(explanation(err));
  }
  throw err;
}

/** Run `f`, answering its AMQP refusals as the API does. */
export async function amqp<T>(f: () => T | Promise<T>, notFoundReason?: (e: AmqpError) => string): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw apiErrorOf(err, notFoundReason);
  }
}
