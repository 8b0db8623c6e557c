// The consuming side of a channel: basic.consume/cancel/qos/get, deliveries and their delivery
// tags, prefetch, basic.ack/nack/reject/recover, the direct reply-to consumer, and the consumer
// timeout.

import { Consumer, type ConsumerOwner } from '../broker/consumer.js';
import type { Message } from '../broker/message.js';
import type { DirectReplyTo, ReplyToTarget } from '../broker/publish/direct-reply-to.js';
import { REPLY_TO_QUEUE } from '../broker/publish/direct-reply-to.js';
import type { PublishOptions } from '../broker/publish/publish-result.js';
import { consumerPriority } from '../broker/queue/arguments.js';
import type { Queue, QueueEntry } from '../broker/queue/queue.js';
import { generateName } from '../broker/vhost.js';
import { accessRefused, notAllowed, notImplemented, preconditionFailed, type AmqpError, type MethodRef } from '../protocol/errors.js';
import * as M from '../protocol/generated/amqp.js';
import type { ChannelContext } from './channel-context.js';

export interface Unacked {
  entry: QueueEntry;
  queue: Queue;
  /** When it was delivered, for the consumer timeout. */
  deliveredAt: number;
  /** null for basic.get deliveries. */
  consumer: Consumer | null;
}

export class ChannelConsume implements ConsumerOwner, ReplyToTarget {
  private readonly ch: ChannelContext;
  /** Shared with the publish side: it reads the direct reply-to token set here. */
  private readonly publishOptions: PublishOptions;
  private readonly replyTo: DirectReplyTo;
  private nextDeliveryTag = 1;
  private readonly unacked = new Map<number, Unacked>();
  readonly consumers = new Map<string, Consumer>();
  /** basic.qos global=false: prefetch of consumers created afterwards. */
  private consumerPrefetch = 0;
  /** basic.qos global=true: limit shared by the channel. */
  private channelPrefetch = 0;
  private replyConsumerTag = '';

  constructor(ch: ChannelContext, publishOptions: PublishOptions) {
    this.ch = ch;
    this.publishOptions = publishOptions;
    this.replyTo = ch.vhost.replyTo;
  }

  private get replyToken(): string | null {
    return this.publishOptions.replyToken;
  }

  // ------------------------------------------------------------ for the operator plane

  /** basic.qos global=false: the prefetch new consumers get. */
  get consumerPrefetchCount(): number {
    return this.consumerPrefetch;
  }

  /** basic.qos global=true. */
  get globalPrefetchCount(): number {
    return this.channelPrefetch;
  }

  /** Unacked deliveries, by delivery tag (oldest first). */
  unackedDeliveries(): IterableIterator<[number, Readonly<Unacked>]> {
    return this.unacked.entries();
  }

  // ------------------------------------------------------------ consumers

  onConsume(m: M.BasicConsume): void {
    if (m.queue === REPLY_TO_QUEUE) return this.consumeReplyTo(m);
    const vhost = this.ch.vhost;
    const name = this.ch.queueName(m.queue);
    this.ch.host.access?.check('read', 'queue', name, M.BASIC_CONSUME);
    const queue = vhost.getQueue(name, this.ch.host);
    const tag = m.consumerTag === '' ? generateName('amq.ctag-') : m.consumerTag;
    if (this.consumers.has(tag) || tag === this.replyConsumerTag) {
      throw notAllowed(`attempt to reuse consumer tag '${tag}'`, M.BASIC_CONSUME);
    }
    const priority = consumerPriority(queue.name, m.arguments, vhost.name);
    if (queue.policy.type === 'quorum' && this.channelPrefetch > 0) {
      // RabbitMQ 3.10 closes the connection (NOT_IMPLEMENTED is a hard error) rather than ignore the channel-wide limit.
      throw notImplemented(`queue '${queue.name}' in vhost '${vhost.name}' does not support global qos`, M.BASIC_CONSUME);
    }
    if (queue.hasExclusiveConsumer() || (m.exclusive && (queue.consumerCount > 0 || queue.policy.singleActiveConsumer))) {
      throw accessRefused(`queue '${queue.name}' in vhost '${vhost.name}' in exclusive use`, M.BASIC_CONSUME);
    }
    const c = new Consumer(tag, queue, this, {
      noAck: m.noAck,
      exclusive: m.exclusive,
      args: m.arguments,
      prefetch: this.consumerPrefetch,
      priority,
    });
    this.consumers.set(tag, c);
    if (!m.nowait) this.ch.send({ id: M.BASIC_CONSUME_OK, consumerTag: tag });
    queue.addConsumer(c);
  }

  private consumeReplyTo(m: M.BasicConsume): void {
    if (!m.noAck) throw preconditionFailed('reply consumer cannot acknowledge', M.BASIC_CONSUME);
    if (this.replyToken !== null) throw preconditionFailed('reply consumer already set', M.BASIC_CONSUME);
    const tag = m.consumerTag === '' ? generateName('amq.ctag-') : m.consumerTag;
    this.publishOptions.replyToken = this.replyTo.register(this);
    this.replyConsumerTag = tag;
    if (!m.nowait) this.ch.send({ id: M.BASIC_CONSUME_OK, consumerTag: tag });
  }

  /** ReplyToTarget: a reply published to this channel's reply-to address. */
  deliverReply(message: Message): boolean {
    if (this.ch.closing || this.replyToken === null) return false;
    this.ch.sendDelivery(this.replyConsumerTag, this.nextDeliveryTag++, false, message, message.header);
    this.ch.stats.deliverNoAck++;
    return true;
  }

  private stopReplyConsumer(): void {
    if (this.replyToken === null) return;
    this.replyTo.unregister(this.replyToken);
    this.publishOptions.replyToken = null;
    this.replyConsumerTag = '';
  }

  onCancel(m: M.BasicCancel): void {
    if (m.consumerTag === this.replyConsumerTag) this.stopReplyConsumer();
    const c = this.consumers.get(m.consumerTag);
    if (c !== undefined) {
      this.consumers.delete(m.consumerTag);
      c.queue.removeConsumer(c);
    }
    if (!m.nowait) this.ch.send({ id: M.BASIC_CANCEL_OK, consumerTag: m.consumerTag });
  }

  hasCapacity(c: Consumer): boolean {
    if (this.ch.closing || !this.ch.host.outbound.writable) return false;
    if (c.noAck) return true;
    if (c.prefetch > 0 && c.unacked >= c.prefetch) return false;
    return this.channelPrefetch === 0 || this.unacked.size < this.channelPrefetch;
  }

  deliver(c: Consumer, entry: QueueEntry): void {
    const tag = this.nextDeliveryTag++;
    const msg = entry.message;
    // Written before it is recorded as unacked: if encoding throws, no phantom delivery holds the consumer's credit.
    this.ch.sendDelivery(c.tag, tag, entry.redelivered, msg, deliveryHeader(entry, c.queue));
    const st = this.ch.stats;
    if (!c.noAck) {
      this.unacked.set(tag, { entry, queue: c.queue, consumer: c, deliveredAt: this.ch.host.broker.clock.now() });
      c.unacked++;
      st.deliver++;
    } else {
      st.deliverNoAck++;
    }
    if (entry.redelivered) st.redeliver++;
    // Settled only after the (possibly paged) body was read.
    if (c.noAck) c.queue.settle(entry);
  }

  cancelledByBroker(c: Consumer): void {
    this.consumers.delete(c.tag);
    if (this.ch.host.consumerCancelNotify && !this.ch.closing) {
      // After the reply to the method that deleted the queue (RabbitMQ sends delete-ok first).
      process.nextTick(() => {
        if (!this.ch.closing) this.ch.send({ id: M.BASIC_CANCEL, consumerTag: c.tag, nowait: true });
      });
    }
  }

  onGet(m: M.BasicGet): void {
    const name = this.ch.queueName(m.queue);
    this.ch.host.access?.check('read', 'queue', name, M.BASIC_GET);
    const queue = this.ch.vhost.getQueue(name, this.ch.host);
    queue.touch(); // a queue polled with basic.get is in use (x-expires)
    const entry = queue.get(m.noAck);
    const st = this.ch.stats;
    if (entry === undefined) {
      st.getEmpty++;
      this.ch.send({ id: M.BASIC_GET_EMPTY, clusterId: '' });
      return;
    }
    if (m.noAck) st.getNoAck++;
    else st.get++;
    if (entry.redelivered) st.redeliver++;
    const tag = this.nextDeliveryTag++;
    if (!m.noAck) this.unacked.set(tag, { entry, queue, consumer: null, deliveredAt: this.ch.host.broker.clock.now() });
    const msg = entry.message;
    this.ch.send({
      id: M.BASIC_GET_OK,
      deliveryTag: tag,
      redelivered: entry.redelivered,
      exchange: msg.exchange,
      routingKey: msg.routingKey,
      messageCount: queue.messageCount,
    });
    this.ch.sendContent(msg, deliveryHeader(entry, queue));
    if (m.noAck) queue.settle(entry);
  }

  onQos(m: M.BasicQos): void {
    if (m.prefetchSize !== 0) throw notImplemented(`prefetch_size!=0 (${m.prefetchSize})`, M.BASIC_QOS);
    if (m.global) this.channelPrefetch = m.prefetchCount;
    else this.consumerPrefetch = m.prefetchCount;
    this.ch.send({ id: M.BASIC_QOS_OK });
    if (m.global) this.redispatch();
  }

  // ------------------------------------------------------------ for statistics

  get unackedCount(): number {
    return this.unacked.size;
  }

  /** When the oldest delivery still waiting for its ack went out (deliveries are kept in tag order). */
  oldestUnackedAt(): number | null {
    for (const u of this.unacked.values()) return u.deliveredAt;
    return null;
  }

  /** The channel-wide prefetch if set, else the one new consumers get (RabbitMQ's prefetch_count). */
  get prefetchCount(): number {
    return this.channelPrefetch > 0 ? this.channelPrefetch : this.consumerPrefetch;
  }

  get channelPrefetchCount(): number {
    return this.channelPrefetch;
  }

  // ------------------------------------------------------------ acks

  /** Entries covered by (tag, multiple); throws PRECONDITION_FAILED for an unknown tag. */
  private collect(tag: number, multiple: boolean, method: MethodRef): Unacked[] {
    const out: Unacked[] = [];
    if (multiple) {
      // RabbitMQ: the named tag itself must be outstanding (0 means everything).
      if (tag !== 0 && !this.unacked.has(tag)) throw unknownTag(tag, method);
      for (const [t, u] of this.unacked) {
        if (tag !== 0 && t > tag) break;
        out.push(u);
        this.unacked.delete(t);
      }
      return out;
    }
    const u = this.unacked.get(tag);
    if (u === undefined) throw unknownTag(tag, method);
    this.unacked.delete(tag);
    out.push(u);
    return out;
  }

  onAck(tag: number, multiple: boolean): void {
    const tx = this.ch.tx;
    if (tx !== null) {
      // Held until commit; rollback forgets it and the deliveries stay unacked.
      this.checkTag(tag, multiple, M.BASIC_ACK);
      tx.addAck(() => this.settleAll(this.collect(tag, multiple, M.BASIC_ACK)));
      return;
    }
    this.settleAll(this.collect(tag, multiple, M.BASIC_ACK));
  }

  /** basic.nack and basic.reject (multiple=false). */
  onNack(tag: number, multiple: boolean, requeue: boolean, method: MethodRef): void {
    const apply = (): void => {
      const list = this.collect(tag, multiple, method);
      if (requeue) this.requeueList(list);
      else this.rejectList(list);
    };
    const tx = this.ch.tx;
    if (tx !== null) {
      this.checkTag(tag, multiple, method);
      tx.addAck(apply);
    } else apply();
  }

  /** In tx mode, an unknown tag is still refused at once. */
  private checkTag(tag: number, multiple: boolean, method: MethodRef): void {
    if (multiple && tag === 0) return;
    if (!this.unacked.has(tag)) throw unknownTag(tag, method);
  }

  private settleAll(list: Unacked[]): void {
    this.ch.stats.ack += list.length;
    for (const u of list) {
      if (u.consumer !== null) u.consumer.unacked--;
      u.queue.ack(u.entry);
    }
    this.afterRelease(list);
  }

  /** Rejected without requeue: dead-lettered (reason rejected) or dropped. */
  private rejectList(list: Unacked[]): void {
    for (const u of list) {
      if (u.consumer !== null) u.consumer.unacked--;
      u.queue.reject(u.entry);
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
    // A closing channel releases its deliveries; otherwise the client asked (nack, reject, recover).
    for (const [q, entries] of byQueue) q.requeue(entries, this.ch.closing ? 'released' : 'client');
    this.afterRelease(list);
  }

  /** basic.recover (requeue=true) and channel teardown: every unacked delivery goes back. */
  requeueAll(): void {
    const list = [...this.unacked.values()];
    this.unacked.clear();
    this.requeueList(list);
  }

  /** Capacity was freed: let the affected queues deliver again. */
  private afterRelease(list: Unacked[]): void {
    if (this.ch.closing) return;
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
  checkConsumerTimeout(now: number, defaultTimeout: number): AmqpError | null {
    for (const u of this.unacked.values()) {
      const timeout = u.queue.policy.consumerTimeout ?? defaultTimeout;
      if (timeout > 0 && now - u.deliveredAt > timeout) {
        return preconditionFailed(
          `delivery acknowledgement on channel ${this.ch.id} timed out. Timeout value used: ${timeout} ms. This timeout value can be configured, see consumers doc guide to learn more`,
        );
      }
    }
    return null;
  }

  /** The channel is going away: cancel consumers, requeue unacked messages. */
  cleanup(): void {
    for (const c of this.consumers.values()) c.queue.removeConsumer(c);
    this.consumers.clear();
    if (this.replyToken !== null) {
      this.replyTo.unregister(this.replyToken);
      this.publishOptions.replyToken = null;
    }
    this.requeueAll();
  }
}

function unknownTag(tag: number, method: MethodRef): AmqpError {
  return preconditionFailed(`unknown delivery tag ${tag}`, method);
}

/** The content header a consumer sees: the publisher's bytes, plus x-delivery-count once a message has been returned. */
function deliveryHeader(entry: QueueEntry, queue: Queue): Buffer {
  // Quorum queues always carry the count (0 on first delivery); others only once returned.
  if (!queue.tracksDeliveries || (entry.returns === 0 && queue.policy.type !== 'quorum')) return entry.message.header;
  return entry.message.headerWithDeliveryCount(entry.returns);
}
