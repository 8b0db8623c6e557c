// One AMQP channel: dispatches its methods to the broker, tracks delivery tags,
// prefetch, publisher confirms and transactions, and delivers to its consumers.

import type { Logger } from '../log.js';
import type { Broker, ReplyToTarget } from '../broker/broker.js';
import { Consumer, type ConsumerOwner } from '../broker/consumer.js';
import { Message } from '../broker/message.js';
import type { Exchange } from '../broker/exchange/exchange.js';
import type { Queue, QueueEntry } from '../broker/queue/queue.js';
import { generateName, type VHost } from '../broker/vhost.js';
import { CommandAssembler } from '../protocol/command-assembler.js';
import { ChannelError } from '../protocol/errors.js';
import { RawLongString, numberValue, type FieldTable, type FieldValue } from '../protocol/field-table.js';
import * as M from '../protocol/generated/amqp.js';
import type { Outbound } from './outbound.js';
import { consumerPriority, parseExpiration } from '../broker/queue/arguments.js';
import { DEDUP_HEADER, dedupKeyOf } from '../broker/dedup-cache.js';
import { typeName } from '../broker/equivalence.js';
import type { Persistence } from '../broker/persistence.js';

const REPLY_TO_QUEUE = 'amq.rabbitmq.reply-to';
const REPLY_TO_PREFIX = 'amq.rabbitmq.reply-to.';

interface Unacked {
  entry: QueueEntry;
  queue: Queue;
  /** When it was delivered, for the consumer timeout. */
  deliveredAt: number;
  /** null for basic.get deliveries. */
  consumer: Consumer | null;
}

/** What a channel needs from its connection. */
export interface ChannelHost {
  readonly outbound: Outbound;
  readonly broker: Broker;
  readonly vhost: VHost;
  readonly user: string;
  readonly consumerCancelNotify: boolean;
  /** Marks the channel as having confirms to send at the end of this read batch. */
  markConfirmsPending(channel: Channel): void;
  /** The channel has confirms waiting for the store's next group commit. */
  requestDurable(channel: Channel): void;
  /** Persistence of the broker, if it has a data directory. */
  readonly persistence: Persistence | null;
}

interface PendingPublish {
  method: M.BasicPublish;
  message: Message;
}

export class Channel implements ConsumerOwner, ReplyToTarget {
  readonly id: number;
  readonly log: Logger;
  readonly assembler: CommandAssembler;
  private readonly host: ChannelHost;
  private readonly out: Outbound;
  private readonly vhost: VHost;
  /** Server sent channel.close and waits for close-ok: everything else is discarded. */
  closing = false;
  private nextDeliveryTag = 1;
  private readonly unacked = new Map<number, Unacked>();
  readonly consumers = new Map<string, Consumer>();
  /** basic.qos global=false: prefetch of consumers created afterwards. */
  private consumerPrefetch = 0;
  /** basic.qos global=true: limit shared by the channel. */
  private channelPrefetch = 0;
  private lastQueue = '';
  // publisher confirms
  private confirmMode = false;
  private publishSeq = 0;
  /** Every seq up to this one is settled (disk or not needed) and may be acked. */
  private confirmedUpTo = 0;
  private ackSentUpTo = 0;
  /** Highest seq waiting for a group commit. */
  waitingUpTo = 0;
  /** Highest seq a whenDurable request already covers. */
  durableRequested = 0;
  /** Seqs to answer with basic.nack (x-overflow reject-publish, store failure), only while some are unsent. */
  private nacked: Set<number> | null = null;
  /**
   * While something must reach the disk before a reply (declare-ok, commit-ok), everything this
   * channel sends after that point waits here, in order. Each wait opens a new segment; segments
   * are released front to back as their waits finish.
   */
  private gates: { held: (() => void)[]; done: boolean }[] = [];
  // transactions
  private txMode = false;
  private txPublishes: PendingPublish[] = [];
  private txAcks: (() => void)[] = [];
  // direct reply-to
  private replyToken: string | null = null;
  private replyConsumerTag = '';
  /** Reused per publish to avoid allocation. */
  private readonly singleKey: string[] = [''];
  /** Exchange name and routing key of the previous publish (see handlePublish). */
  private lastExchange = '';
  private lastRoutingKey = '';

  constructor(id: number, host: ChannelHost, log: Logger, maxMessageSize: number) {
    this.id = id;
    this.host = host;
    this.out = host.outbound;
    this.vhost = host.vhost;
    this.log = log;
    this.assembler = new CommandAssembler(maxMessageSize);
  }

  // ------------------------------------------------------------ method dispatch

  handleMethod(m: M.Method): void {
    switch (m.id) {
      case M.BASIC_PUBLISH:
        if (m.immediate) throw new ChannelError(540, 'immediate=true', 60, 40);
        this.assembler.beginContent(m);
        return;
      case M.BASIC_ACK:
        return this.onAck(m.deliveryTag, m.multiple);
      case M.BASIC_NACK:
        return this.onNack(m.deliveryTag, m.multiple, m.requeue, 120);
      case M.BASIC_REJECT:
        return this.onNack(m.deliveryTag, false, m.requeue, 90);
      case M.BASIC_CONSUME:
        return this.onConsume(m);
      case M.BASIC_CANCEL:
        return this.onCancel(m);
      case M.BASIC_GET:
        return this.onGet(m);
      case M.BASIC_QOS:
        return this.onQos(m);
      case M.BASIC_RECOVER:
      case M.BASIC_RECOVER_ASYNC:
        if (!m.requeue) throw new ChannelError(540, 'requeue=false', 60, m.id & 0xffff);
        this.requeueAll();
        if (m.id === M.BASIC_RECOVER) this.send({ id: M.BASIC_RECOVER_OK });
        return;
      case M.EXCHANGE_DECLARE: {
        this.vhost.declareExchange(m.exchange, m.type, {
          passive: m.passive,
          durable: m.durable,
          autoDelete: m.autoDelete,
          internal: m.internal,
          args: m.arguments,
        });
        if (!m.nowait) this.replyDurably({ id: M.EXCHANGE_DECLARE_OK });
        return;
      }
      case M.EXCHANGE_DELETE:
        this.vhost.deleteExchange(m.exchange, m.ifUnused);
        if (!m.nowait) this.replyDurably({ id: M.EXCHANGE_DELETE_OK });
        return;
      case M.EXCHANGE_BIND:
        this.vhost.bindExchange(m.destination, m.source, m.routingKey, m.arguments);
        if (!m.nowait) this.replyDurably({ id: M.EXCHANGE_BIND_OK });
        return;
      case M.EXCHANGE_UNBIND:
        this.vhost.unbindExchange(m.destination, m.source, m.routingKey, m.arguments);
        if (!m.nowait) this.replyDurably({ id: M.EXCHANGE_UNBIND_OK });
        return;
      case M.QUEUE_DECLARE: {
        if (m.queue === REPLY_TO_QUEUE) {
          // The direct reply-to pseudo-queue always exists: RabbitMQ 3.10 answers every declare of it,
          // passive or not, whatever the flags and arguments, with 0 messages and 1 consumer (RPC
          // examples in pika, Bunny, Java, PHP and Go declare it before consuming).
          if (!m.nowait) this.send({ id: M.QUEUE_DECLARE_OK, queue: REPLY_TO_QUEUE, messageCount: 0, consumerCount: 1 });
          return;
        }
        // Other names under that prefix are only looked up (404 if missing), never created or refused with 403.
        const passive = m.passive || m.queue.startsWith(REPLY_TO_QUEUE);
        const r = this.vhost.declareQueue(
          m.queue,
          { passive, durable: m.durable, exclusive: m.exclusive, autoDelete: m.autoDelete, args: m.arguments },
          this.host,
        );
        this.lastQueue = r.queue.name;
        if (!m.nowait) {
          this.replyDurably({ id: M.QUEUE_DECLARE_OK, queue: r.queue.name, messageCount: r.messageCount, consumerCount: r.consumerCount });
        }
        return;
      }
      case M.QUEUE_BIND:
        this.vhost.bindQueue(this.queueName(m.queue), m.exchange, this.bindKey(m.routingKey, m.queue), m.arguments, this.host);
        if (!m.nowait) this.replyDurably({ id: M.QUEUE_BIND_OK });
        return;
      case M.QUEUE_UNBIND:
        this.vhost.unbindQueue(this.queueName(m.queue), m.exchange, this.bindKey(m.routingKey, m.queue), m.arguments, this.host);
        this.replyDurably({ id: M.QUEUE_UNBIND_OK });
        return;
      case M.QUEUE_PURGE: {
        const n = this.vhost.purgeQueue(this.queueName(m.queue), this.host);
        if (!m.nowait) this.send({ id: M.QUEUE_PURGE_OK, messageCount: n });
        return;
      }
      case M.QUEUE_DELETE: {
        const n = this.vhost.deleteQueue(this.queueName(m.queue), m.ifUnused, m.ifEmpty, this.host);
        if (!m.nowait) this.replyDurably({ id: M.QUEUE_DELETE_OK, messageCount: n });
        return;
      }
      case M.CHANNEL_FLOW:
        // RabbitMQ does not let clients stop the server's deliveries with flow.
        if (!m.active) throw new ChannelError(540, 'active=false', 20, 20);
        this.send({ id: M.CHANNEL_FLOW_OK, active: true });
        return;
      case M.CHANNEL_FLOW_OK:
        return;
      case M.CONFIRM_SELECT:
        if (this.txMode) throw new ChannelError(406, 'cannot switch from tx to confirm mode', 85, 10);
        this.confirmMode = true;
        if (!m.nowait) this.send({ id: M.CONFIRM_SELECT_OK });
        return;
      case M.TX_SELECT:
        if (this.confirmMode) throw new ChannelError(406, 'cannot switch from confirm to tx mode', 90, 10);
        this.txMode = true;
        this.send({ id: M.TX_SELECT_OK });
        return;
      case M.TX_COMMIT:
        return this.onCommit();
      case M.TX_ROLLBACK:
        if (!this.txMode) throw new ChannelError(406, 'channel is not transactional', 90, 30);
        this.txPublishes = [];
        this.txAcks = [];
        this.send({ id: M.TX_ROLLBACK_OK });
        return;
      case M.ACCESS_REQUEST:
        // Deprecated in 0-9-1 but still sent by some clients; RabbitMQ answers with ticket 1.
        this.send({ id: M.ACCESS_REQUEST_OK, ticket: 1 });
        return;
      default: {
        // Connection-class methods and server-to-client methods have no business here.
        const info = M.METHOD_INFO.get(m.id);
        throw new ChannelError(503, 'unimplemented method', info?.classId ?? 0, info?.methodId ?? 0);
      }
    }
  }

  send(m: M.Method): void {
    const g = this.gates[this.gates.length - 1];
    if (g !== undefined) {
      g.held.push(() => this.out.sendMethod(this.id, m));
      return;
    }
    this.out.sendMethod(this.id, m);
  }

  /** basic.deliver with its content (the hot path: one call, no method object). */
  private sendDelivery(consumerTag: string, deliveryTag: number, redelivered: boolean, message: Message, header: Buffer): void {
    const g = this.gates[this.gates.length - 1];
    if (g !== undefined) {
      const body = message.body; // read now: a paged body may be gone from the store later
      g.held.push(() => this.out.sendDelivery(this.id, consumerTag, deliveryTag, redelivered, message.exchange, message.routingKey, header, body, message.bodySize));
      return;
    }
    this.out.sendDelivery(this.id, consumerTag, deliveryTag, redelivered, message.exchange, message.routingKey, header, message.body, message.bodySize);
  }

  private sendContent(message: { body: Buffer[]; bodySize: number }, header: Buffer): void {
    const g = this.gates[this.gates.length - 1];
    if (g !== undefined) {
      const body = message.body; // read now: a paged body may be gone from the store later
      g.held.push(() => this.out.sendContent(this.id, header, body, message.bodySize));
      return;
    }
    this.out.sendContent(this.id, header, message.body, message.bodySize);
  }

  /**
   * The reply to a method that may change durable definitions: it (and everything after it) waits
   * until every definition change so far, by any channel, is on disk — declare-ok means it survives a crash.
   */
  private replyDurably(m: M.Method): void {
    const p = this.host.persistence;
    if (p !== null && p.definitionsPending()) this.holdRepliesUntil((cb) => p.whenDefinitionsDurable(cb));
    this.send(m);
  }

  /** Queue this channel's output (in order) until `wait` calls back. */
  private holdRepliesUntil(wait: (cb: (err: Error | null) => void) => void): void {
    const gate = { held: [] as (() => void)[], done: false };
    const gates = this.gates;
    gates.push(gate);
    wait(() => {
      gate.done = true;
      if (this.gates !== gates) return; // channel closed meanwhile
      while (gates.length > 0 && (gates[0] as { done: boolean }).done) {
        const g = gates.shift() as { held: (() => void)[] };
        for (const f of g.held) f();
      }
    });
  }

  private queueName(name: string): string {
    if (name !== '') return name;
    if (this.lastQueue === '') throw new ChannelError(404, 'no previously declared queue', 0, 0);
    return this.lastQueue;
  }

  /** RabbitMQ: an empty routing key with an empty queue name binds with the last queue's name. */
  private bindKey(routingKey: string, queue: string): string {
    return routingKey === '' && queue === '' ? this.lastQueue : routingKey;
  }

  // ------------------------------------------------------------ publish

  /** A complete basic.publish command (method, header, body). */
  handlePublish(): void {
    const a = this.assembler;
    const method = a.method as M.BasicPublish;
    // Reuse the previous publish's strings when equal: a queued message then shares them instead of
    // holding its own copy of the same exchange name and routing key (~50 B each).
    if (method.exchange !== this.lastExchange) this.lastExchange = method.exchange;
    if (method.routingKey !== this.lastRoutingKey) this.lastRoutingKey = method.routingKey;
    const message = new Message(this.lastExchange, this.lastRoutingKey, a.header as Buffer, a.body, a.bodySize);
    a.reset();
    if (this.txMode) {
      this.checkPublish(method, message); // errors surface at publish time, as in RabbitMQ
      this.txPublishes.push({ method, message });
      return;
    }
    this.publish(method, message);
    message.forgetProperties();
  }

  /** The exchange a publish goes to, after RabbitMQ's checks (exists, not internal, user-id). */
  private checkPublish(method: M.BasicPublish, message: Message): Exchange {
    const e = this.vhost.exchanges.get(method.exchange);
    if (e === undefined) throw new ChannelError(404, `no exchange '${method.exchange}' in vhost '/'`, 60, 40);
    if (e.internal) throw new ChannelError(403, `cannot publish to internal exchange '${method.exchange}' in vhost '/'`, 60, 40);
    if (message.hasUserId) {
      const uid = message.properties.userId;
      if (uid !== this.host.user) {
        throw new ChannelError(406, `user_id property set to '${uid ?? ''}' but authenticated user was '${this.host.user}'`, 60, 40);
      }
    }
    return e;
  }

  /** Route and enqueue one message; true if it was written to the store. */
  private publish(method: M.BasicPublish, message: Message): boolean {
    const exchange = this.checkPublish(method, message);
    const messageTtl = message.hasExpiration ? parseExpiration(message.properties.expiration ?? '') : undefined;
    let seq = 0;
    if (this.confirmMode) seq = ++this.publishSeq;

    let keys: readonly string[] = this.singleKey;
    let headers: FieldTable | undefined;
    if (message.hasHeaders) {
      headers = message.properties.headers;
      const cc = headers?.['CC'];
      const bcc = headers?.['BCC'];
      if (cc !== undefined || bcc !== undefined) {
        checkRoutingHeader('CC', cc);
        checkRoutingHeader('BCC', bcc);
        keys = [method.routingKey, ...routingKeyList(cc), ...routingKeyList(bcc)];
        if (bcc !== undefined && headers !== undefined) {
          // BCC must not reach consumers.
          const rest: FieldTable = { ...headers };
          delete rest['BCC'];
          message.setProperties({ ...message.properties, headers: rest });
        }
      }
    }
    if (message.hasReplyTo && message.properties.replyTo === REPLY_TO_QUEUE) {
      if (this.replyToken === null) throw new ChannelError(406, 'fast reply consumer does not exist', 60, 40);
      message.setProperties({ ...message.properties, replyTo: REPLY_TO_PREFIX + this.replyToken });
    }
    this.singleKey[0] = method.routingKey;

    const now = this.host.broker.clock.now();
    if (exchange.dedup !== null && headers !== undefined) {
      const k = dedupKeyOf(headers[DEDUP_HEADER]);
      if (k !== undefined) {
        // A duplicate is accepted (and confirmed) but routed nowhere: mandatory ones come back, as with the plugin.
        if (exchange.dedup.checkAndAdd(k, now, numberValue(headers['x-cache-ttl']))) {
          if (method.mandatory) this.returnUnroutable(method, message);
          if (seq > 0) this.settlePublish(seq, false, false);
          return false;
        }
      }
    }
    if (exchange.delayed) {
      const delay = numberValue(headers?.['x-delay']);
      if (delay !== undefined && delay > 0) {
        const onDisk = this.vhost.delay(exchange, keys.slice(), message, delay);
        // The plugin routes a delayed message nowhere at publish time, so mandatory ones come back.
        if (method.mandatory) this.returnUnroutable(method, message);
        if (seq > 0) this.settlePublish(seq, onDisk, false);
        return onDisk;
      }
    }

    let delivered = false;
    let rejected = false;
    let persisted = false;
    if (method.exchange === '' && method.routingKey.startsWith(REPLY_TO_PREFIX)) {
      const target = this.host.broker.replyTo.get(method.routingKey.slice(REPLY_TO_PREFIX.length));
      delivered = target !== undefined && target.deliverReply(message);
    } else {
      const outcome = this.vhost.publishTo(exchange, keys, headers, message, messageTtl);
      delivered = outcome.routed > 0;
      rejected = outcome.rejected;
      persisted = outcome.persisted;
    }
    if (!delivered && method.mandatory) this.returnUnroutable(method, message);
    if (seq > 0) this.settlePublish(seq, persisted, rejected);
    return persisted;
  }

  /** basic.return 312 NO_ROUTE, before the publish's confirm. */
  private returnUnroutable(method: M.BasicPublish, message: Message): void {
    this.send({ id: M.BASIC_RETURN, replyCode: 312, replyText: 'NO_ROUTE', exchange: method.exchange, routingKey: method.routingKey });
    this.sendContent(message, message.header);
  }

  // ------------------------------------------------------------ confirms

  /**
   * A publish in confirm mode is done: it is acked (or nacked, for x-overflow reject-publish) once it
   * and every earlier one is settled; one that reached the store waits for the group commit.
   */
  private settlePublish(seq: number, onDisk: boolean, rejected: boolean): void {
    if (rejected) (this.nacked ??= new Set()).add(seq);
    if (onDisk || this.waitingUpTo > this.confirmedUpTo) {
      // Later confirms queue behind the one on disk so `multiple` acks stay truthful.
      this.waitingUpTo = seq;
      this.host.requestDurable(this);
      return;
    }
    this.confirmedUpTo = seq;
    this.host.markConfirmsPending(this);
  }

  /** The group commit covering seqs up to `upTo` finished (err: the store failed, so they are nacked). */
  onDurable(upTo: number, err: Error | null): void {
    if (this.closing) return;
    if (err !== null) {
      this.log.error({ err: err.message }, 'store failed; nacking unconfirmed publishes');
      for (let s = this.confirmedUpTo + 1; s <= upTo; s++) (this.nacked ??= new Set()).add(s);
    }
    if (upTo > this.confirmedUpTo) this.confirmedUpTo = upTo;
    this.flushConfirms();
  }

  /** Send acks covering everything settled since the last ones, coalesced with `multiple`; nacks one by one. */
  flushConfirms(): void {
    if (this.closing || this.confirmedUpTo <= this.ackSentUpTo) return;
    const nacked = this.nacked;
    if (nacked === null || nacked.size === 0) {
      const multiple = this.confirmedUpTo - this.ackSentUpTo > 1;
      this.ackSentUpTo = this.confirmedUpTo;
      this.send({ id: M.BASIC_ACK, deliveryTag: this.confirmedUpTo, multiple });
      return;
    }
    let runStart = this.ackSentUpTo + 1;
    for (let s = this.ackSentUpTo + 1; s <= this.confirmedUpTo; s++) {
      if (!nacked.has(s)) continue;
      if (s > runStart) this.send({ id: M.BASIC_ACK, deliveryTag: s - 1, multiple: s - 1 > runStart });
      // RabbitMQ 3.10 leaves the requeue bit at the spec default (set) on the nacks it sends; clients ignore it.
      this.send({ id: M.BASIC_NACK, deliveryTag: s, multiple: false, requeue: true });
      nacked.delete(s);
      runStart = s + 1;
    }
    if (this.confirmedUpTo >= runStart) {
      this.send({ id: M.BASIC_ACK, deliveryTag: this.confirmedUpTo, multiple: this.confirmedUpTo > runStart });
    }
    this.ackSentUpTo = this.confirmedUpTo;
  }

  // ------------------------------------------------------------ transactions

  private onCommit(): void {
    if (!this.txMode) throw new ChannelError(406, 'channel is not transactional', 90, 20);
    const publishes = this.txPublishes;
    const acks = this.txAcks;
    this.txPublishes = [];
    this.txAcks = [];
    let onDisk = false;
    for (const p of publishes) {
      if (this.publish(p.method, p.message)) onDisk = true;
      p.message.forgetProperties();
    }
    for (const a of acks) a();
    // commit-ok means the transaction's persistent messages are on disk.
    if (onDisk) this.holdRepliesUntil((cb) => this.host.persistence?.whenMessagesDurable(cb) ?? cb(null));
    this.send({ id: M.TX_COMMIT_OK });
  }

  // ------------------------------------------------------------ consumers

  private onConsume(m: M.BasicConsume): void {
    if (m.queue === REPLY_TO_QUEUE) return this.consumeReplyTo(m);
    const queue = this.vhost.getQueue(this.queueName(m.queue), this.host);
    const tag = m.consumerTag === '' ? generateName('amq.ctag-') : m.consumerTag;
    if (this.consumers.has(tag) || tag === this.replyConsumerTag) {
      throw new ChannelError(530, `attempt to reuse consumer tag '${tag}'`, 60, 20);
    }
    const priority = consumerPriority(queue.name, m.arguments);
    if (queue.policy.type === 'quorum' && this.channelPrefetch > 0) {
      // RabbitMQ 3.10 closes the connection (540 is a hard error) rather than ignore the channel-wide limit.
      throw new ChannelError(540, `queue '${queue.name}' in vhost '/' does not support global qos`, 60, 20);
    }
    if (queue.hasExclusiveConsumer() || (m.exclusive && (queue.consumerCount > 0 || queue.policy.singleActiveConsumer))) {
      throw new ChannelError(403, `queue '${queue.name}' in vhost '/' in exclusive use`, 60, 20);
    }
    const c = new Consumer(tag, queue, this, {
      noAck: m.noAck,
      exclusive: m.exclusive,
      args: m.arguments,
      prefetch: this.consumerPrefetch,
      priority,
    });
    this.consumers.set(tag, c);
    if (!m.nowait) this.send({ id: M.BASIC_CONSUME_OK, consumerTag: tag });
    queue.addConsumer(c);
  }

  private consumeReplyTo(m: M.BasicConsume): void {
    if (!m.noAck) throw new ChannelError(406, 'reply consumer cannot acknowledge', 60, 20);
    if (this.replyToken !== null) throw new ChannelError(406, 'reply consumer already set', 60, 20);
    const tag = m.consumerTag === '' ? generateName('amq.ctag-') : m.consumerTag;
    this.replyToken = generateName('');
    this.replyConsumerTag = tag;
    this.host.broker.replyTo.set(this.replyToken, this);
    if (!m.nowait) this.send({ id: M.BASIC_CONSUME_OK, consumerTag: tag });
  }

  deliverReply(message: Message): boolean {
    if (this.closing || this.replyToken === null) return false;
    this.sendDelivery(this.replyConsumerTag, this.nextDeliveryTag++, false, message, message.header);
    return true;
  }

  private onCancel(m: M.BasicCancel): void {
    if (m.consumerTag === this.replyConsumerTag && this.replyToken !== null) {
      this.host.broker.replyTo.delete(this.replyToken);
      this.replyToken = null;
      this.replyConsumerTag = '';
    }
    const c = this.consumers.get(m.consumerTag);
    if (c !== undefined) {
      this.consumers.delete(m.consumerTag);
      c.queue.removeConsumer(c);
    }
    if (!m.nowait) this.send({ id: M.BASIC_CANCEL_OK, consumerTag: m.consumerTag });
  }

  hasCapacity(c: Consumer): boolean {
    if (this.closing || !this.out.writable) return false;
    if (c.noAck) return true;
    if (c.prefetch > 0 && c.unacked >= c.prefetch) return false;
    return this.channelPrefetch === 0 || this.unacked.size < this.channelPrefetch;
  }

  deliver(c: Consumer, entry: QueueEntry): void {
    const tag = this.nextDeliveryTag++;
    const msg = entry.message;
    // Written before it is recorded as unacked: if encoding throws, no phantom delivery holds the consumer's credit.
    this.sendDelivery(c.tag, tag, entry.redelivered, msg, deliveryHeader(entry, c.queue));
    if (!c.noAck) {
      this.unacked.set(tag, { entry, queue: c.queue, consumer: c, deliveredAt: this.host.broker.clock.now() });
      c.unacked++;
    }
    // Settled only after the (possibly paged) body was read.
    if (c.noAck) c.queue.settle(entry);
  }

  cancelledByBroker(c: Consumer): void {
    this.consumers.delete(c.tag);
    if (this.host.consumerCancelNotify && !this.closing) {
      // After the reply to the method that deleted the queue (RabbitMQ sends delete-ok first).
      process.nextTick(() => {
        if (!this.closing) this.send({ id: M.BASIC_CANCEL, consumerTag: c.tag, nowait: true });
      });
    }
  }

  private onGet(m: M.BasicGet): void {
    const queue = this.vhost.getQueue(this.queueName(m.queue), this.host);
    queue.touch(); // a queue polled with basic.get is in use (x-expires)
    const entry = queue.take();
    if (entry === undefined) {
      this.send({ id: M.BASIC_GET_EMPTY, clusterId: '' });
      return;
    }
    queue.delivered(entry);
    const tag = this.nextDeliveryTag++;
    if (!m.noAck) this.unacked.set(tag, { entry, queue, consumer: null, deliveredAt: this.host.broker.clock.now() });
    const msg = entry.message;
    this.send({
      id: M.BASIC_GET_OK,
      deliveryTag: tag,
      redelivered: entry.redelivered,
      exchange: msg.exchange,
      routingKey: msg.routingKey,
      messageCount: queue.messageCount,
    });
    this.sendContent(msg, deliveryHeader(entry, queue));
    if (m.noAck) queue.settle(entry);
  }

  private onQos(m: M.BasicQos): void {
    if (m.prefetchSize !== 0) throw new ChannelError(540, `prefetch_size!=0 (${m.prefetchSize})`, 60, 10);
    if (m.global) this.channelPrefetch = m.prefetchCount;
    else this.consumerPrefetch = m.prefetchCount;
    this.send({ id: M.BASIC_QOS_OK });
    if (m.global) this.redispatch();
  }

  // ------------------------------------------------------------ acks

  /** Entries covered by (tag, multiple); throws 406 for an unknown tag. */
  private collect(tag: number, multiple: boolean, classMethod: number): Unacked[] {
    const out: Unacked[] = [];
    if (multiple) {
      // RabbitMQ: the named tag itself must be outstanding (0 means everything).
      if (tag !== 0 && !this.unacked.has(tag)) throw this.unknownTag(tag, classMethod);
      for (const [t, u] of this.unacked) {
        if (tag !== 0 && t > tag) break;
        out.push(u);
        this.unacked.delete(t);
      }
      return out;
    }
    const u = this.unacked.get(tag);
    if (u === undefined) throw this.unknownTag(tag, classMethod);
    this.unacked.delete(tag);
    out.push(u);
    return out;
  }

  private unknownTag(tag: number, classMethod: number): ChannelError {
    return new ChannelError(406, `unknown delivery tag ${tag}`, 60, classMethod);
  }

  private onAck(tag: number, multiple: boolean): void {
    if (this.txMode) {
      // Held until commit; rollback forgets it and the deliveries stay unacked.
      this.checkTag(tag, multiple, 80);
      this.txAcks.push(() => this.settleAll(this.collect(tag, multiple, 80)));
      return;
    }
    this.settleAll(this.collect(tag, multiple, 80));
  }

  /** In tx mode, an unknown tag is still refused at once. */
  private checkTag(tag: number, multiple: boolean, methodId: number): void {
    if (multiple && tag === 0) return;
    if (!this.unacked.has(tag)) throw this.unknownTag(tag, methodId);
  }

  private settleAll(list: Unacked[]): void {
    for (const u of list) {
      if (u.consumer !== null) u.consumer.unacked--;
      u.queue.settle(u.entry);
    }
    this.afterRelease(list);
  }

  private onNack(tag: number, multiple: boolean, requeue: boolean, methodId: number): void {
    const apply = (): void => {
      const list = this.collect(tag, multiple, methodId);
      if (requeue) this.requeueList(list);
      else this.rejectList(list);
    };
    if (this.txMode) {
      this.checkTag(tag, multiple, methodId);
      this.txAcks.push(apply);
    } else apply();
  }

  /** Rejected without requeue: dead-lettered (reason rejected) or dropped. */
  private rejectList(list: Unacked[]): void {
    for (const u of list) {
      if (u.consumer !== null) u.consumer.unacked--;
      u.queue.remove(u.entry, 'rejected');
    }
    this.afterRelease(list);
  }

  private requeueList(list: Unacked[]): void {
    const byQueue = new Map<Queue, QueueEntry[]>();
    for (const u of list) {
      if (u.consumer !== null) u.consumer.unacked--;
      let l = byQueue.get(u.queue);
      if (l === undefined) byQueue.set(u.queue, (l = []));
      l.push(u.entry);
    }
    for (const [q, entries] of byQueue) q.requeue(entries, this.closing ? 'released' : 'client');
    this.afterRelease(list);
  }

  private requeueAll(): void {
    const list = [...this.unacked.values()];
    this.unacked.clear();
    this.requeueList(list);
  }

  /** Capacity was freed: let the affected queues deliver again. */
  private afterRelease(list: Unacked[]): void {
    if (this.closing) return;
    let last: Queue | null = null;
    for (const u of list) {
      if (u.queue !== last) {
        last = u.queue;
        u.queue.dispatch();
      }
    }
    if (this.channelPrefetch > 0) this.redispatch();
  }

  /** Ask every queue this channel consumes from to deliver (after drain or a qos change). */
  redispatch(): void {
    for (const c of this.consumers.values()) c.queue.dispatch();
  }

  // ------------------------------------------------------------ consumer timeout

  /** The error to close this channel with if a delivery waited for its ack longer than allowed. */
  checkConsumerTimeout(now: number, defaultTimeout: number): ChannelError | null {
    for (const u of this.unacked.values()) {
      const timeout = u.queue.policy.consumerTimeout ?? defaultTimeout;
      if (timeout > 0 && now - u.deliveredAt > timeout) {
        return new ChannelError(
          406,
          `delivery acknowledgement on channel ${this.id} timed out. Timeout value used: ${timeout} ms. This timeout value can be configured, see consumers doc guide to learn more`,
          0,
          0,
        );
      }
    }
    return null;
  }

  // ------------------------------------------------------------ teardown

  /** The channel is going away: cancel consumers, requeue unacked messages. */
  cleanup(): void {
    this.closing = true;
    for (const c of this.consumers.values()) c.queue.removeConsumer(c);
    this.consumers.clear();
    if (this.replyToken !== null) {
      this.host.broker.replyTo.delete(this.replyToken);
      this.replyToken = null;
    }
    this.requeueAll();
    this.txPublishes = [];
    this.txAcks = [];
  }
}

/** The content header a consumer sees: the publisher's bytes, plus x-delivery-count once a message has been returned. */
function deliveryHeader(entry: QueueEntry, queue: Queue): Buffer {
  // Quorum queues always carry the count (0 on first delivery); others only once returned.
  if (!queue.tracksDeliveries || (entry.returns === 0 && queue.policy.type !== 'quorum')) return entry.message.header;
  return entry.message.headerWithDeliveryCount(entry.returns);
}

/** RabbitMQ refuses CC/BCC headers that are not arrays. */
function checkRoutingHeader(name: string, v: FieldValue | undefined): void {
  if (v === undefined || Array.isArray(v)) return;
  throw new ChannelError(406, `invalid message: {unacceptable_type_in_header,"${name}",${typeName(v)}}`, 60, 40);
}

/** CC/BCC header values: the longstr items of an array (RabbitMQ ignores other types, byte arrays included). */
function routingKeyList(v: FieldValue | undefined): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const x of v) {
    if (typeof x === 'string') out.push(x);
    else if (x instanceof RawLongString) out.push(x.bytes.toString('utf8'));
  }
  return out;
}
