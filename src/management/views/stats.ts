// Rates and counters in RabbitMQ's shape (`x` and `x_details: {rate}`), read from broker/stats.

import type { Broker } from '../../broker/broker.js';
import { ALL_STAT_KEYS, MessageCounters, messageStatsJson, type MessageStatKey, type MessageStatsJson } from '../../broker/stats/index.js';

/** The overview's message_stats keys in RabbitMQ 3.10.8: no exchange-side publish_in/out there. */
const OVERVIEW_KEYS: readonly MessageStatKey[] = ALL_STAT_KEYS.filter((k) => k !== 'publish_in' && k !== 'publish_out');

export const rate = (r: number): { rate: number } => ({ rate: r });

/**
 * Message counts in RabbitMQ's shape. Their `_details.rate` is 0: warren samples the message
 * counters (message_stats), not the queue lengths.
 */
export function lengthsJson(ready: number, unacked: number): Record<string, number | { rate: number }> {
  return {
    messages: ready + unacked,
    messages_details: rate(0),
    messages_ready: ready,
    messages_ready_details: rate(0),
    messages_unacknowledged: unacked,
    messages_unacknowledged_details: rate(0),
  };
}

/** message_stats over the vhosts a user sees: the broker's totals for monitors, else the sum of theirs. */
export function messageStatsOver(broker: Broker, vhosts: readonly string[] | 'all'): MessageStatsJson {
  // messageTotals(): the broker's own counters are refreshed only by the 5 s sampler.
  if (vhosts === 'all') return messageStatsJson(broker.messageTotals(), { keys: OVERVIEW_KEYS });
  const sum = new MessageCounters();
  for (const name of vhosts) {
    const v = broker.vhosts.get(name);
    if (v !== undefined) sum.addAll(v.stats);
  }
  return messageStatsJson(sum, { keys: OVERVIEW_KEYS });
}

export function churnRates(broker: Broker): Record<string, number | { rate: number }> {
  return broker.stats.churn.toJson();
}
