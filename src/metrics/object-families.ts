// The per-object metric families, grouped as rabbitmq_prometheus groups them (its `family`
// names for /metrics/detailed), each reading a value from a queue, a channel or an exchange.
// /metrics sums each family over its objects; /metrics/per-object and /metrics/detailed give one
// sample per object. Names, types and help follow RabbitMQ 3.10; where warren keeps a total per
// channel rather than per channel and exchange (or queue), the sample carries channel and vhost.

import type { ChannelStats } from '../broker/stats/channel-stats.js';
import type { Exchange } from '../broker/exchange/exchange.js';
import type { Queue } from '../broker/queue/queue.js';
import type { MetricType } from './text-format.js';

export interface ObjectFamily<T> {
  /** The name after the prefix (rabbitmq_ or rabbitmq_detailed_). */
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  value(o: T): number;
}

export interface FamilyGroup<T> {
  /** rabbitmq_prometheus's group name (the `family` parameter of /metrics/detailed). */
  readonly group: string;
  readonly families: readonly ObjectFamily<T>[];
}

const g = <T>(name: string, help: string, value: (o: T) => number): ObjectFamily<T> => ({ name, type: 'gauge', help, value });
const c = <T>(name: string, help: string, value: (o: T) => number): ObjectFamily<T> => ({ name, type: 'counter', help, value });

export const QUEUE_GROUPS: readonly FamilyGroup<Queue>[] = [
  {
    group: 'queue_coarse_metrics',
    families: [
      g('queue_messages_ready', 'Messages ready to be delivered to consumers', (q) => q.depth),
      g('queue_messages_unacked', 'Messages delivered to consumers but not yet acknowledged', (q) => q.unacked),
      g('queue_messages', 'Sum of ready and unacknowledged messages - total queue depth', (q) => q.depth + q.unacked),
    ],
  },
  {
    group: 'queue_metrics',
    families: [
      g('queue_consumers', 'Consumers on a queue', (q) => q.consumerCount),
      g('queue_messages_ready_bytes', 'Size in bytes of ready messages', (q) => q.readyBytes),
      g('queue_messages_paged_out', 'Messages paged out to disk', (q) => q.pagedCount),
    ],
  },
  {
    group: 'queue_delivery_metrics',
    families: [
      c('queue_get_ack_total', 'Total number of messages fetched from a queue with basic.get in manual acknowledgement mode', (q) => q.stats.get),
      c('queue_get_total', 'Total number of messages fetched from a queue with basic.get in automatic acknowledgement mode', (q) => q.stats.getNoAck),
      c('queue_messages_delivered_ack_total', 'Total number of messages delivered from a queue to consumers in manual acknowledgement mode', (q) => q.stats.deliver),
      c('queue_messages_delivered_total', 'Total number of messages delivered from a queue to consumers in automatic acknowledgement mode', (q) => q.stats.deliverNoAck),
      c('queue_messages_redelivered_total', 'Total number of messages redelivered from a queue to consumers', (q) => q.stats.redeliver),
      c('queue_messages_acked_total', 'Total number of messages acknowledged by consumers on a queue', (q) => q.stats.ack),
      c('queue_get_empty_total', 'Total number of times basic.get operations fetched no message on a queue', (q) => q.stats.getEmpty),
    ],
  },
  {
    group: 'queue_exchange_metrics',
    families: [c('queue_messages_published_total', 'Total number of messages published into a queue through an exchange', (q) => q.stats.publish)],
  },
];

/** queue_consumer_count is the cheap subset of queue_metrics RabbitMQ offers for /metrics/detailed. */
export const QUEUE_CONSUMER_COUNT: FamilyGroup<Queue> = {
  group: 'queue_consumer_count',
  families: [g('queue_consumers', 'Consumers on a queue', (q) => q.consumerCount)],
};

export const CHANNEL_GROUPS: readonly FamilyGroup<ChannelStats>[] = [
  {
    group: 'channel_metrics',
    families: [
      g('channel_consumers', 'Consumers on a channel', (s) => s.probe?.consumerCount() ?? 0),
      g('channel_messages_unacked', 'Delivered but not yet acknowledged messages', (s) => s.probe?.unackedCount() ?? 0),
      g('channel_messages_unconfirmed', 'Published but not yet confirmed messages', (s) => s.probe?.unconfirmedCount() ?? 0),
      g('consumer_prefetch', 'Limit of unacknowledged messages for each consumer', (s) => s.probe?.consumerPrefetch() ?? 0),
      g('channel_prefetch', 'Total limit of unacknowledged messages for all consumers on a channel', (s) => s.probe?.channelPrefetch() ?? 0),
    ],
  },
  {
    group: 'channel_exchange_metrics',
    families: [
      c('channel_messages_published_total', 'Total number of messages published into an exchange on a channel', (s) => s.publish),
      c('channel_messages_confirmed_total', 'Total number of messages published into an exchange and confirmed on the channel', (s) => s.confirm),
      c('channel_messages_unroutable_returned_total', 'Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable', (s) => s.returnUnroutable),
      c('channel_messages_unroutable_dropped_total', 'Total number of messages published as non-mandatory into an exchange and dropped as unroutable', (s) => s.dropUnroutable),
    ],
  },
  {
    group: 'channel_queue_metrics',
    families: [
      c('channel_get_ack_total', 'Total number of messages fetched with basic.get in manual acknowledgement mode', (s) => s.get),
      c('channel_get_total', 'Total number of messages fetched with basic.get in automatic acknowledgement mode', (s) => s.getNoAck),
      c('channel_messages_delivered_ack_total', 'Total number of messages delivered to consumers in manual acknowledgement mode', (s) => s.deliver),
      c('channel_messages_delivered_total', 'Total number of messages delivered to consumers in automatic acknowledgement mode', (s) => s.deliverNoAck),
      c('channel_messages_redelivered_total', 'Total number of messages redelivered to consumers', (s) => s.redeliver),
      c('channel_messages_acked_total', 'Total number of messages acknowledged by consumers', (s) => s.ack),
      c('channel_get_empty_total', 'Total number of times basic.get operations fetched no message', (s) => s.getEmpty),
    ],
  },
];

export const EXCHANGE_GROUPS: readonly FamilyGroup<Exchange>[] = [
  {
    group: 'exchange_metrics',
    families: [c('exchange_messages_published_total', 'Total number of messages published into an exchange', (e) => e.stats.publishIn)],
  },
];
