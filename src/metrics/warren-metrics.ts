// warren_* families: what RabbitMQ's names do not cover and operators alert on (see
// alerts/warren-alerts.yml): dead-lettering by reason, poison messages, paged messages, the
// store's fsyncs, confirms nacked, the oldest unacked delivery, queues nobody consumes.

import type { Broker } from '../broker/broker.js';
import type { QueueTotals } from './queue-totals.js';
import { labels, type TextWriter } from './text-format.js';

export function writeWarrenMetrics(w: TextWriter, broker: Broker, totals: QueueTotals): void {
  const m = broker.metrics;
  w.family('warren_dead_lettered_total', 'counter', 'Messages republished to a dead-letter exchange, by reason.');
  // Every reason is always present, so rate() and increase() have a series from the first scrape.
  const reasons = new Map<string, number>([['delivery_limit', 0], ['expired', 0], ['maxlen', 0], ['rejected', 0], ...m.deadLettered]);
  for (const [reason, n] of reasons) w.sample('warren_dead_lettered_total', labels([['reason', reason]]), n);
  w.single('warren_delivery_failed_total', 'counter', 'Deliveries that failed (a broker fault); the message was dead-lettered as rejected, or dropped.', m.deliveryFailed);
  w.single('warren_dead_letter_dropped_total', 'counter', 'Messages dead-lettered with no exchange to go to (dropped).', m.deadLetterDropped);
  w.single('warren_confirm_nacks_total', 'counter', 'Publishes answered with basic.nack (a queue refused them, or the store failed).', broker.stats.confirmNacks);
  w.single('warren_event_loop_lag_seconds', 'gauge', 'Worst event-loop delay over the last second (how late timers and I/O ran).', broker.loop.lagSeconds);
  w.single('warren_resource_alarm', 'gauge', '1 while publishers are blocked by a memory or disk alarm.', broker.alarms.blocked ? 1 : 0);

  const now = broker.clock.now();
  let oldest = now;
  for (const ch of broker.stats.channels) {
    const at = ch.probe?.oldestUnackedAt() ?? null;
    if (at !== null && at < oldest) oldest = at;
  }
  w.single('warren_oldest_unacked_seconds', 'gauge', 'Age of the oldest delivery still waiting for its ack, on any channel (0 if none).', (now - oldest) / 1000);

  w.single('warren_queue_messages_paged', 'gauge', 'Ready messages kept on disk only, all queues.', totals.paged);
  w.single('warren_queues_ready_without_consumers', 'gauge', 'Queues with ready messages and no consumer.', totals.unconsumed);
  w.single('warren_dead_letter_queues_with_messages', 'gauge', 'Queues that have received dead-lettered messages and hold ready messages.', totals.deadLetterQueues);
  w.single('warren_dead_letter_queue_messages', 'gauge', 'Ready messages in queues that have received dead-lettered messages.', totals.deadLetterMessages);

  // Each vhost has its own message store; operators alert on the totals.
  const stores = [...broker.vhosts.values()].flatMap((v) => (v.store === null ? [] : [v.store.messages.stats()]));
  if (stores.length > 0) {
    const sum = (f: (s: (typeof stores)[number]) => number): number => stores.reduce((n, s) => n + f(s), 0);
    w.single('warren_store_messages', 'gauge', 'Messages held by the message stores.', sum((s) => s.messages));
    w.single('warren_store_fsyncs_total', 'counter', 'Group commits (one fsync each).', sum((s) => s.syncs));
    w.single('warren_store_corrupt_records_total', 'counter', 'Records skipped at recovery because their checksum failed.', sum((s) => s.corruptRecords));
  }
}
