// The exchange and queue classes on a channel: declare, delete, bind, unbind, purge. Permission
// checks (broker/auth/resource-access) run first, in RabbitMQ's order. Replies to methods that
// change durable definitions wait until those changes are on disk.

import { checkBinding, checkExchangeDeclare, checkExchangeDelete, queueDeclareGuard } from '../broker/auth/resource-access.js';
import { REPLY_TO_QUEUE } from '../broker/publish/direct-reply-to.js';
import * as M from '../protocol/generated/amqp.js';
import type { ChannelContext } from './channel-context.js';

export type DeclareMethod =
  | M.ExchangeDeclare
  | M.ExchangeDelete
  | M.ExchangeBind
  | M.ExchangeUnbind
  | M.QueueDeclare
  | M.QueueBind
  | M.QueueUnbind
  | M.QueuePurge
  | M.QueueDelete;

/** Handles one exchange.* or queue.* method. */
export function handleDeclareMethod(ch: ChannelContext, m: DeclareMethod): void {
  const vhost = ch.vhost;
  const access = ch.host.access;
  switch (m.id) {
    case M.EXCHANGE_DECLARE:
      if (access !== null && !m.passive) {
        vhost.checkExchangeType(m.type);
        checkExchangeDeclare(access, vhost, m.exchange, m.arguments);
      }
      vhost.declareExchange(m.exchange, m.type, {
        passive: m.passive,
        durable: m.durable,
        autoDelete: m.autoDelete,
        internal: m.internal,
        args: m.arguments,
      });
      if (!m.nowait) ch.replyDurably({ id: M.EXCHANGE_DECLARE_OK });
      return;
    case M.EXCHANGE_DELETE:
      if (access !== null) checkExchangeDelete(access, m.exchange);
      vhost.deleteExchange(m.exchange, m.ifUnused);
      if (!m.nowait) ch.replyDurably({ id: M.EXCHANGE_DELETE_OK });
      return;
    case M.EXCHANGE_BIND:
      if (access !== null) checkBinding(access, vhost, 'exchange', m.destination, m.source, m.routingKey, M.EXCHANGE_BIND);
      vhost.bindExchange(m.destination, m.source, m.routingKey, m.arguments);
      if (!m.nowait) ch.replyDurably({ id: M.EXCHANGE_BIND_OK });
      return;
    case M.EXCHANGE_UNBIND:
      if (access !== null) checkBinding(access, vhost, 'exchange', m.destination, m.source, m.routingKey, M.EXCHANGE_UNBIND);
      vhost.unbindExchange(m.destination, m.source, m.routingKey, m.arguments);
      if (!m.nowait) ch.replyDurably({ id: M.EXCHANGE_UNBIND_OK });
      return;
    case M.QUEUE_DECLARE: {
      if (m.queue === REPLY_TO_QUEUE) {
        // The direct reply-to pseudo-queue always exists: RabbitMQ 3.10 answers every declare of it,
        // passive or not, whatever the flags and arguments, with 0 messages and 1 consumer (RPC
        // examples in pika, Bunny, Java, PHP and Go declare it before consuming).
        if (!m.nowait) ch.send({ id: M.QUEUE_DECLARE_OK, queue: REPLY_TO_QUEUE, messageCount: 0, consumerCount: 1 });
        return;
      }
      // Other names under that prefix are only looked up (NOT_FOUND if missing), never created or refused with ACCESS_REFUSED.
      const passive = m.passive || m.queue.startsWith(REPLY_TO_QUEUE);
      const r = vhost.declareQueue(
        m.queue,
        { passive, durable: m.durable, exclusive: m.exclusive, autoDelete: m.autoDelete, args: m.arguments },
        ch.host,
        access === null || passive ? null : queueDeclareGuard(access, ch.host.broker.limits.vhost(vhost.name)),
      );
      ch.lastQueue = r.queue.name;
      if (!m.nowait) {
        ch.replyDurably({ id: M.QUEUE_DECLARE_OK, queue: r.queue.name, messageCount: r.messageCount, consumerCount: r.consumerCount });
      }
      return;
    }
    case M.QUEUE_BIND: {
      const queue = ch.queueName(m.queue);
      const key = bindKey(m.routingKey, m.queue, ch.lastQueue);
      if (access !== null) checkBinding(access, vhost, 'queue', queue, m.exchange, key, M.QUEUE_BIND);
      vhost.bindQueue(queue, m.exchange, key, m.arguments, ch.host);
      if (!m.nowait) ch.replyDurably({ id: M.QUEUE_BIND_OK });
      return;
    }
    case M.QUEUE_UNBIND: {
      const queue = ch.queueName(m.queue);
      const key = bindKey(m.routingKey, m.queue, ch.lastQueue);
      if (access !== null) checkBinding(access, vhost, 'queue', queue, m.exchange, key, M.QUEUE_UNBIND);
      vhost.unbindQueue(queue, m.exchange, key, m.arguments, ch.host);
      ch.replyDurably({ id: M.QUEUE_UNBIND_OK });
      return;
    }
    case M.QUEUE_PURGE: {
      const queue = ch.queueName(m.queue);
      access?.check('read', 'queue', queue, M.QUEUE_PURGE);
      const n = vhost.purgeQueue(queue, ch.host);
      if (!m.nowait) ch.send({ id: M.QUEUE_PURGE_OK, messageCount: n });
      return;
    }
    case M.QUEUE_DELETE: {
      const queue = ch.queueName(m.queue);
      access?.check('configure', 'queue', queue, M.QUEUE_DELETE);
      const n = vhost.deleteQueue(queue, m.ifUnused, m.ifEmpty, ch.host);
      if (!m.nowait) ch.replyDurably({ id: M.QUEUE_DELETE_OK, messageCount: n });
      return;
    }
  }
}

/** RabbitMQ: an empty routing key with an empty queue name binds with the last queue's name. */
function bindKey(routingKey: string, queue: string, lastQueue: string): string {
  return routingKey === '' && queue === '' ? lastQueue : routingKey;
}
