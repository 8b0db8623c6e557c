// basic.publish semantics, from the exchange's checks to the result the channel answers with:
// the exchange must exist and not be internal, user-id must name the publisher, CC/BCC add
// routing keys, direct reply-to rewrites and delivers, x-message-deduplication drops repeats,
// x-delayed-message holds the message, and mandatory messages routed nowhere come back.

import { accessRefused, notFound, preconditionFailed } from '../../protocol/errors.js';
import { userIdMismatch } from '../auth/refusals.js';
import { checkUserId } from '../auth/users.js';
import { numberValue, type FieldTable } from '../../protocol/field-table.js';
import { BASIC_PUBLISH } from '../../protocol/generated/amqp.js';
import { DEDUP_HEADER, dedupKeyOf } from '../dedup-cache.js';
import type { Exchange } from '../exchange/exchange.js';
import type { Message } from '../message.js';
import { parseExpiration } from '../queue/arguments.js';
import { REPLY_TO_PREFIX, REPLY_TO_QUEUE, type DirectReplyTo } from './direct-reply-to.js';
import type { PublishOptions, PublishResult } from './publish-result.js';
import { ccBccRoutingKeys } from './routing-headers.js';
import type { MessageCounters } from '../stats/message-counters.js';
import type { BrokerStats } from '../stats/broker-stats.js';

/** What publishing needs from its vhost. */
export interface PublishHost {
  readonly name: string;
  readonly exchanges: ReadonlyMap<string, Exchange>;
  readonly replyTo: DirectReplyTo;
  /** The vhost's message totals (the broker's are their sum), and the broker's statistics. */
  readonly stats: MessageCounters;
  readonly brokerStats: BrokerStats;
  now(): number;
  /** Route through `exchange` and enqueue in every queue reached; fills out.routed, out.rejected and the durability handle. */
  routeAndEnqueue(exchange: Exchange, routingKeys: readonly string[], headers: FieldTable | undefined, message: Message, messageTtl: number | undefined, out: PublishResult): void;
  /** Hold a message for an x-delayed-message exchange; out gets the durability handle if it was written. */
  delay(exchange: Exchange, routingKeys: readonly string[], message: Message, delay: number, out: PublishResult): void;
}

/** Routing keys of a publish without CC/BCC; routing reads it synchronously and never re-enters, so one array serves all. */
const singleKey: string[] = [''];

/** The exchange a publish goes to, after RabbitMQ's checks (exists, not internal, user-id). */
export function checkPublish(host: PublishHost, message: Message, options: PublishOptions): Exchange {
  // RabbitMQ 3.10's order (probed): write permission, exists, not internal, topic write, user-id.
  // The permission answers are cached in the AccessContext: no regex per message.
  const access = options.access;
  if (access !== null) access.check('write', 'exchange', message.exchange, BASIC_PUBLISH);
  const e = host.exchanges.get(message.exchange);
  if (e === undefined) throw notFound(`no exchange '${message.exchange}' in vhost '${host.name}'`, BASIC_PUBLISH);
  if (e.internal) throw accessRefused(`cannot publish to internal exchange '${message.exchange}' in vhost '${host.name}'`, BASIC_PUBLISH);
  if (access !== null && e.type === 'topic') access.checkTopic('write', e.name, message.routingKey, BASIC_PUBLISH);
  if (message.hasUserId) {
    const uid = message.properties.userId ?? '';
    if (options.authUser !== null) checkUserId(uid, options.authUser, BASIC_PUBLISH);
    else if (uid !== options.user) throw userIdMismatch(uid, options.user, BASIC_PUBLISH);
  }
  return e;
}

/** Publish one message; `out` (reset by the caller) says what happened. Throws the channel error RabbitMQ closes the channel with. */
export function publish(host: PublishHost, message: Message, options: PublishOptions, out: PublishResult): PublishResult {
  const exchange = checkPublish(host, message, options);
  exchange.stats.publishIn++;
  host.stats.publish++;
  host.brokerStats.messageSizes.observe(message.bodySize);
  const messageTtl = message.hasExpiration ? parseExpiration(message.properties.expiration ?? '') : undefined;
  const routingKey = message.routingKey;

  let keys: readonly string[] = singleKey;
  let headers: FieldTable | undefined;
  if (message.hasHeaders) {
    headers = message.properties.headers;
    if (headers !== undefined) keys = ccBccRoutingKeys(message, routingKey, headers) ?? singleKey;
  }
  if (message.hasReplyTo && message.properties.replyTo === REPLY_TO_QUEUE) {
    if (options.replyToken === null) throw preconditionFailed('fast reply consumer does not exist', BASIC_PUBLISH);
    message.setProperties({ ...message.properties, replyTo: REPLY_TO_PREFIX + options.replyToken });
  }
  singleKey[0] = routingKey;

  if (exchange.dedup !== null && headers !== undefined) {
    const k = dedupKeyOf(headers[DEDUP_HEADER]);
    // A duplicate is accepted (and confirmed) but routed nowhere: mandatory ones come back, as with the plugin.
    if (k !== undefined && exchange.dedup.checkAndAdd(k, host.now(), numberValue(headers['x-cache-ttl']))) {
      out.deduplicated = true;
      out.returned = options.mandatory;
      if (out.returned) host.stats.returnUnroutable++;
      return out;
    }
  }
  if (exchange.delayed) {
    const delay = numberValue(headers?.['x-delay']);
    if (delay !== undefined && delay > 0) {
      host.delay(exchange, keys.slice(), message, delay, out);
      // The plugin routes a delayed message nowhere at publish time, so mandatory ones come back.
      out.delayed = true;
      out.returned = options.mandatory;
      if (out.returned) host.stats.returnUnroutable++;
      return out;
    }
  }

  if (exchange.name === '' && routingKey.startsWith(REPLY_TO_PREFIX)) {
    const target = host.replyTo.get(routingKey.slice(REPLY_TO_PREFIX.length));
    if (target !== undefined && target.deliverReply(message)) out.routed = 1;
  } else {
    host.routeAndEnqueue(exchange, keys, headers, message, messageTtl, out);
  }
  out.returned = out.routed === 0 && options.mandatory;
  if (out.routed > 0) {
    exchange.stats.publishOut += out.routed;
    host.stats.routed++;
  } else if (out.returned) {
    host.stats.returnUnroutable++;
  } else {
    host.stats.dropUnroutable++;
  }
  return out;
}

