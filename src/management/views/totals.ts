// Message totals of a vhost (messages, ready, unacknowledged, with rates) and its message_stats.

import type { Broker } from '../../broker/broker.js';
import { messageStatsJson, VHOST_STAT_KEYS } from '../../broker/stats/index.js';
import type { Json } from '../lists.js';
import { lengthsJson } from './stats.js';

export function vhostTotals(broker: Broker, name: string): Json {
  const v = broker.vhosts.get(name);
  if (v === undefined) return {};
  let ready = 0;
  let unacked = 0;
  for (const q of v.queues.values()) {
    ready += q.depth;
    unacked += q.unacked;
  }
  return {
    message_stats: messageStatsJson(v.stats, { keys: VHOST_STAT_KEYS }),
    ...lengthsJson(ready, unacked),
  };
}
