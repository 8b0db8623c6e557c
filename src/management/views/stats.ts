// Rates and counters in RabbitMQ's shape (`x` and `x_details: {rate}`), read from broker/stats.

import type { Broker } from '../../broker/broker.js';
import { MessageCounters, messageStatsJson, type MessageStatsJson } from '../../broker/stats/index.js';

export const rate = (r: number): { rate: number } => ({ rate: r });

/** message_stats over the vhosts a user sees: the broker's totals for monitors, else the sum of theirs. */
export function messageStatsOver(broker: Broker, vhosts: readonly string[] | 'all'): MessageStatsJson {
  if (vhosts === 'all') return messageStatsJson(broker.stats.messages);
  const sum = new MessageCounters();
  for (const name of vhosts) {
    const v = broker.vhosts.get(name);
    if (v !== undefined) sum.addAll(v.stats);
  }
  return messageStatsJson(sum);
}

export function churnRates(broker: Broker): Record<string, number | { rate: number }> {
  return broker.stats.churn.toJson();
}
