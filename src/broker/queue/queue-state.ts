// A queue's state: its settings, ready list, paged-out tail and counters, and what every part of
// it shares (paging, delivery counting, removal). The behaviours build on it, one class per file:
// queue-requeue.ts → queue-limits.ts → queue-expiry.ts → queue.ts (dispatch, get, consumers).

import type { FieldTable } from '../../protocol/field-table.js';
// The queue sees its consumers as QueueConsumer (queue-consumer.ts), not as the Consumer class,
// which holds its queue: so consumer.ts and the queue files do not import each other.
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

export interface QueueOptions {
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  args: FieldTable;
  policy: QueuePolicy;
  /** The connection that owns an exclusive queue. */
  owner: object | null;
}

/** What the vhost does for a queue (time, persistence, dead-lettering, deletion); its queues are Queue instances. */
export interface QueueHost {
  now(): number;
  /** Timers for TTL and x-expires. */
  readonly clock: Clock;
  onQueueUnused(queue: QueueState): void;
  onEntryRemoved(queue: QueueState, entry: QueueEntry): void;
  deadLetter(queue: QueueState, entry: QueueEntry, reason: DeadLetterReason): void;
  /** Persist a message entering a durable queue if it is persistent; returns its store position or -1. */
  persist(queue: QueueState, message: Message, now: number): number;
  /** Delivering an entry threw (a broker fault): log and count it; the queue then dead-letters it. */
  deliveryFailed(queue: QueueState, entry: QueueEntry, err: unknown): void;
  /** A persisted entry is being delivered (so it comes back redelivered after a restart). */
  onDelivered(queue: QueueState, entry: QueueEntry): void;
  /** The vhost's message totals, counted beside the queue's own (the broker's are their sum). */
  readonly stats: MessageCounters;
  /** Whether deep queues can page messages out to disk. */
  readonly canPage: boolean;
  /** Ready messages a queue keeps in memory before paging the rest out (Config.pageAfterMessages). */
  readonly pageAfterMessages: number;
  /** Write a transient message to the spill store; returns its position or -1. */
  spill(queue: QueueState, message: Message, now: number): number;
  /** Read a paged-out message back into memory (a spilled one leaves the spill store); null if its record is damaged (dropped). */
  loadPaged(queue: QueueState, seq: number, spilled: boolean): Message | null;
  /** A paged-out message is gone for good (purge, delete, expiry). */
  dropPaged(queue: QueueState, seq: number, spilled: boolean): void;
  /** Deliveries the message store recorded for a paged-out stored message (0 if unknown). */
  pagedDeliveries(queue: QueueState, seq: number): number;
}

export type EnqueueResult = 'enqueued' | 'rejected' | 'duplicate';

/**
 * Why unacked messages come back: `client` for basic.nack / basic.reject with requeue and
 * basic.recover, `released` when their channel or connection closed. Classic queues treat both
 * alike; quorum queues do not (see requeue() in queue-requeue.ts).
 */
export type RequeueCause = 'client' | 'released';

/**
 * Seqs of a quorum queue's returned entries start here: below every arrival seq (those start at 1),
 * so they are read before every other message, in the order returned. 2^53 returns before any overlap.
 */
const FIRST_RETURN_SEQ = Number.MIN_SAFE_INTEGER;


/**
 * Returned entries not yet placed in the ready list, in seq order (see requeue() in queue-requeue.ts). For `back`
 * and `front` placement their seqs were reserved when they came back: entries[i] gets base + i.
 */
export interface PendingRequeue {
  entries: QueueEntry[];
  /** Next entry to place. */
  next: number;
  placement: 'place' | 'back' | 'front';
  base: number;
  /** Goes behind messages paged out when it came back (pageBack), so it is placed at once. */
  toTail: boolean;
}

/** Returned entries placed (or dead-lettered, or settled) per turn of the event loop: a few ms of work. */
export const REQUEUE_SLICE = 4096;
/** Heads dropped by drop-head overflow per turn after a requeue. */
export const DROP_SLICE = 4096;
/** Most paged messages loaded back into memory by one refill. */
const REFILL_BATCH = 4096;
/**
 * Recovered messages a pageable queue builds in memory before leaving the rest on disk: enough for
 * the first deliveries; refill() brings more in as they go (building every entry of a deep backlog
 * at start cost more than reading it).
 */
export const RESTORE_IN_MEMORY = REFILL_BATCH;
/** A queue pages out once this many bytes of ready bodies are in memory (or pageAfterMessages messages). */
const PAGE_AFTER_BYTES = 128 * 1024 * 1024;

/** The fields every part of a queue works on; the behaviours that cross files are declared here. */
export abstract class QueueState {
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
  protected readonly ring = new ConsumerRing();
  protected readonly host: QueueHost;
  protected nextSeq = 1;
  /** Next seq for a quorum queue's returned entry (see FIRST_RETURN_SEQ). */
  protected nextReturnSeq = FIRST_RETURN_SEQ;
  protected mergeScheduled = false;
  /** Requeued entries still to place, a slice per turn; their next seqs are checked before every read. */
  protected readonly backlog: PendingRequeue[] = [];
  /** Entries in the backlog that will enter the queue (those over the delivery limit will not). */
  protected backlogLive = 0;
  protected backlogScheduled = false;
  /** Drop-head overflow left to finish after a requeue (readers finish it first). */
  protected limitsPending = false;
  protected limitsScheduled = false;
  protected hadConsumer = false;
  protected dispatchScheduled = false;
  protected dispatching = false;
  protected expiryTimer: Timer | null = null;
  protected expiryAt = Infinity;
  protected idleTimer: Timer | null = null;
  /** Keys of messages now in the queue (ready or unacked), for x-message-deduplication. */
  protected readonly dedupKeys: Map<string, number> | null;
  deleted = false;
  /** Delivery to consumers stopped by an operator (basic.get still works); in memory only, not durable. */
  paused = false;
  /** Bytes of ready message bodies, in memory and paged out (x-max-length-bytes and stats). */
  readyBytes = 0;
  /** Ready messages paged out to disk, behind those in memory; null when this queue never pages. */
  protected readonly tail: PagedTail | null;
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

  protected shouldPage(): boolean {
    const t = this.tail;
    if (t === null) return false;
    return t.length > 0 || this.ready.length >= this.host.pageAfterMessages || this.readyBytes - t.bytes >= PAGE_AFTER_BYTES;
  }

  /** Move the next paged-out messages back into memory when few are left there. */
  protected refill(): void {
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

  /** Put a new message straight on disk behind the others; false if it cannot be (then it stays in memory). */
  protected pageOut(entry: QueueEntry, message: Message, now: number): boolean {
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

  /** Count a delivery at the queue and its vhost; one waiting for an ack counts as unacked. */
  protected countDelivery(entry: QueueEntry, noAck: boolean, get: boolean): void {
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

  /** Record a delivery of an entry (deliver or get). */
  delivered(entry: QueueEntry): void {
    entry.deliveryCount++;
    if (entry.storeSeq >= 0) this.host.onDelivered(this, entry);
  }

  /**
   * A quorum entry requeued to the back while deeper messages are paged out goes behind them, on
   * disk. Its x-delivery-count reads 1 once loaded back (the tail keeps a redelivered flag, not the
   * count). False if it cannot be paged (then it stays in memory, ahead of the paged messages).
   */
  protected pageBack(e: QueueEntry): boolean {
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

  protected forgetDedup(entry: QueueEntry): void {
    if (this.dedupKeys === null) return;
    const key = dedupKey(entry.message);
    if (key !== undefined) this.dedupKeys.delete(key);
  }

  // Behaviours defined further down the chain, called from here and from one another.
  abstract dispatch(): void;
  abstract touch(): void;
  abstract dropExpired(): void;
  abstract take(dropDead?: boolean): QueueEntry | undefined;
  protected abstract armExpiry(): void;
  protected abstract enforceLimits(budget?: number): boolean;
  protected abstract finishLimits(): void;
  protected abstract scheduleLimits(): void;
  protected abstract catchUp(): void;
  protected abstract placeAll(): void;
}

/** The x-message-deduplication key of a message, if it has one. */
export function dedupKey(message: Message): string | undefined {
  return message.hasHeaders ? dedupKeyOf(message.properties.headers?.[DEDUP_HEADER]) : undefined;
}
