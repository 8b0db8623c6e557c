// A consumer as its queue sees it, and the channel-side interface the queue delivers through.
// The Consumer class (consumer.ts) implements QueueConsumer and also holds its queue; the queue
// knows only this, so the two modules do not import each other.

import type { QueueEntry } from './queue-entry.js';

/**
 * Implemented by the server's channel; the broker never sees sockets. The channel takes the
 * Consumer class in these methods: a queue only ever hands an owner the consumers it registered.
 */
export interface ConsumerOwner {
  /** True if the consumer may take one more message now (prefetch, flow, socket backpressure). */
  hasCapacity(consumer: QueueConsumer): boolean;
  /** Hand over one message; the owner assigns the delivery tag and writes it out. */
  deliver(consumer: QueueConsumer, entry: QueueEntry): void;
  /** The queue went away under the consumer (queue.delete): notify the client. */
  cancelledByBroker(consumer: QueueConsumer): void;
}

export interface QueueConsumer {
  readonly tag: string;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  readonly owner: ConsumerOwner;
  /** Per-consumer prefetch (basic.qos global=false at consume time); 0 = unlimited. */
  readonly prefetch: number;
  /** x-priority: higher is served first while it has capacity. */
  readonly priority: number;
  /** Messages delivered to this consumer and not yet acked. */
  unacked: number;
  /** Parked by the queue at its prefetch limit: an ack must bring it back (see ConsumerRing). */
  waitingForCredit: boolean;
}
