// One AMQP channel: its state (open, closing; confirm or tx mode), the dispatch of its methods
// to the part that handles them, and its ordered output. The parts:
//   channel-declare  exchange.* and queue.* methods
//   channel-consume  basic.consume/cancel/qos/get/ack/nack/reject/recover, deliveries, consumer timeout
//   channel-publish  basic.publish (semantics in broker/publish/), basic.return, tx.commit
//   confirm-tracker  publisher confirms;  tx  the transaction's held publishes and acks

import type { Logger } from '../log.js';
import type { Message } from '../broker/message.js';
import type { PublishOptions } from '../broker/publish/publish-result.js';
import type { VHost } from '../broker/vhost.js';
import { CommandAssembler } from '../protocol/command-assembler.js';
import { commandInvalid, notFound, notImplemented, preconditionFailed, type AmqpError } from '../protocol/errors.js';
import * as M from '../protocol/generated/amqp.js';
import type { ChannelContext, ChannelHost } from './channel-context.js';
import { ChannelConsume } from './channel-consume.js';
import { handleDeclareMethod } from './channel-declare.js';
import { ChannelPublish } from './channel-publish.js';
import { ConfirmTracker } from './confirm-tracker.js';
import type { Outbound } from './outbound.js';
import { ReplyGate } from './reply-gate.js';
import { Transaction } from './tx.js';
import type { ChannelStats } from '../broker/stats/channel-stats.js';

export type { ChannelHost } from './channel-context.js';

export class Channel implements ChannelContext {
  readonly id: number;
  readonly log: Logger;
  readonly assembler: CommandAssembler;
  readonly host: ChannelHost;
  readonly vhost: VHost;
  private readonly out: Outbound;
  /** Server sent channel.close and waits for close-ok: everything else is discarded. */
  closing = false;
  lastQueue = '';
  /** Set by tx.select. */
  tx: Transaction | null = null;
  private readonly gate = new ReplyGate();
  /** The user's channel count (admitted at channel.open) was given back. */
  private countReleased = false;
  readonly consume: ChannelConsume;
  private readonly publisher: ChannelPublish;
  /** Message counters, registered with the broker's statistics while the channel is open. */
  readonly stats: ChannelStats;

  constructor(id: number, host: ChannelHost, log: Logger, maxMessageSize: number) {
    this.id = id;
    this.host = host;
    this.out = host.outbound;
    this.vhost = host.vhost;
    this.log = log;
    this.assembler = new CommandAssembler(maxMessageSize);
    const publishOptions: PublishOptions = { mandatory: false, user: host.user, authUser: host.authUser, access: host.access, replyToken: null };
    this.stats = host.broker.stats.channelOpened({ connectionName: host.name, number: id, vhost: host.vhost.name, user: host.user }, host.vhost.stats);
    this.consume = new ChannelConsume(this, publishOptions);
    this.publisher = new ChannelPublish(this, publishOptions);
    const consume = this.consume;
    const self = this;
    this.stats.probe = {
      unackedCount: () => consume.unackedCount,
      oldestUnackedAt: () => consume.oldestUnackedAt(),
      consumerCount: () => consume.consumers.size,
      prefetchCount: () => consume.prefetchCount,
      consumerPrefetch: () => consume.consumerPrefetchCount,
      channelPrefetch: () => consume.channelPrefetchCount,
      unconfirmedCount: () => self.publisher.confirms?.unconfirmed ?? 0,
      get mode() {
        return self.tx !== null ? 'tx' : self.publisher.confirms !== null ? 'confirm' : 'none';
      },
    };
  }

  // ------------------------------------------------------------ method dispatch

  handleMethod(m: M.Method): void {
    switch (m.id) {
      case M.BASIC_PUBLISH:
        if (m.immediate) throw notImplemented('immediate=true', M.BASIC_PUBLISH);
        this.assembler.beginContent(m);
        return;
      case M.BASIC_ACK:
        return this.consume.onAck(m.deliveryTag, m.multiple);
      case M.BASIC_NACK:
        return this.consume.onNack(m.deliveryTag, m.multiple, m.requeue, M.BASIC_NACK);
      case M.BASIC_REJECT:
        return this.consume.onNack(m.deliveryTag, false, m.requeue, M.BASIC_REJECT);
      case M.BASIC_CONSUME:
        return this.consume.onConsume(m);
      case M.BASIC_CANCEL:
        return this.consume.onCancel(m);
      case M.BASIC_GET:
        return this.consume.onGet(m);
      case M.BASIC_QOS:
        return this.consume.onQos(m);
      case M.BASIC_RECOVER:
      case M.BASIC_RECOVER_ASYNC:
        if (!m.requeue) throw notImplemented('requeue=false', m.id);
        this.consume.requeueAll();
        if (m.id === M.BASIC_RECOVER) this.send({ id: M.BASIC_RECOVER_OK });
        return;
      case M.EXCHANGE_DECLARE:
      case M.EXCHANGE_DELETE:
      case M.EXCHANGE_BIND:
      case M.EXCHANGE_UNBIND:
      case M.QUEUE_DECLARE:
      case M.QUEUE_BIND:
      case M.QUEUE_UNBIND:
      case M.QUEUE_PURGE:
      case M.QUEUE_DELETE:
        return handleDeclareMethod(this, m);
      case M.CHANNEL_FLOW:
        // RabbitMQ does not let clients stop the server's deliveries with flow.
        if (!m.active) throw notImplemented('active=false', M.CHANNEL_FLOW);
        this.send({ id: M.CHANNEL_FLOW_OK, active: true });
        return;
      case M.CHANNEL_FLOW_OK:
        return;
      case M.CONFIRM_SELECT:
        if (this.tx !== null) throw preconditionFailed('cannot switch from tx to confirm mode', M.CONFIRM_SELECT);
        this.publisher.confirms ??= new ConfirmTracker(this, this.host, this.log, this.stats);
        if (!m.nowait) this.send({ id: M.CONFIRM_SELECT_OK });
        return;
      case M.TX_SELECT:
        if (this.publisher.confirms !== null) throw preconditionFailed('cannot switch from confirm to tx mode', M.TX_SELECT);
        this.tx ??= new Transaction();
        this.send({ id: M.TX_SELECT_OK });
        return;
      case M.TX_COMMIT:
        if (this.tx === null) throw preconditionFailed('channel is not transactional', M.TX_COMMIT);
        return this.publisher.commit(this.tx);
      case M.TX_ROLLBACK:
        if (this.tx === null) throw preconditionFailed('channel is not transactional', M.TX_ROLLBACK);
        this.tx.rollback();
        this.send({ id: M.TX_ROLLBACK_OK });
        return;
      case M.ACCESS_REQUEST:
        // Deprecated in 0-9-1 but still sent by some clients; RabbitMQ answers with ticket 1.
        this.send({ id: M.ACCESS_REQUEST_OK, ticket: 1 });
        return;
      default:
        // Connection-class methods and server-to-client methods have no business here.
        throw commandInvalid('unimplemented method', m.id);
    }
  }

  /** A complete basic.publish command (method, header, body) was assembled. */
  handlePublish(): void {
    this.publisher.onCommand(this.assembler);
  }

  // ------------------------------------------------------------ output, in order

  send(m: M.Method): void {
    if (this.gate.holding) {
      this.gate.hold(() => this.out.sendMethod(this.id, m));
      return;
    }
    this.out.sendMethod(this.id, m);
  }

  sendDelivery(consumerTag: string, deliveryTag: number, redelivered: boolean, message: Message, header: Buffer): void {
    if (this.gate.holding) {
      const body = message.body; // read now: a paged body may be gone from the store later
      this.gate.hold(() => this.out.sendDelivery(this.id, consumerTag, deliveryTag, redelivered, message.exchange, message.routingKey, header, body, message.bodySize));
      return;
    }
    this.out.sendDelivery(this.id, consumerTag, deliveryTag, redelivered, message.exchange, message.routingKey, header, message.body, message.bodySize);
  }

  sendContent(message: Message, header: Buffer): void {
    if (this.gate.holding) {
      const body = message.body; // read now: a paged body may be gone from the store later
      this.gate.hold(() => this.out.sendContent(this.id, header, body, message.bodySize));
      return;
    }
    this.out.sendContent(this.id, header, message.body, message.bodySize);
  }

  /**
   * The reply to a method that may change durable definitions: it (and everything after it) waits
   * until every definition change so far, by any channel, is on disk (and, in HA, in the replicated
   * log) — declare-ok means it survives a crash or a failover. If that fails the reply is never
   * sent: the connection ends instead.
   */
  replyDurably(m: M.Method): void {
    const p = this.host.persistence;
    if (p !== null && p.definitionsPending()) {
      this.holdRepliesUntil((cb) => p.whenDefinitionsDurable((err) => (err === null ? cb(null) : this.host.durableWaitFailed(err, this.id))));
    }
    this.send(m);
  }

  holdRepliesUntil(wait: (cb: (err: Error | null) => void) => void): void {
    this.gate.holdUntil(wait);
  }

  queueName(name: string): string {
    if (name !== '') return name;
    if (this.lastQueue === '') throw notFound('no previously declared queue');
    return this.lastQueue;
  }

  // ------------------------------------------------------------ for the operator plane

  get confirmMode(): boolean {
    return this.publisher.confirms !== null;
  }

  get unconfirmedCount(): number {
    return this.publisher.confirms?.unconfirmed ?? 0;
  }

  // ------------------------------------------------------------ for the connection

  /** Ask every queue this channel consumes from to deliver (after drain). */
  redispatch(): void {
    this.consume.redispatch();
  }

  /** The error to close this channel with if a delivery waited for its ack longer than allowed. */
  checkConsumerTimeout(now: number, defaultTimeout: number): AmqpError | null {
    return this.consume.checkConsumerTimeout(now, defaultTimeout);
  }

  /** The channel is going away: cancel consumers, requeue unacked messages, drop the transaction. */
  cleanup(): void {
    // Every end (client close, server close then teardown, lost connection) comes here, some twice:
    // the user's channel count is released once.
    if (!this.countReleased) {
      this.countReleased = true;
      this.host.broker.connectionCounts.releaseChannel(this.host.user);
    }
    this.closing = true;
    this.host.broker.stats.channelClosed(this.stats);
    this.publisher.confirms?.close();
    this.consume.cleanup();
    this.tx?.rollback();
  }
}
