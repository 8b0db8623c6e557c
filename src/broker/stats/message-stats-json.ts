// RabbitMQ's `message_stats` object: `{ publish: n, publish_details: { rate: r }, ... }`.

import { ALL_STAT_KEYS, STAT_KEYS, deliverGet, rateOf, type MessageCounters, type MessageStatKey } from './message-counters.js';

export type MessageStatsJson = Record<string, number | { rate: number }>;

export interface MessageStatsOptions {
  /** The keys to render (default: all of them); see QUEUE_STAT_KEYS and friends. */
  keys?: readonly MessageStatKey[];
  /** Leave out keys whose count is 0, as RabbitMQ does for objects that never saw that kind of message. */
  omitZero?: boolean;
}

/** Render `c` as RabbitMQ's message_stats, each count followed by its `<key>_details: { rate }`. */
export function messageStatsJson(c: MessageCounters, opts: MessageStatsOptions = {}): MessageStatsJson {
  const wanted = opts.keys ?? ALL_STAT_KEYS;
  const out: MessageStatsJson = {};
  for (const [key, field] of STAT_KEYS) {
    if (!wanted.includes(key)) continue;
    let value: number;
    let rate = 0;
    if (field === null) {
      value = deliverGet(c);
      for (const f of ['deliver', 'deliverNoAck', 'get', 'getNoAck'] as const) rate += rateOf(c, f);
    } else {
      value = c[field];
      rate = rateOf(c, field);
    }
    if (opts.omitZero === true && value === 0) continue;
    out[key] = value;
    out[`${key}_details`] = { rate: round(rate) };
  }
  return out;
}

/** RabbitMQ prints rates as floats with one decimal (e.g. 12.4). */
function round(r: number): number {
  return Math.round(r * 10) / 10;
}
