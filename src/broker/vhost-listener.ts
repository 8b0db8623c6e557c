// The hooks a vhost calls as its contents change. In a module of its own so that persistence.ts,
// which installs them, need not import vhost.ts (which imports persistence.ts for its store).

import type { FieldTable } from '../protocol/field-table.js';
import type { Destination, Exchange } from './exchange/exchange.js';
import type { DeadLetterReason } from './queue/dead-letter.js';
import type { Queue, QueueEntry } from './queue/queue.js';

/** Persistence and lifecycle hooks the broker wires to a vhost. */
export interface VHostListener {
  exchangeDeclared?(e: Exchange): void;
  exchangeDeleted?(e: Exchange): void;
  queueDeclared?(q: Queue): void;
  queueDeleted?(q: Queue): void;
  /** Any queue (durable or not) left the vhost. */
  queueRemoved?(q: Queue): void;
  bindingAdded?(source: Exchange, dest: Destination, routingKey: string, args: FieldTable): void;
  bindingRemoved?(source: Exchange, dest: Destination, routingKey: string, args: FieldTable): void;
  entryRemoved?(q: Queue, entry: QueueEntry): void;
  /** A message was dead-lettered from q into `targets` queues (0 = dropped). */
  deadLettered?(q: Queue, reason: DeadLetterReason, targets: number): void;
  /** A message could not be dead-lettered (its stored header did not decode): it was dropped. */
  deadLetterFailed?(q: Queue, reason: DeadLetterReason, err: Error): void;
  /** Delivering a message threw (a broker fault): the queue dead-letters or drops it. */
  deliveryFailed?(q: Queue, err: Error): void;
}
