// What a channel's parts (declare, consume, publish, confirms, transactions) see of their channel,
// and what a channel needs from its connection.

import type { Logger } from '../log.js';
import type { AccessContext } from '../broker/auth/permissions.js';
import type { User } from '../broker/auth/users.js';
import type { Broker } from '../broker/broker.js';
import type { Message } from '../broker/message.js';
import type { Persistence } from '../broker/persistence.js';
import type { VHost } from '../broker/vhost.js';
import type { ChannelStats } from '../broker/stats/channel-stats.js';
import type * as M from '../protocol/generated/amqp.js';
import type { ConfirmTracker } from './confirm-tracker.js';
import type { Outbound } from './outbound.js';
import type { Transaction } from './tx.js';

/** What a channel needs from its connection. */
export interface ChannelHost {
  readonly outbound: Outbound;
  readonly broker: Broker;
  readonly vhost: VHost;
  readonly user: string;
  /** RabbitMQ's connection name (`peer -> local`), for the channel's name in statistics. */
  readonly name: string;
  /** The logged-in user (its tags, e.g. impersonator, as at login); null only before login. */
  readonly authUser: User | null;
  /** The user's cached permissions in the vhost; null means unchecked (only before connection.open). */
  readonly access: AccessContext | null;
  readonly consumerCancelNotify: boolean;
  /** The tracker has confirms to settle and send at the end of this read batch (ConfirmTracker.flush). */
  markConfirmsPending(confirms: ConfirmTracker): void;
  /** Persistence of the broker, if it has a data directory. */
  readonly persistence: Persistence | null;
  /** A reply held for the store (or its replication) can never be sent truthfully: end the connection, as a failed store does. */
  durableWaitFailed(err: Error, channel: number): void;
}

/** The channel as its parts see it: identity, mode, and ordered output. */
export interface ChannelContext {
  readonly id: number;
  readonly log: Logger;
  readonly host: ChannelHost;
  readonly vhost: VHost;
  /** This channel's message counters (broker/stats). */
  readonly stats: ChannelStats;
  /** Server sent channel.close (or the connection is going): nothing more is delivered. */
  readonly closing: boolean;
  /** Set by tx.select: publishes and acks wait for tx.commit. */
  readonly tx: Transaction | null;
  /** The queue this channel declared last ('' if none): RabbitMQ's default for an empty queue name. */
  lastQueue: string;
  /** Queue name for an empty `queue` argument: the last one declared on this channel (NOT_FOUND if none). */
  queueName(name: string): string;
  /** Send a method, after any replies still held (see replyDurably). */
  send(m: M.Method): void;
  /** Send content frames (basic.return, basic.get-ok) in order with the other output. */
  sendContent(message: Message, header: Buffer): void;
  /** basic.deliver with its content (the hot path: one call, no method object). */
  sendDelivery(consumerTag: string, deliveryTag: number, redelivered: boolean, message: Message, header: Buffer): void;
  /** Send a reply that must follow the definitions it confirms to disk. */
  replyDurably(m: M.Method): void;
  /** Hold this channel's output (in order) until `wait` calls back. */
  holdRepliesUntil(wait: (cb: (err: Error | null) => void) => void): void;
}
