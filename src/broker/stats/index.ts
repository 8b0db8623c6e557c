// Message statistics: counters on queues, exchanges, vhosts, channels and the broker; churn; rates.

export { MessageCounters, COUNTER_FIELDS, STAT_KEYS, ALL_STAT_KEYS, QUEUE_STAT_KEYS, EXCHANGE_STAT_KEYS, CHANNEL_STAT_KEYS, VHOST_STAT_KEYS, deliverGet, rateOf } from './message-counters.js';
export type { CounterField, MessageStatKey, RateSample } from './message-counters.js';
export { ChurnCounters, CHURN_KEYS } from './churn.js';
export { MessageSizes, MESSAGE_SIZE_BOUNDS } from './message-sizes.js';
export { ChannelStats, type ChannelIdentity, type ChannelProbe } from './channel-stats.js';
export { BrokerStats } from './broker-stats.js';
export { RateSampler, SAMPLE_INTERVAL_MS, sampleCounters, type CounterSource } from './rate-sampler.js';
export { messageStatsJson, type MessageStatsJson, type MessageStatsOptions } from './message-stats-json.js';
