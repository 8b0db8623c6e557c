// A queue: ready messages in order, its consumers, the dispatch loop that feeds them,
// and the x-argument behaviours that act on its contents (TTL, limits, delivery limit).

import type { FieldTable } from '../../protocol/field-table.js';
// The queue sees its consumers as QueueConsumer (queue-consumer.ts), not as the Consumer class,
// which holds its queue: so consumer.ts and this file do not import each other.
import type { QueueConsumer as Consumer } from './queue-consumer.js';
import type { Message } from '../message.js';
import type { QueuePolicy } from './arguments.js';
import type { DeadLetterReason } from './dead-letter.js';
import { QueueEntry } from './queue-entry.js';
import { ReadyList } from './ready-list.js';
import { ConsumerRing } from './consumer-ring.js';
import { DEDUP_HEADER, dedupKeyOf } from '../dedup-cache.js';
import { PAGED_REDELIVERED, PAGED_SPILL, PagedTail } from './paged-tail.js';
import type { Clock, Timer } from '../../util/clock.js';
import { MessageCounters } from '../stats/message-counters.js';

export { QueueEntry };

export interface QueueOptions {
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  args: FieldTable;
  policy: QueuePolicy;
  /** The connection that owns an exclusive queue. */
  owner: object | null;
}

/** What the vhost does for a queue (time, persistence, dead-lettering, deletion). */
export interface QueueHost {
  now(): number;
  /** Timers for TTL and x-expires. */
  readonly clock: Clock;
  onQueueUnused(queue: Queue): void;
  onEntryRemoved(queue: Queue, entry: QueueEntry): void;
  deadLetter(queue: Queue, entry: QueueEntry, reason: DeadLetterReason): void;
  /** Persist a message entering a durable queue if it is persistent; returns its store position or -1. */
  persist(queue: Queue, message: Message, now: number): number;
  /** Delivering an entry threw (a broker fault): log and count it; the queue then dead-letters it. */
  deliveryFailed(queue: Queue, entry: QueueEntry, err: unknown): void;
  /** A persisted entry is being delivered (so it comes back redelivered after a restart). */
  onDelivered(queue: Queue, entry: QueueEntry): void;
  /** The vhost's message totals, counted beside the queue's own (the broker's are their sum). */
  readonly stats: MessageCounters;
  /** Whether deep queues can page messages out to disk. */
  readonly canPage: boolean;
  /** Ready messages a queue keeps in memory before paging the rest out (Config.pageAfterMessages). */
  readonly pageAfterMessages: number;
  /** Write a transient message to the spill store; returns its position or -1. */
  spill(queue: Queue, message: Message, now: number): number;
  /** Read a paged-out message back into memory (a spilled one leaves the spill store); null if its record is damaged (dropped). */
  loadPaged(queue: Queue, seq: number, spilled: boolean): Message | null;
  /** A paged-out message is gone for good (purge, delete, expiry). */
  dropPaged(queue: Queue, seq: number, spilled: boolean): void;
  /** Deliveries the message store recorded for a paged-out stored message (0 if unknown). */
  pagedDeliveries(queue: Queue, seq: number): number;
}

export type EnqueueResult = 'enqueued' | 'rejected' | 'duplicate';

/**
 * Why unacked messages come back: `client` for basic.nack / basic.reject with requeue and
 * basic.recover, `released` when their channel or connection closed. Classic queues treat both
 * alike; quorum queues do not (see Queue.requeue).
 */
export type RequeueCause = 'client' | 'released';

/**
 * Seqs of a quorum queue's returned entries start here: below every arrival seq (those start at 1),
 * so they are read before every other message, in the order returned. 2^53 returns before any overlap.
 */
const FIRST_RETURN_SEQ = Number.MIN_SAFE_INTEGER;

/**
 * Returned entries not yet placed in the ready list, in seq order (see Queue.requeue). For `back`
 * and `front` placement their seqs were reserved when they came back: entries[i] gets base + i.
 */
interface PendingRequeue {
  entries: QueueEntry[];
  /** Next entry to place. */
  next: number;
  placement: 'place' | 'back' | 'front';
  base: number;
  /** Goes behind messages paged out when it came back (pageBack), so it is placed at once. */
  toTail: boolean;
}

/** Deliveries per dispatch pass before yielding to the event loop. */
const DISPATCH_BUDGET = 512;
/** Requeued entries merged per turn of the event loop (about a millisecond of work). */
const MERGE_SLICE = 4096;
/** Returned entries placed (or dead-lettered, or settled) per turn of the event loop: a few ms of work. */
const REQUEUE_SLICE = 4096;
/** Heads dropped by drop-head overflow per turn after a requeue. */
const DROP_SLICE = 4096;
/** Most paged messages loaded back into memory by one refill. */
const REFILL_BATCH = 4096;
/**
 * Recovered messages a pageable queue builds in memory before leaving the rest on disk: enough for
 * the first deliveries; refill() brings more in as they go (building every entry of a deep backlog
 * at start cost more than reading it).
 */
const RESTORE_IN_MEMORY = REFILL_BATCH;
/** A queue pages out once this many bytes of ready bodies are in memory (or pageAfterMessages messages). */
const PAGE_AFTER_BYTES = 128 * 1024 * 1024;

export class Queue {
  /** Routing marks (see RouteCollector). */
  routePass = 0;
  routeStep = 0;
  readonly name: string;
  readonly durable: boolean;
  readonly exclusive: boolean;
  readonly autoDelete: boolean;
  readonly args: FieldTable;
  /** Settings from the x-arguments alone. */
  readonly declared: QueuePolicy;
  /** The policy and operator policy that apply (by name), or null. */
  policyName: string | null = null;
  operatorPolicyName: string | null = null;
  /** Their definitions merged (RabbitMQ's effective_policy_definition). */
  private policyDefinition: Readonly<Record<string, unknown>> = {};
  /** Effective settings: the arguments merged with the policies (see effective-arguments.ts). */
  private effective: QueuePolicy;
  readonly owner: object | null;
  readonly ready: ReadyList;
  /** Consumers by priority level, round robin within a level (see ConsumerRing). */
  private readonly ring = new ConsumerRing();
  private readonly host: QueueHost;
  private nextSeq = 1;
  /** Next seq for a quorum queue's returned entry (see FIRST_RETURN_SEQ). */
  private nextReturnSeq = FIRST_RETURN_SEQ;
  private mergeScheduled = false;
  /** Requeued entries still to place, a slice per turn; their next seqs are checked before every read. */
  private readonly backlog: PendingRequeue[] = [];
  /** Entries in the backlog that will enter the queue (those over the delivery limit will not). */
  private backlogLive = 0;
  private backlogScheduled = false;
  /** Drop-head overflow left to finish after a requeue (readers finish it first). */
  private limitsPending = false;
  private limitsScheduled = false;
  private hadConsumer = false;
  private dispatchScheduled = false;
  private dispatching = false;
  private expiryTimer: Timer | null = null;
  private expiryAt = Infinity;
  private idleTimer: Timer | null = null;
  /** Keys of messages now in the queue (ready or unacked), for x-message-deduplication. */
  private readonly dedupKeys: Map<string, number> | null;
  deleted = false;
  /** Delivery to consumers stopped by an operator (basic.get still works); in memory only, not durable. */
  paused = false;
  /** Bytes of ready message bodies, in memory and paged out (x-max-length-bytes and stats). */
  readyBytes = 0;
  /** Ready messages paged out to disk, behind those in memory; null when this queue never pages. */
  private readonly tail: PagedTail | null;
  /** Message counters (publish = enqueued here, deliver, get, ack, ...; see broker/stats). */
  readonly stats = new MessageCounters();
  /** Deliveries (consume or get) waiting for their ack. */
  unacked = 0;
  /** Messages dead-lettered into this queue: a queue that has taken some is a dead-letter queue. */
  deadLettersIn = 0;

  constructor(name: string, opts: QueueOptions, host: QueueHost) {
    this.name = name;
    this.durable = opts.durable;
    this.exclusive = opts.exclusive;
    this.autoDelete = opts.autoDelete;
    this.args = opts.args;
    this.declared = opts.policy;
    this.effective = opts.policy;
    this.owner = opts.owner;
    this.host = host;
    this.ready = new ReadyList(opts.policy.maxPriority);
    this.dedupKeys = opts.policy.deduplication ? new Map() : null;
    // Priority and dedup queues need every message's header at hand, so they stay in memory.
    this.tail = host.canPage && opts.policy.maxPriority === undefined && !opts.policy.deduplication ? new PagedTail() : null;
    this.touch();
  }

  /** The effective settings every behaviour reads (arguments merged with policies). */
  get policy(): QueuePolicy {
    return this.effective;
  }

  /** The merged definition of the policies that apply (RabbitMQ's effective_policy_definition). */
  effectivePolicyDefinition(): Record<string, unknown> {
    return { ...this.policyDefinition };
  }

  /**
   * New policies apply (or none do any more). Settings read when they act (dead-lettering,
   * delivery limit, consumer timeout, TTL of new messages) need nothing more; a new x-expires
   * restarts the idle countdown, and lower length limits drop or dead-letter at once under
   * drop-head overflow (reject-publish only refuses new messages, as in RabbitMQ).
   */
  applyPolicies(policyName: string | null, operatorPolicyName: string | null, definition: Readonly<Record<string, unknown>>, effective: QueuePolicy): void {
    const old = this.effective;
    this.policyName = policyName;
    this.operatorPolicyName = operatorPolicyName;
    this.policyDefinition = definition;
    this.effective = effective;
    if (this.deleted) return;
    if (old.expires !== effective.expires) this.touch();
    if (old.maxLength !== effective.maxLength || old.maxLengthBytes !== effective.maxLengthBytes || old.overflow !== effective.overflow) {
      if (!this.enforceLimits(DROP_SLICE)) this.scheduleLimits();
    }
  }

  /** Ready messages, in memory and on disk. */
  get depth(): number {
    return this.ready.length + (this.tail?.length ?? 0) + this.backlogLive;
  }

  get messageCount(): number {
    this.finishLimits();
    this.dropExpired();
    return this.depth;
  }

  /** Messages paged out to disk (for stats and tests). */
  get pagedCount(): number {
    return this.tail?.length ?? 0;
  }

  private shouldPage(): boolean {
    const t = this.tail;
    if (t === null) return false;
    return t.length > 0 || this.ready.length >= this.host.pageAfterMessages || this.readyBytes - t.bytes >= PAGE_AFTER_BYTES;
  }

  /** Move the next paged-out messages back into memory when few are left there. */
  private refill(): void {
    const t = this.tail;
    // Refill when a quarter is left in memory, a bounded batch at a time: loading half the limit at
    // once stalled the event loop for ~170 ms and raised the draining peak by ~100 MiB at 10M.
    const limit = this.host.pageAfterMessages;
    if (t === null || t.length === 0 || this.ready.length >= limit / 4) return;
    let budget = Math.max(1, Math.min(REFILL_BATCH, Math.floor(limit / 2)));
    while (t.length > 0 && budget-- > 0) {
      const seq = t.headSeq;
      const flags = t.headFlags;
      const expiresAt = t.headExpiresAt;
      const size = t.headSize;
      t.shift();
      const spilled = (flags & PAGED_SPILL) !== 0;
      const message = this.host.loadPaged(this, seq, spilled);
      if (message === null) {
        // Damaged on disk (checksum): counted by the store, never delivered.
        this.readyBytes -= size;
        continue;
      }
      const entry = new QueueEntry(message, this.nextSeq++, spilled ? -1 : seq, expiresAt);
      if ((flags & PAGED_REDELIVERED) !== 0) {
        entry.redelivered = true;
        // The tail keeps a flag, not a count: a stored message's count is the store's (as restore() has it).
        entry.returns = spilled || !this.tracksDeliveries ? 1 : Math.max(1, this.host.pagedDeliveries(this, seq));
      }
      this.ready.push(entry);
    }
  }

  get consumerCount(): number {
    return this.ring.size;
  }

  /** The consumers in arrival order (a copy: removing them while iterating is safe). */
  get consumers(): Consumer[] {
    return [...this.ring];
  }

  /** Whether deliveries carry x-delivery-count (quorum queues, or any queue with a delivery limit). */
  get tracksDeliveries(): boolean {
    return this.policy.type === 'quorum' || this.policy.deliveryLimit !== undefined;
  }

  /** TTL deadline for a message arriving now, from x-message-ttl and its expiration (the lower wins). */
  expiryFor(messageTtl: number | undefined, arrivedAt: number): number {
    const q = this.policy.messageTtl;
    const ttl = q === undefined ? messageTtl : messageTtl === undefined ? q : Math.min(q, messageTtl);
    return ttl === undefined ? Infinity : arrivedAt + ttl;
  }

  /** Whether a publish would be refused by x-overflow reject-publish(-dlx). */
  private full(incomingBytes: number): boolean {
    const p = this.policy;
    // Pending requeued bodies are not in readyBytes yet: a byte limit needs them placed.
    if (p.maxLengthBytes !== undefined) this.placeAll();
    if (p.maxLength !== undefined && this.depth >= p.maxLength) return true;
    if (p.maxLengthBytes !== undefined && this.readyBytes + incomingBytes > p.maxLengthBytes) return true;
    return false;
  }

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

  /** Put a new message straight on disk behind the others; false if it cannot be (then it stays in memory). */
  private pageOut(entry: QueueEntry, message: Message, now: number): boolean {
    const t = this.tail as PagedTail;
    if (entry.storeSeq >= 0) {
      t.push(entry.storeSeq, entry.expiresAt, message.bodySize, 0);
      return true;
    }
    const seq = this.host.spill(this, message, now);
    if (seq < 0) return false;
    t.push(seq, entry.expiresAt, message.bodySize, PAGED_SPILL);
    return true;
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

  /** Count a delivery at the queue and its vhost; one waiting for an ack counts as unacked. */
  private countDelivery(entry: QueueEntry, noAck: boolean, get: boolean): void {
    const q = this.stats;
    const v = this.host.stats;
    if (get) {
      if (noAck) {
        q.getNoAck++;
        v.getNoAck++;
      } else {
        q.get++;
        v.get++;
      }
    } else if (noAck) {
      q.deliverNoAck++;
      v.deliverNoAck++;
    } else {
      q.deliver++;
      v.deliver++;
    }
    if (!noAck) this.unacked++;
    if (entry.redelivered) {
      q.redeliver++;
      v.redeliver++;
    }
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

  /** Record a delivery of an entry (deliver or get). */
  delivered(entry: QueueEntry): void {
    entry.deliveryCount++;
    if (entry.storeSeq >= 0) this.host.onDelivered(this, entry);
  }

  /**
   * drop-head overflow: dead-letter the oldest until within x-max-length / x-max-length-bytes.
   * After a requeue at most `budget` go per turn (the rest are scheduled); false if some are left.
   */
  private enforceLimits(budget = Infinity): boolean {
    const p = this.policy;
    if (p.overflow !== 'drop-head' || (p.maxLength === undefined && p.maxLengthBytes === undefined)) return true;
    if (p.maxLengthBytes !== undefined) this.placeAll(); // see full()
    while (
      (p.maxLength !== undefined && this.depth > p.maxLength) ||
      (p.maxLengthBytes !== undefined && this.readyBytes > p.maxLengthBytes && this.depth > 0)
    ) {
      if (budget-- <= 0) return false;
      const head = this.take(false);
      if (head === undefined) return true;
      this.remove(head, 'maxlen');
    }
    return true;
  }

  /** Finish drop-head overflow left over from a requeue, before anything reads the queue. */
  private finishLimits(): void {
    if (!this.limitsPending) return;
    this.limitsPending = false;
    this.enforceLimits();
  }

  private scheduleLimits(): void {
    this.limitsPending = true;
    if (this.limitsScheduled) return;
    this.limitsScheduled = true;
    setImmediate(() => {
      this.limitsScheduled = false;
      if (!this.limitsPending || this.deleted) return;
      if (this.enforceLimits(DROP_SLICE)) this.limitsPending = false;
      else this.scheduleLimits();
    });
  }

  /**
   * Put unacked entries back, marked redelivered; past the delivery limit they are dead-lettered.
   * Where they go (RabbitMQ 3.10, checked live):
   * - classic queues: each back at its original place, whatever the cause;
   * - quorum queues without an x-delivery-limit argument, `client` cause: at the back of the
   *   queue, behind everything already there, in the order given (rabbit_fifo re-enqueues them);
   * - quorum queues otherwise (a closed channel or connection, or any requeue under a delivery
   *   limit): ahead of all other messages, behind those returned before them, in the order given
   *   (rabbit_fifo's returns queue).
   * Entries come in delivery order from the channel. Here they only get their seqs (one pass that
   * reads each entry: order, and how many are over the limit, so the count stays exact); they are
   * then placed a slice per turn (placeSlice), and every read first places those that come before
   * the ready head (catchUp). Merging the sorted runs this leaves in the ready list is
   * scheduleMerge's job, also a bounded slice per turn.
   */
  requeue(entries: QueueEntry[], cause: RequeueCause): void {
    if (entries.length === 0) return;
    this.unacked -= entries.length;
    const limit = this.policy.deliveryLimit;
    // The default limit (a RabbitMQ 4 behaviour kept deliberately) does not change placement: 3.10 has none.
    const limitSet = limit !== undefined && this.policy.deliveryLimitDefaulted !== true;
    const placement = this.policy.type !== 'quorum' ? 'place' : cause === 'client' && !limitSet ? 'back' : 'front';
    let live = entries.length;
    let sorted = true;
    if (!this.deleted && (placement === 'place' || limit !== undefined)) {
      let lastSeq = -Infinity;
      for (const e of entries) {
        if (limit !== undefined && e.returns >= limit) live--;
        if (e.seq < lastSeq) sorted = false;
        lastSeq = e.seq;
      }
    }
    let base = 0;
    if (placement === 'back') {
      base = this.nextSeq;
      this.nextSeq += entries.length;
    } else if (placement === 'front') {
      base = this.nextReturnSeq;
      this.nextReturnSeq += entries.length;
    }
    const list = placement === 'place' && !sorted ? entries.slice().sort((x, y) => x.seq - y.seq) : entries;
    // Behind paged-out messages (pageBack) order is by arrival in the tail: those are placed at once.
    const toTail = placement === 'back' && this.tail !== null && this.tail.length > 0;
    const p: PendingRequeue = { entries: list, next: 0, placement, base, toTail };
    this.backlog.push(p);
    this.backlogLive += this.deleted ? 0 : live;
    this.placeSlice(p, toTail ? Infinity : REQUEUE_SLICE);
    if (this.backlog.length > 0) this.scheduleBacklog();
    if (this.deleted) return;
    if (this.ready.needsMerge()) this.scheduleMerge();
    this.dispatch();
    // RabbitMQ re-applies the length limit to requeued messages.
    if (!this.enforceLimits(DROP_SLICE)) this.scheduleLimits();
    this.armExpiry();
  }

  /** Place up to `budget` entries of a pending requeue (settle them if the queue is gone). */
  private placeSlice(p: PendingRequeue, budget: number): void {
    const limit = this.policy.deliveryLimit;
    const end = Math.min(p.entries.length, p.next + budget);
    const out: QueueEntry[] = [];
    for (let i = p.next; i < end; i++) {
      const e = p.entries[i] as QueueEntry;
      if (this.deleted) {
        this.settle(e);
        continue;
      }
      e.returns++;
      if (limit !== undefined && e.returns > limit) {
        this.remove(e, 'delivery_limit');
        continue;
      }
      this.backlogLive--;
      e.redelivered = true;
      this.readyBytes += e.message.bodySize;
      if (p.placement !== 'place') e.seq = p.base + i;
      if (p.toTail && this.pageBack(e)) continue;
      out.push(e);
    }
    p.next = end;
    if (end === p.entries.length) this.backlog.splice(this.backlog.indexOf(p), 1);
    if (out.length > 0) {
      this.ready.requeue(out, true);
      if (this.ready.needsMerge()) this.scheduleMerge();
    }
  }

  /** The seq of the next entry a pending requeue will place. */
  private static nextSeqOf(p: PendingRequeue): number {
    return p.placement === 'place' ? (p.entries[p.next] as QueueEntry).seq : p.base + p.next;
  }

  /** Before a read: place every pending entry that comes before the ready head, so reads see queue order. */
  private catchUp(): void {
    // Entries over the delivery limit are not in the queue: dead-lettering them can wait its turn.
    while (this.backlog.length > 0 && this.backlogLive > 0) {
      // Priority queues place everything before a read: levels are not compared here.
      if (this.policy.maxPriority !== undefined) {
        this.placeSlice(this.backlog[0] as PendingRequeue, Infinity);
        continue;
      }
      // An empty ready list means everything pending comes first (a paged tail is always behind it).
      const head = this.ready.peek()?.seq ?? Infinity;
      let first: PendingRequeue | null = null;
      for (const p of this.backlog) if (first === null || Queue.nextSeqOf(p) < Queue.nextSeqOf(first)) first = p;
      if (first === null || Queue.nextSeqOf(first) > head) return;
      this.placeSlice(first, REQUEUE_SLICE);
    }
  }

  /** Place everything pending now (purge, and a queue being deleted). */
  private placeAll(): void {
    while (this.backlog.length > 0) this.placeSlice(this.backlog[0] as PendingRequeue, Infinity);
  }

  private scheduleBacklog(): void {
    if (this.backlogScheduled) return;
    this.backlogScheduled = true;
    setImmediate(() => {
      this.backlogScheduled = false;
      const p = this.backlog[0];
      if (p === undefined) return;
      this.placeSlice(p, REQUEUE_SLICE);
      if (this.backlog.length > 0) this.scheduleBacklog();
      if (this.deleted) return;
      this.dispatch();
      this.armExpiry();
    });
  }

  /**
   * A quorum entry requeued to the back while deeper messages are paged out goes behind them, on
   * disk. Its x-delivery-count reads 1 once loaded back (the tail keeps a redelivered flag, not the
   * count). False if it cannot be paged (then it stays in memory, ahead of the paged messages).
   */
  private pageBack(e: QueueEntry): boolean {
    const t = this.tail as PagedTail;
    if (e.storeSeq >= 0) {
      t.push(e.storeSeq, e.expiresAt, e.message.bodySize, PAGED_REDELIVERED);
      return true;
    }
    const seq = this.host.spill(this, e.message, this.host.now());
    if (seq < 0) return false;
    t.push(seq, e.expiresAt, e.message.bodySize, PAGED_SPILL | PAGED_REDELIVERED);
    return true;
  }

  /** basic.get (and internal removal): take the first live entry. */
  take(dropDead = true): QueueEntry | undefined {
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

  /** An entry is gone for good (acked, or taken with no-ack). */
  settle(entry: QueueEntry): void {
    this.forgetDedup(entry);
    this.host.onEntryRemoved(this, entry);
  }

  /** Rejected without requeue, expired, overflowed or over its delivery limit: dead-letter or drop. */
  remove(entry: QueueEntry, reason: DeadLetterReason): void {
    this.forgetDedup(entry);
    this.host.deadLetter(this, entry, reason);
  }

  private forgetDedup(entry: QueueEntry): void {
    if (this.dedupKeys === null) return;
    const key = dedupKey(entry.message);
    if (key !== undefined) this.dedupKeys.delete(key);
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
  dispatch(): void {
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

  /** Merge requeued runs in the ready list, a bounded slice per turn of the event loop. */
  private scheduleMerge(): void {
    if (this.mergeScheduled) return;
    this.mergeScheduled = true;
    setImmediate(() => {
      this.mergeScheduled = false;
      if (!this.deleted && this.ready.mergeStep(MERGE_SLICE)) this.scheduleMerge();
    });
  }

  // ------------------------------------------------------------ expiry

  /** Dead-letter expired messages at the head (RabbitMQ expires from the head only; deliveries check every message). */
  dropExpired(): void {
    const now = this.host.now();
    for (;;) {
      this.catchUp();
      this.refill();
      const head = this.ready.peek();
      if (head === undefined || head.expiresAt > now) return;
      this.ready.shift();
      this.readyBytes -= head.message.bodySize;
      this.remove(head, 'expired');
    }
  }

  /** Keep one timer for the head's deadline so expired messages leave without any traffic. */
  private armExpiry(): void {
    const head = this.ready.peek();
    const at = head === undefined ? Infinity : head.expiresAt;
    if (at === this.expiryAt) return;
    this.expiryTimer?.cancel();
    this.expiryTimer = null;
    this.expiryAt = at;
    if (at === Infinity || this.deleted) return;
    // The clock chunks delays beyond Node's 2^31-1 ms timer limit; messages may live up to 10 years.
    const delay = Math.max(0, at - this.host.now()) + 1;
    this.expiryTimer = this.host.clock.after(delay, () => {
      this.expiryTimer = null;
      this.expiryAt = Infinity;
      this.dropExpired();
      this.armExpiry();
    });
  }

  /** x-expires: restart the idle countdown (declare, get, consume, cancel). */
  touch(): void {
    const expires = this.policy.expires;
    if (this.deleted) return;
    this.idleTimer?.cancel();
    this.idleTimer = null;
    // No expiry (any more: a policy that set one may have gone).
    if (expires === undefined) return;
    this.idleTimer = this.host.clock.after(expires, () => {
      this.idleTimer = null;
      if (this.consumers.length === 0) this.host.onQueueUnused(this);
      else this.touch();
    });
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

function dedupKey(message: Message): string | undefined {
  return message.hasHeaders ? dedupKeyOf(message.properties.headers?.[DEDUP_HEADER]) : undefined;
}
