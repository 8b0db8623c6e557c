// Broker-wide families under RabbitMQ's names: churn counters, object totals, rabbitmq_global_*
// (labelled protocol and queue_type as RabbitMQ 3.10 labels them), and the message size histogram.

import type { Broker } from '../broker/broker.js';
import { MessageCounters, type CounterField } from '../broker/stats/message-counters.js';
import { MESSAGE_SIZE_BOUNDS } from '../broker/stats/message-sizes.js';
import type { QueueTotals } from './queue-totals.js';
import { labels, type TextWriter } from './text-format.js';

const PROTOCOL = labels([['protocol', 'amqp091']]);

/** RabbitMQ's queue type names, and warren's type each one reads ('stream' has no queues: zeros). */
const QUEUE_TYPES: readonly (readonly [string, string])[] = [
  ['rabbit_classic_queue', 'classic'],
  ['rabbit_quorum_queue', 'quorum'],
  ['rabbit_stream_queue', 'stream'],
];

const NONE = new MessageCounters();

export function writeChurn(w: TextWriter, broker: Broker, prefix = 'rabbitmq_'): void {
  const c = broker.stats.churn;
  w.single(`${prefix}connections_opened_total`, 'counter', 'Total number of connections opened', c.connectionCreated);
  w.single(`${prefix}connections_closed_total`, 'counter', 'Total number of connections closed or terminated', c.connectionClosed);
  w.single(`${prefix}channels_opened_total`, 'counter', 'Total number of channels opened', c.channelCreated);
  w.single(`${prefix}channels_closed_total`, 'counter', 'Total number of channels closed', c.channelClosed);
  w.single(`${prefix}queues_declared_total`, 'counter', 'Total number of queues declared', c.queueDeclared);
  w.single(`${prefix}queues_created_total`, 'counter', 'Total number of queues created', c.queueCreated);
  w.single(`${prefix}queues_deleted_total`, 'counter', 'Total number of queues deleted', c.queueDeleted);
}

/** rabbitmq_connections, _channels, _consumers, _queues. */
export function writeTotals(w: TextWriter, broker: Broker, connections: number, totals: QueueTotals): void {
  w.single('rabbitmq_connections', 'gauge', 'Connections currently open', connections);
  w.single('rabbitmq_channels', 'gauge', 'Channels currently open', broker.stats.channels.size);
  w.single('rabbitmq_consumers', 'gauge', 'Consumers currently connected', totals.consumers);
  w.single('rabbitmq_queues', 'gauge', 'Queues available', totals.queues);
}

export function writeGlobal(w: TextWriter, broker: Broker, totals: QueueTotals): void {
  const s = broker.stats;
  const m = broker.messageTotals();
  const consumers = totals.consumers;
  const byType = new Map<string, MessageCounters>();
  for (const [type, c] of s.retiredByQueueType) byType.set(type, c);
  for (const [type, c] of totals.byType) {
    const sum = new MessageCounters();
    sum.addAll(c);
    const retired = s.retiredByQueueType.get(type);
    if (retired !== undefined) sum.addAll(retired);
    byType.set(type, sum);
  }
  let publishers = 0;
  for (const ch of s.channels) if (ch.publish > 0) publishers++;

  w.family('rabbitmq_global_consumers', 'gauge', 'Current number of consumers');
  w.sample('rabbitmq_global_consumers', PROTOCOL, consumers);
  const perType = (name: string, help: string, read: (c: MessageCounters) => number): void => {
    w.family(name, 'counter', help);
    for (const [label, type] of QUEUE_TYPES) {
      w.sample(name, labels([['protocol', 'amqp091'], ['queue_type', label]]), read(byType.get(type) ?? NONE));
    }
  };
  const plain = (name: string, help: string, field: CounterField): void => {
    w.family(name, 'counter', help);
    w.sample(name, PROTOCOL, m[field]);
  };
  perType('rabbitmq_global_messages_acknowledged_total', 'Total number of messages acknowledged by consumers', (c) => c.ack);
  plain('rabbitmq_global_messages_confirmed_total', 'Total number of messages confirmed to publishers', 'confirm');
  writeDeadLettered(w, broker);
  perType('rabbitmq_global_messages_delivered_consume_auto_ack_total', 'Total number of messages delivered to consumers using basic.consume with automatic acknowledgment', (c) => c.deliverNoAck);
  perType('rabbitmq_global_messages_delivered_consume_manual_ack_total', 'Total number of messages delivered to consumers using basic.consume with manual acknowledgment', (c) => c.deliver);
  perType('rabbitmq_global_messages_delivered_get_auto_ack_total', 'Total number of messages delivered to consumers using basic.get with automatic acknowledgment', (c) => c.getNoAck);
  perType('rabbitmq_global_messages_delivered_get_manual_ack_total', 'Total number of messages delivered to consumers using basic.get with manual acknowledgment', (c) => c.get);
  perType('rabbitmq_global_messages_delivered_total', 'Total number of messages delivered to consumers', (c) => c.deliver + c.deliverNoAck + c.get + c.getNoAck);
  perType('rabbitmq_global_messages_get_empty_total', 'Total number of times basic.get operations fetched no message', (c) => c.getEmpty);
  plain('rabbitmq_global_messages_received_confirm_total', 'Total number of messages received from publishers expecting confirmations', 'publishConfirm');
  plain('rabbitmq_global_messages_received_total', 'Total number of messages received from publishers', 'publish');
  perType('rabbitmq_global_messages_redelivered_total', 'Total number of messages redelivered to consumers', (c) => c.redeliver);
  plain('rabbitmq_global_messages_routed_total', 'Total number of messages routed to queues or streams', 'routed');
  plain('rabbitmq_global_messages_unroutable_dropped_total', 'Total number of messages published as non-mandatory into an exchange and dropped as unroutable', 'dropUnroutable');
  plain('rabbitmq_global_messages_unroutable_returned_total', 'Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable', 'returnUnroutable');
  w.family('rabbitmq_global_publishers', 'gauge', 'Current number of publishers');
  w.sample('rabbitmq_global_publishers', PROTOCOL, publishers);
}

/** Dead-letter reasons as RabbitMQ names its families (it says delivery_limit, expired, maxlen, rejected). */
const DEAD_LETTER_REASONS = ['delivery_limit', 'expired', 'maxlen', 'rejected'] as const;

/**
 * rabbitmq_global_messages_dead_lettered_<reason>_total{queue_type, dead_letter_strategy}: strategy
 * `at_most_once` for a queue with a dead-letter exchange, `disabled` without one (the message is dropped).
 * Warren's classic and quorum queues both dead-letter at most once (no at_least_once strategy).
 */
function writeDeadLettered(w: TextWriter, broker: Broker): void {
  const s = broker.stats;
  w.family('rabbitmq_global_messages_dead_lettered_confirmed_total', 'counter', 'Total number of messages dead-lettered and confirmed by target queues');
  w.sample('rabbitmq_global_messages_dead_lettered_confirmed_total', labels([['queue_type', 'rabbit_quorum_queue'], ['dead_letter_strategy', 'at_least_once']]), 0);
  for (const reason of DEAD_LETTER_REASONS) {
    const name = `rabbitmq_global_messages_dead_lettered_${reason}_total`;
    w.family(name, 'counter', `Total number of messages dead-lettered due to ${reason.replace('_', '-')}`);
    for (const [label, type] of QUEUE_TYPES.slice(0, 2)) {
      for (const [strategy, hadDlx] of [['at_most_once', true], ['disabled', false]] as const) {
        w.sample(name, labels([['queue_type', label], ['dead_letter_strategy', strategy]]), s.deadLetteredCount(type, reason, hadDlx));
      }
    }
  }
}

/** rabbitmq_message_size_bytes: the `le` values are spelled as RabbitMQ's dashboards query them. */
export function writeMessageSizes(w: TextWriter, broker: Broker): void {
  const h = broker.stats.messageSizes;
  const name = 'rabbitmq_message_size_bytes';
  w.family(name, 'histogram', 'Size of messages received from publishers');
  const cum = h.cumulative();
  MESSAGE_SIZE_BOUNDS.forEach((_, i) => w.sample(`${name}_bucket`, labels([['protocol', 'amqp091'], ['le', LE[i] as string]]), cum[i] as number));
  w.sample(`${name}_bucket`, labels([['protocol', 'amqp091'], ['le', '+Inf']]), cum[cum.length - 1] as number);
  w.sample(`${name}_sum`, PROTOCOL, h.sum);
  w.sample(`${name}_count`, PROTOCOL, h.count);
}

/** MESSAGE_SIZE_BOUNDS as the Erlang client prints them (and the dashboards query them): 100.0 ... 1e+08. */
const LE: readonly string[] = ['100.0', '1000.0', '10000.0', '100000.0', '1e+06', '1e+07', '5e+07', '1e+08'];
