// A consumer on a queue and the channel-side interface the queue delivers through.

import type { FieldTable } from '../protocol/field-table.js';
import type { Queue, QueueEntry } from './queue/queue.js';

/** Implemented by the server's channel; the broker never sees sockets. */
export interface ConsumerOwner {
  /** True if the consumer may take one more message now (prefetch, flow, socket backpressure). */
  hasCapacity(consumer: Consumer): boolean;
  /** Hand over one message; the owner assigns the delivery tag and writes it out. */
  deliver(consumer: Consumer, entry: QueueEntry): void;
  /** The queue went away under the consumer (queue.delete): notify the client. */
  cancelledByBroker(consumer: Consumer): void;
}

export class Consumer {
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
