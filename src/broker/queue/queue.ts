// A queue: ready messages in order, its consumers, the dispatch loop that feeds them, and
// publish, get, ack and recovery. The x-argument behaviours that act on its contents live in the
// classes it builds on: queue-state.ts, queue-requeue.ts, queue-limits.ts, queue-expiry.ts.

// The queue sees its consumers as QueueConsumer (queue-consumer.ts), not as the Consumer class,
// which holds its queue: so consumer.ts and this file do not import each other.
import type { QueueConsumer as Consumer } from './queue-consumer.js';
import type { Message } from '../message.js';
import { QueueEntry } from './queue-entry.js';
import { PAGED_REDELIVERED, PAGED_SPILL, PagedTail } from './paged-tail.js';
import { QueueExpiry } from './queue-expiry.js';
import { RESTORE_IN_MEMORY, dedupKey, type EnqueueResult } from './queue-state.js';

export { QueueEntry };
export type { QueueOptions, QueueHost, EnqueueResult, RequeueCause } from './queue-state.js';

/** Deliveries per dispatch pass before yielding to the event loop. */
const DISPATCH_BUDGET = 512;

export class Queue extends QueueExpiry {
  enqueue(message: Message, messageTtl: number | undefined): EnqueueResult {
    if (this.dedupKeys !== null) {
      const key = dedupKey(message);
      if (key !== undefined) {
        if (this.dedupKeys.has(key)) return 'duplicate';
        this.dedupKeys.set(key, 1);
      }
    }
    const now = this.host.now();
    const entry = new QueueEntry(message, this.nextSeq++, -1, this.expiryFor(messageTtl, now));
    if (this.policy.overflow !== 'drop-head' && this.full(message.bodySize)) {
      this.forgetDedup(entry);
      if (this.policy.overflow === 'reject-publish-dlx') this.host.deadLetter(this, entry, 'maxlen');
      return 'rejected';
    }
    if (this.durable) entry.storeSeq = this.host.persist(this, message, now);
    this.stats.publish++;
    this.readyBytes += message.bodySize;
    if (this.shouldPage() && this.pageOut(entry, message, now)) {
      this.enforceLimits();
      return 'enqueued';
    }
    this.ready.push(entry);
    if (this.ring.size > 0) this.dispatch();
    this.enforceLimits();
    this.dropExpired();
    this.armExpiry();
    return 'enqueued';
  }

  /** A message recovered from the store after a restart, in its original order. */
  restore(message: Message, storeSeq: number, redelivered: boolean, deliveries: number, enqueuedAt: number): void {
    const ttl = message.hasExpiration ? Number(message.properties.expiration) : undefined;
    const entry = new QueueEntry(message, this.nextSeq++, storeSeq, this.expiryFor(Number.isFinite(ttl) ? ttl : undefined, enqueuedAt));
    entry.redelivered = redelivered;
    entry.returns = deliveries;
    if (this.dedupKeys !== null) {
      const key = dedupKey(message);
      if (key !== undefined) this.dedupKeys.set(key, 1);
    }
    this.readyBytes += message.bodySize;
    if (this.shouldPage()) {
      (this.tail as PagedTail).push(storeSeq, entry.expiresAt, message.bodySize, redelivered ? PAGED_REDELIVERED : 0);
      return;
    }
    this.ready.push(entry);
    this.armExpiry();
  }

  /** basic.get: the first live message, recorded as delivered and counted; undefined (get-empty) if none. */
  get(noAck: boolean): QueueEntry | undefined {
    const entry = this.take();
    if (entry === undefined) {
      this.stats.getEmpty++;
      this.host.stats.getEmpty++;
      return undefined;
    }
    this.delivered(entry);
    this.countDelivery(entry, noAck, true);
    return entry;
  }

  /** basic.ack of a delivery: counted, then gone for good. */
  ack(entry: QueueEntry): void {
    this.unacked--;
    this.stats.ack++;
    this.host.stats.ack++;
    this.settle(entry);
  }

  /** basic.nack / basic.reject without requeue of a delivery: dead-lettered (rejected) or dropped. */
  reject(entry: QueueEntry): void {
    this.unacked--;
    this.remove(entry, 'rejected');
  }

  /**
   * A recovered message without a per-message TTL, left on disk from the start (no Message or
   * entry is built for it): once RESTORE_IN_MEMORY (at most pageAfterMessages) are in memory, or
   * whenever restore() would page it anyway. False when it must come through restore(): this
   * queue keeps everything in memory (priority, deduplication), or its in-memory head is not full.
   */
  restorePaged(storeSeq: number, bodySize: number, redelivered: boolean, enqueuedAt: number): boolean {
    const t = this.tail;
    const head = Math.min(RESTORE_IN_MEMORY, this.host.pageAfterMessages);
    if (t === null || (t.length === 0 && this.ready.length < head && !this.shouldPage())) return false;
    this.readyBytes += bodySize;
    t.push(storeSeq, this.expiryFor(undefined, enqueuedAt), bodySize, redelivered ? PAGED_REDELIVERED : 0);
    return true;
  }

  /** basic.get (and internal removal): take the first live entry. */
  override take(dropDead = true): QueueEntry | undefined {
    if (dropDead) this.finishLimits();
    for (;;) {
      this.catchUp();
      this.refill();
      const e = this.ready.shift();
      if (e === undefined) return undefined;
      this.readyBytes -= e.message.bodySize;
      if (dropDead && e.expiresAt < this.host.now()) {
        this.remove(e, 'expired');
        continue;
      }
      // The next head may have a deadline of its own (messages of one queue can carry different TTLs).
      if (dropDead) this.armExpiry();
      return e;
    }
  }

  purge(): number {
    this.placeAll();
    this.limitsPending = false;
    const list = this.ready.clear();
    for (const e of list) this.settle(e);
    let n = list.length;
    const t = this.tail;
    if (t !== null && t.length > 0) {
      n += t.length;
      t.forEach((seq, flags) => this.host.dropPaged(this, seq, (flags & PAGED_SPILL) !== 0));
      t.clear();
    }
    this.readyBytes = 0;
    return n;
  }

  /**
   * Up to `count` ready messages in delivery order, without taking them (no delivery counted, no
   * redelivered mark). Only messages held in memory are seen (the first pageAfterMessages of a deep
   * queue): those paged out to disk have no entry to show until they are read back.
   */
  peek(count: number): QueueEntry[] {
    this.finishLimits();
    this.dropExpired();
    this.placeAll();
    const now = this.host.now();
    const out: QueueEntry[] = [];
    if (count <= 0) return out;
    for (const e of this.ready) {
      if (e.expiresAt < now) continue;
      out.push(e);
      if (out.length >= count) break;
    }
    return out;
  }

  /**
   * Entries taken with take() go back to their places untouched (not marked redelivered, no return
   * counted): an operation that took them did not deliver them (a move that could not finish).
   */
  putBack(entries: QueueEntry[]): void {
    if (entries.length === 0 || this.deleted) return;
    for (const e of entries) this.readyBytes += e.message.bodySize;
    this.ready.requeue(entries.slice());
    if (this.ready.needsMerge()) this.scheduleMerge();
    this.dispatch();
    this.armExpiry();
  }

  /** Stop delivering to consumers until resume(); what is in flight stays in flight. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.dispatch();
  }

  addConsumer(c: Consumer): void {
    this.ring.add(c);
    this.hadConsumer = true;
    this.touch();
    this.dispatch();
  }

  removeConsumer(c: Consumer): void {
    this.removeConsumers([c]);
  }

  /** Remove many consumers at once (a closing channel's): O(1) each, then one check for auto-delete and takeover. */
  removeConsumers(cs: Iterable<Consumer>): void {
    const active = this.policy.singleActiveConsumer ? this.ring.oldestConsumer() : undefined;
    let removed = false;
    for (const c of cs) if (this.ring.remove(c)) removed = true;
    if (!removed) return;
    if (this.autoDelete && this.hadConsumer && this.ring.size === 0) {
      this.host.onQueueUnused(this);
      return;
    }
    this.touch();
    // With a single active consumer, the next one takes over.
    if (active !== undefined && !this.ring.has(active)) this.dispatch();
  }

  /** A consumer parked at its prefetch limit got an ack (Consumer.unacked went down). */
  consumerCredit(c: Consumer): void {
    this.ring.credit(c);
  }

  /** The consumer a single-active-consumer queue delivers to; undefined for other queues. */
  get activeConsumer(): Consumer | undefined {
    return this.policy.singleActiveConsumer ? this.ring.oldestConsumer() : undefined;
  }

  hasExclusiveConsumer(): boolean {
    return this.ring.hasExclusive();
  }

  /** Deliver to consumers with capacity, round robin, until out of messages, capacity or budget. */
  override dispatch(): void {
    if (this.dispatching || this.deleted || this.paused) return;
    this.dispatching = true;
    try {
      // Callers dispatch when capacity may have come back: consumers parked by their channel get another look.
      this.ring.wake();
      let budget = DISPATCH_BUDGET;
      const now = this.host.now();
      if (this.ring.size > 0) this.finishLimits();
      while (budget > 0) {
        this.catchUp();
        this.refill();
        if (this.ready.length === 0) break;
        const c = this.nextConsumer();
        if (c === undefined) return;
        const e = this.ready.shift() as QueueEntry;
        this.readyBytes -= e.message.bodySize;
        if (e.expiresAt < now) {
          this.remove(e, 'expired');
          continue;
        }
        this.delivered(e);
        try {
          c.owner.deliver(c, e);
          this.countDelivery(e, c.noAck, false);
        } catch (err) {
          // One message that cannot be sent costs that message only, never the dispatch loop or the
          // process (this also runs from setImmediate): it leaves as rejected (dead-lettered, or
          // dropped), and the host logs and counts it.
          this.host.deliveryFailed(this, e, err);
          this.remove(e, 'rejected');
        }
        budget--;
      }
      if (budget === 0 && this.depth > 0) this.scheduleDispatch();
    } finally {
      this.dispatching = false;
    }
    this.armExpiry();
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
    if (this.policy.singleActiveConsumer) {
      const active = this.ring.oldestConsumer();
      return active !== undefined && active.owner.hasCapacity(active) ? active : undefined;
    }
    // Highest priority first; round robin among consumers of one priority.
    return this.ring.next();
  }

  /** Stop timers (the queue is being deleted). */
  dispose(): void {
    this.deleted = true;
    // Like the ready entries, what is still pending is left as it is (a deleted queue was purged first).
    this.backlog.length = 0;
    this.backlogLive = 0;
    this.expiryTimer?.cancel();
    this.idleTimer?.cancel();
    this.expiryTimer = null;
    this.idleTimer = null;
  }
}
