// Rates and counters in RabbitMQ's shape (`x` and `x_details: {rate}`). The counters themselves come
// from the broker's statistics; until those exist every counter reads 0.

import type { ManagementContext } from '../context.js';
import type { Json } from '../lists.js';

export const rate = (r: number): { rate: number } => ({ rate: r });

const MESSAGE_KEYS = ['ack', 'confirm', 'deliver', 'deliver_get', 'deliver_no_ack', 'drop_unroutable', 'get', 'get_empty', 'get_no_ack', 'publish', 'redeliver', 'return_unroutable'] as const;
const CHURN_KEYS = ['channel_closed', 'channel_created', 'connection_closed', 'connection_created', 'queue_created', 'queue_declared', 'queue_deleted'] as const;

function counters(keys: readonly string[], values: (k: string) => number): Json {
  const out: Json = {};
  for (const k of keys) {
    out[k] = values(k);
    out[`${k}_details`] = rate(0);
  }
  return out;
}

export function globalMessageStats(_ctx: ManagementContext): Json {
  return counters(MESSAGE_KEYS, () => 0);
}

export function churnRates(_ctx: ManagementContext): Json {
  return counters(CHURN_KEYS, () => 0);
}
