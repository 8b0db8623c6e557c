// Cumulative message counters, one set per queue, exchange, vhost, channel and one for the broker.
// They are plain integer fields bumped with `+= 1` on objects the hot path already holds: no map
// lookups, no allocation per message. Rates come from RateSampler, never from the hot path.

/** The counters RabbitMQ reports in `message_stats` (the JSON name is the key; see STAT_KEYS). */
export class MessageCounters {
  /** Messages published (channel, vhost, broker) or enqueued into the queue (queue). */
  publish = 0;
  /** Messages published into this exchange. */
  publishIn = 0;
  /** Message copies this exchange routed into queues (one per queue reached). */
  publishOut = 0;
  /** Deliveries to consumers that must ack. */
  deliver = 0;
  /** Deliveries to consumers in no-ack mode. */
  deliverNoAck = 0;
  /** basic.get answered with a message, to be acked. */
  get = 0;
  /** basic.get answered with a message, no-ack. */
  getNoAck = 0;
  /** basic.get answered with get-empty. */
  getEmpty = 0;
  /** Deliveries acked by the client. */
  ack = 0;
  /** Deliveries (of any kind) of messages seen before. */
  redeliver = 0;
  /** Publishes confirmed to the publisher (basic.ack). */
  confirm = 0;
  /** Mandatory publishes routed nowhere and sent back (basic.return). */
  returnUnroutable = 0;
  /** Publishes routed nowhere and dropped. */
  dropUnroutable = 0;
  /** Publishes that reached at least one queue (Prometheus: messages_routed). */
  routed = 0;
  /** Publishes received on channels in confirm mode (Prometheus: messages_received_confirm). */
  publishConfirm = 0;

  /** Filled by RateSampler: the counters at the last sample and the per-second rates since the one before. */
  sample: RateSample | null = null;

  /** Add every counter of `other` (folding a deleted vhost or queue into a total). */
  addAll(other: MessageCounters): void {
    for (const k of COUNTER_FIELDS) this[k] += other[k];
  }

  /** Copy every counter of `other`. */
  setAll(other: MessageCounters): void {
    for (const k of COUNTER_FIELDS) this[k] = other[k];
  }
}

export type CounterField = Exclude<keyof MessageCounters, 'sample' | 'addAll' | 'setAll'>;

/** Every counter field, in STAT_KEYS order first. */
export const COUNTER_FIELDS: readonly CounterField[] = [
  'publish', 'publishIn', 'publishOut', 'deliver', 'deliverNoAck', 'get', 'getNoAck', 'getEmpty', 'ack',
  'redeliver', 'confirm', 'returnUnroutable', 'dropUnroutable', 'routed', 'publishConfirm',
];

/** RabbitMQ's `message_stats` keys (deliver_get is derived: deliver + deliver_no_ack + get + get_no_ack). */
export type MessageStatKey =
  | 'publish' | 'publish_in' | 'publish_out' | 'deliver' | 'deliver_no_ack' | 'deliver_get' | 'get' | 'get_no_ack'
  | 'get_empty' | 'ack' | 'redeliver' | 'confirm' | 'return_unroutable' | 'drop_unroutable';

/** Each `message_stats` key and the counter it reads ('deliver_get' is a sum). */
export const STAT_KEYS: readonly (readonly [MessageStatKey, CounterField | null])[] = [
  ['publish', 'publish'],
  ['publish_in', 'publishIn'],
  ['publish_out', 'publishOut'],
  ['deliver', 'deliver'],
  ['deliver_no_ack', 'deliverNoAck'],
  ['deliver_get', null],
  ['get', 'get'],
  ['get_no_ack', 'getNoAck'],
  ['get_empty', 'getEmpty'],
  ['ack', 'ack'],
  ['redeliver', 'redeliver'],
  ['confirm', 'confirm'],
  ['return_unroutable', 'returnUnroutable'],
  ['drop_unroutable', 'dropUnroutable'],
];

/**
 * What the sampler keeps per counter set (one array, so 100k queues cost one object each): the
 * COUNTER_FIELDS values at the last sample, then the per-second rates over the interval before it
 * (0 until two samples exist). See rateOf.
 */
export interface RateSample {
  /** Clock time of the last sample. */
  at: number;
  readonly data: Float64Array;
}

/** Deliveries of every kind, RabbitMQ's deliver_get. */
export function deliverGet(c: MessageCounters): number {
  return c.deliver + c.deliverNoAck + c.get + c.getNoAck;
}

/** The per-second rate of `field` at the last sample (0 before there are two). */
export function rateOf(c: MessageCounters, field: CounterField): number {
  const s = c.sample;
  return s === null ? 0 : (s.data[COUNTER_FIELDS.length + COUNTER_FIELDS.indexOf(field)] as number);
}

/** Message key sets RabbitMQ shows per object kind. */
export const QUEUE_STAT_KEYS: readonly MessageStatKey[] = [
  'publish', 'deliver', 'deliver_no_ack', 'deliver_get', 'get', 'get_no_ack', 'get_empty', 'ack', 'redeliver',
];
export const EXCHANGE_STAT_KEYS: readonly MessageStatKey[] = ['publish_in', 'publish_out'];
export const CHANNEL_STAT_KEYS: readonly MessageStatKey[] = [
  'publish', 'confirm', 'return_unroutable', 'drop_unroutable', 'deliver', 'deliver_no_ack', 'deliver_get', 'get',
  'get_no_ack', 'get_empty', 'ack', 'redeliver',
];
export const VHOST_STAT_KEYS: readonly MessageStatKey[] = CHANNEL_STAT_KEYS;
export const ALL_STAT_KEYS: readonly MessageStatKey[] = STAT_KEYS.map(([k]) => k);
