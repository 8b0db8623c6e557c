// Sums over every queue that several families need (consumers, paged messages, queues nobody
// consumes, dead-letter queues, counters by queue type), taken in one pass a slice at a time.

import type { Queue } from '../broker/queue/queue.js';
import { MessageCounters } from '../broker/stats/message-counters.js';

export interface QueueTotals {
  queues: number;
  consumers: number;
  paged: number;
  /** Queues with ready messages and no consumer. */
  unconsumed: number;
  /** Queues that have taken dead-lettered messages and hold ready ones, and those messages. */
  deadLetterQueues: number;
  deadLetterMessages: number;
  /** Message counters of the live queues by queue type (add BrokerStats.retiredByQueueType for the deleted ones). */
  byType: Map<string, MessageCounters>;
}

export function* queueTotals(queues: readonly { readonly o: Queue }[], slice: number): Generator<string, QueueTotals> {
  const t: QueueTotals = { queues: queues.length, consumers: 0, paged: 0, unconsumed: 0, deadLetterQueues: 0, deadLetterMessages: 0, byType: new Map() };
  for (let i = 0; i < queues.length; i++) {
    const q = (queues[i] as { readonly o: Queue }).o;
    const depth = q.depth;
    const consumers = q.consumerCount;
    t.consumers += consumers;
    t.paged += q.pagedCount;
    if (depth > 0 && consumers === 0) t.unconsumed++;
    if (depth > 0 && q.deadLettersIn > 0) {
      t.deadLetterQueues++;
      t.deadLetterMessages += depth;
    }
    let c = t.byType.get(q.policy.type);
    if (c === undefined) t.byType.set(q.policy.type, (c = new MessageCounters()));
    c.addAll(q.stats);
    if ((i + 1) % slice === 0) yield '';
  }
  return t;
}
