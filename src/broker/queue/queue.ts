// A queue: ready messages in order, its consumers, and the dispatch loop that feeds them.

import { Deque } from '../../util/deque.js';
import type { FieldTable } from '../../protocol/field-table.js';
import type { Consumer } from '../consumer.js';
import type { Message } from '../message.js';

/** One message as held by one queue (a message routed to two queues has two entries). */
export class QueueEntry {
  readonly message: Message;
  /** Position in this queue's arrival order: requeued entries go back to their place by it. */
  readonly seq: number;
  redelivered: boolean;
  /** Times delivered so far (x-delivery-count). */
  deliveryCount: number;
  /** Store position when the message is persisted for this queue, else -1. */
  storeSeq: number;

  constructor(message: Message, seq: number, storeSeq: number) {
    this.message = message;
    this.seq = seq;
    this.redelivered = false;
    this.deliveryCount = 0;
    this.storeSeq = storeSeq;
  }
}

export interface QueueOptions {
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  args: FieldTable;
  /** The connection that owns an exclusive queue. */
  owner: object | null;
}

/** Hooks the vhost gives a queue (persistence, auto-delete). */
export interface QueueHost {
  onQueueUnused(queue: Queue): void;
  onEntryRemoved(queue: Queue, entry: QueueEntry): void;
}

/** Deliveries per dispatch pass before yielding to the event loop. */
const DISPATCH_BUDGET = 512;

export class Queue {
  readonly name: string;
  readonly durable: boolean;
  readonly exclusive: boolean;
  readonly autoDelete: boolean;
  readonly args: FieldTable;
  readonly owner: object | null;
  readonly ready = new Deque<QueueEntry>();
  readonly consumers: Consumer[] = [];
  private readonly host: QueueHost;
  private nextSeq = 1;
  private rr = 0;
  private hadConsumer = false;
  private dispatchScheduled = false;
  private dispatching = false;
  deleted = false;
  /** Bytes of ready message bodies (x-max-length-bytes and stats). */
  readyBytes = 0;

  constructor(name: string, opts: QueueOptions, host: QueueHost) {
    this.name = name;
    this.durable = opts.durable;
    this.exclusive = opts.exclusive;
    this.autoDelete = opts.autoDelete;
    this.args = opts.args;
    this.owner = opts.owner;
    this.host = host;
  }

  get messageCount(): number {
    return this.ready.length;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  enqueue(message: Message, storeSeq = -1): QueueEntry {
    const entry = new QueueEntry(message, this.nextSeq++, storeSeq);
    this.ready.push(entry);
    this.readyBytes += message.bodySize;
    if (this.consumers.length > 0) this.dispatch();
    return entry;
  }

  /** Put unacked entries back, each at its original place, marked redelivered. */
  requeue(entries: QueueEntry[]): void {
    if (this.deleted) {
      for (const e of entries) this.host.onEntryRemoved(this, e);
      return;
    }
    // Newest first, so each unshift lands in front of the ones requeued before it.
    const sorted = entries.slice().sort((a, b) => b.seq - a.seq);
    for (const e of sorted) {
      e.redelivered = true;
      this.insertBySeq(e);
      this.readyBytes += e.message.bodySize;
    }
    this.dispatch();
  }

  private insertBySeq(e: QueueEntry): void {
    const head = this.ready.peek();
    if (head === undefined || e.seq < head.seq) {
      this.ready.unshift(e);
      return;
    }
    let i = 0;
    while (i < this.ready.length && (this.ready.at(i) as QueueEntry).seq < e.seq) i++;
    this.ready.insertAt(i, e);
  }

  /** basic.get: take the head entry. */
  take(): QueueEntry | undefined {
    const e = this.ready.shift();
    if (e !== undefined) this.readyBytes -= e.message.bodySize;
    return e;
  }

  /** An entry is gone for good (acked, or taken with no-ack). */
  settle(entry: QueueEntry): void {
    this.host.onEntryRemoved(this, entry);
  }

  purge(): number {
    const n = this.ready.length;
    for (const e of this.ready.clear()) this.host.onEntryRemoved(this, e);
    this.readyBytes = 0;
    return n;
  }

  addConsumer(c: Consumer): void {
    this.consumers.push(c);
    this.hadConsumer = true;
    this.dispatch();
  }

  removeConsumer(c: Consumer): void {
    const i = this.consumers.indexOf(c);
    if (i < 0) return;
    this.consumers.splice(i, 1);
    if (this.rr > i) this.rr--;
    if (this.autoDelete && this.hadConsumer && this.consumers.length === 0) this.host.onQueueUnused(this);
  }

  hasExclusiveConsumer(): boolean {
    return this.consumers.some((c) => c.exclusive);
  }

  /** Deliver to consumers with capacity, round robin, until out of messages, capacity or budget. */
  dispatch(): void {
    if (this.dispatching || this.deleted) return;
    this.dispatching = true;
    try {
      let budget = DISPATCH_BUDGET;
      while (this.ready.length > 0 && budget > 0) {
        const c = this.nextConsumer();
        if (c === undefined) return;
        const e = this.ready.shift() as QueueEntry;
        this.readyBytes -= e.message.bodySize;
        e.deliveryCount++;
        c.owner.deliver(c, e);
        budget--;
      }
      if (budget === 0 && this.ready.length > 0) this.scheduleDispatch();
    } finally {
      this.dispatching = false;
    }
  }

  scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private nextConsumer(): Consumer | undefined {
    const n = this.consumers.length;
    if (n === 0) return undefined;
    // Highest priority first; round robin among consumers of one priority.
    let best: Consumer | undefined;
    let bestIndex = -1;
    for (let k = 0; k < n; k++) {
      const i = (this.rr + k) % n;
      const c = this.consumers[i] as Consumer;
      if ((best === undefined || c.priority > best.priority) && c.owner.hasCapacity(c)) {
        best = c;
        bestIndex = i;
      }
    }
    if (best !== undefined) this.rr = (bestIndex + 1) % n;
    return best;
  }
}
