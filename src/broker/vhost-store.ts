// What a vhost asks of its message store. Persistence implements it; the vhost sees only this,
// so vhost.ts and persistence.ts (which attaches to and recovers a vhost) do not import each other.

import type { Exchange } from './exchange/exchange.js';
import type { Message } from './message.js';
import type { Queue, QueueEntry } from './queue/queue.js';

export interface VHostStore {
  /** Append a message for a queue; returns its store position. Throws once the store has failed. */
  persist(queue: string, message: Message, enqueuedAt: number): number;
  /** The entry was delivered: a recovered copy is marked redelivered. */
  markDelivered(queue: Queue, entry: QueueEntry): void;
  /** Page a transient message out of memory: 0 if it is, -1 if the store refused. */
  spill(queue: string, message: Message, enqueuedAt: number): number;
  loadPaged(queue: string, seq: number, spilled: boolean): Message | null;
  dropPaged(queue: string, seq: number, spilled: boolean): void;
  /** Hold a message for an x-delayed-message exchange; returns its store position. */
  persistDelayed(e: Exchange, message: Message, now: number): number;
  /** The message as kept while its delay runs: its body left on disk. */
  pagedDelayed(e: Exchange, message: Message, storeSeq: number): Message;
  releaseDelayed(e: Exchange, storeSeq: number): void;
}
