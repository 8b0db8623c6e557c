// A consumer on a queue. What the queue needs of it, and the channel-side interface it delivers
// through (ConsumerOwner, re-exported here), are in queue/queue-consumer.ts.

import type { FieldTable } from '../protocol/field-table.js';
import type { Queue } from './queue/queue.js';
import type { ConsumerOwner, QueueConsumer } from './queue/queue-consumer.js';

export type { ConsumerOwner };

export class Consumer implements QueueConsumer {
  readonly tag: string;
  readonly queue: Queue;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  readonly args: FieldTable;
  readonly owner: ConsumerOwner;
  /** Per-consumer prefetch (basic.qos global=false at consume time); 0 = unlimited. */
  readonly prefetch: number;
  /** x-priority: higher is served first while it has capacity. */
  readonly priority: number;
  /** Parked by the queue at its prefetch limit: an ack must bring it back (see ConsumerRing). */
  waitingForCredit = false;
  private unackedCount = 0;

  constructor(
    tag: string,
    queue: Queue,
    owner: ConsumerOwner,
    opts: { noAck: boolean; exclusive: boolean; args: FieldTable; prefetch: number; priority: number },
  ) {
    this.tag = tag;
    this.queue = queue;
    this.owner = owner;
    this.noAck = opts.noAck;
    this.exclusive = opts.exclusive;
    this.args = opts.args;
    this.prefetch = opts.prefetch;
    this.priority = opts.priority;
  }

  /** Messages delivered to this consumer and not yet acked. */
  get unacked(): number {
    return this.unackedCount;
  }

  set unacked(n: number) {
    const freed = n < this.unackedCount;
    this.unackedCount = n;
    if (freed && this.waitingForCredit) this.queue.consumerCredit(this);
  }
}
