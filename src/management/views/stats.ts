// Rates and counters in RabbitMQ's shape (`x` and `x_details: {rate}`), read from broker/stats.

import type { Broker } from '../../broker/broker.js';
import { ALL_STAT_KEYS, MessageCounters, messageStatsJson, type MessageStatKey, type MessageStatsJson } from '../../broker/stats/index.js';

/** The overview's message_stats keys in RabbitMQ 3.10.8: no exchange-side publish_in/out there. */
const OVERVIEW_KEYS: readonly MessageStatKey[] = ALL_STAT_KEYS.filter((k) => k !== 'publish_in' && k !== 'publish_out');

export const rate = (r: number): { rate: number } => ({ rate: r });

/** message_stats over the vhosts a user sees: the broker's totals for monitors, else the sum of theirs. */
export function messageStatsOver(broker: Broker, vhosts: readonly string[] | 'all'): MessageStatsJson {
  if (vhosts === 'all') return messageStatsJson(broker.stats.messages, { keys: OVERVIEW_KEYS });
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
