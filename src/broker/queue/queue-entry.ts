// One message as a queue holds it: the ready list, the queue and the channels all handle entries.

import type { Message } from '../message.js';

/** One message as held by one queue (a message routed to two queues has two entries). */
export class QueueEntry {
  readonly message: Message;
  /**
   * Position in this queue's delivery order: a requeued entry goes back to its place by it. A
   * quorum queue gives a returned entry a new one (see requeue() in queue-requeue.ts); it is only changed while
   * the entry is out of the ready list.
   */
  seq: number;
  redelivered: boolean;
  /** Times delivered so far. */
  deliveryCount: number;
  /** Times returned to the queue unacknowledged (x-delivery-count). */
  returns: number;
  /** Store position when the message is persisted for this queue, else -1. */
  storeSeq: number;
  /** Epoch ms after which the message is dead; Infinity when it has no TTL. */
  expiresAt: number;

  constructor(message: Message, seq: number, storeSeq: number, expiresAt: number) {
    this.message = message;
    this.seq = seq;
    this.redelivered = false;
    this.deliveryCount = 0;
    this.returns = 0;
    this.storeSeq = storeSeq;
    this.expiresAt = expiresAt;
  }
}
