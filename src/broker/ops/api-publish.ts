// Publishing over the management API (POST /api/exchanges/{v}/{x}/publish): the body becomes a
// message published as a mandatory, confirmed basic.publish by the requesting user. The answer
// waits, like a confirm, until a persistent message routed to a durable queue is on disk.

import { encodeContentHeaderPayload } from '../../protocol/frame-writer.js';
import { CLASS_BASIC } from '../../protocol/generated/amqp.js';
import { Message } from '../message.js';
import { PublishResult } from '../publish/publish-result.js';
import type { VHost } from '../vhost.js';
import type { AccessContext } from '../auth/permissions.js';
import type { User } from '../auth/users.js';
import { ApiRequestError, payloadFromJson, propertiesFromJson } from './message-json.js';

/** The name the API uses for the default exchange in paths. */
export const DEFAULT_EXCHANGE_ALIAS = 'amq.default';

/** A publish the broker refused after accepting it (a queue's reject-publish overflow, a failed store): RabbitMQ's 400 "rejected". */
export class PublishRejected extends ApiRequestError {
  constructor() {
    super('rejected');
  }
}

export interface ApiPublishOptions {
  /** The authenticated user (a user_id property must name it, unless the user is an impersonator). */
  user: User;
  /** The user's permissions in the vhost (write on the exchange, topic write); null: not checked. */
  access: AccessContext | null;
  /** Config.maxMessageSize. */
  maxMessageSize: number;
}

/** Every key of the body is mandatory in RabbitMQ (3.10.8 lists the missing ones). */
const REQUIRED = ['routing_key', 'payload', 'payload_encoding', 'properties'] as const;

/** Publish the API body `body` to `exchangeName` ('' or amq.default: the default exchange). */
export async function publishFromApi(vhost: VHost, exchangeName: string, body: unknown, opts: ApiPublishOptions): Promise<{ routed: boolean }> {
  const o = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  // Listed last key first, as 3.10.8 does (`[{key_missing,properties},{key_missing,payload_encoding}]`).
  const missing = REQUIRED.filter((k) => o[k] === undefined).reverse();
  if (missing.length > 0) throw new ApiRequestError(`[${missing.map((k) => `{key_missing,${k}}`).join(',')}]`);
  const routingKey = o['routing_key'];
  if (typeof routingKey !== 'string') throw new ApiRequestError('routing_key must be a string');
  const payload = payloadFromJson(o['payload'], o['payload_encoding']);
  if (payload.length > opts.maxMessageSize) throw new ApiRequestError(`message size ${payload.length} is larger than configured max size ${opts.maxMessageSize}`);
  const props = propertiesFromJson(o['properties']);
  const exchange = exchangeName === DEFAULT_EXCHANGE_ALIAS ? '' : exchangeName;
  const message = new Message(exchange, routingKey, encodeContentHeaderPayload(CLASS_BASIC, payload.length, props), [payload], payload.length);
  const r = vhost.publish(message, { mandatory: true, user: opts.user.name, authUser: opts.user, access: opts.access, replyToken: null }, new PublishResult());
  message.forgetProperties();
  if (r.rejected) throw new PublishRejected();
  if (r.waitsForDisk) {
    const store = vhost.store;
    if (store !== null) {
      const err = await new Promise<Error | null>((resolve) => store.whenMessagesDurable(resolve));
      if (err !== null) throw new PublishRejected();
    }
  }
  return { routed: r.routed > 0 && !r.returned };
}
