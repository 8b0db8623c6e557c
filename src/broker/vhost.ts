// A virtual host (VHost): its exchanges (vhost-exchanges.ts) and queues (vhost-queues.ts), and here
// publishing, delayed messages, policies, and what it does for its queues (QueueHost: dead-lettering,
// persistence, paging).

import type { FieldTable } from '../protocol/field-table.js';
import type { DelayedMessage } from './delayed.js';
import { isExchange, type Exchange } from './exchange/exchange.js';
import { RouteCollector } from './route-collector.js';
import type { Message } from './message.js';
import { deadLetterMessage, wouldCycle, type DeadLetterReason } from './queue/dead-letter.js';
import type { Queue, QueueEntry, QueueHost } from './queue/queue.js';
import type { Persistence } from './persistence.js';
import type { VHostListener } from './vhost-listener.js';
import { PublishResult, type PublishOptions } from './publish/publish-result.js';
import { checkPublish, publish, type PublishHost } from './publish/publisher.js';
import { MessageCounters } from './stats/message-counters.js';
import { PolicyStore, type PolicyHost } from './policy/policy-store.js';
import type { PolicyKind, PolicySpec } from './policy/policy-spec.js';
import { applyExchangePolicies, applyQueuePolicies } from './policy/apply.js';
import { VHostQueues } from './vhost-queues.js';

export type { VHostListener };
export { generateName, type DeclareQueueResult } from './vhost-queues.js';

export class VHost extends VHostQueues implements QueueHost, PublishHost, PolicyHost {
  /** Policies and operator policies (policy/): durable, applied to existing and new objects. */
  readonly policies: PolicyStore = new PolicyStore('policy', this);
  readonly operatorPolicies: PolicyStore = new PolicyStore('operator', this);
  /** The publish whose enqueues are running: persist() records its durability handle there. */
  private publishing: PublishResult | null = null;
  /** For publishes nobody confirms (delayed messages coming due). */
  private readonly unconfirmed = new PublishResult();
  /** Reused by publishes; a publish that starts while one is routing (dead-lettering on enqueue) gets its own. */
  private readonly collector = new RouteCollector();
  private collectorBusy = false;

  /** Message totals of this vhost (see broker/stats). */
  readonly stats = new MessageCounters();

  protected override get queueHost(): QueueHost {
    return this;
  }

  // ------------------------------------------------------------ policies

  /** Give a new (or recovered) queue or exchange the policies that match it. */
  override applyPolicies(o: Queue | Exchange): void {
    if (isExchange(o)) applyExchangePolicies(o, this.policies, this.operatorPolicies);
    else applyQueuePolicies(o, this.policies, this.operatorPolicies);
  }

  // PolicyHost
  persistPolicy(kind: PolicyKind, name: string, spec: PolicySpec | null): Promise<void> {
    if (this.store === null) return Promise.resolve();
    const def = spec === null ? null : { pattern: spec.pattern, applyTo: spec.applyTo, priority: spec.priority, definition: JSON.stringify(spec.definition) };
    return this.store.persistPolicy(this.name, kind, name, def);
  }

  policiesChanged(): void {
    for (const e of this.exchanges.values()) applyExchangePolicies(e, this.policies, this.operatorPolicies);
    // A queue whose lowered limit dead-letters can only add messages to others, never remove queues.
    for (const q of [...this.queues.values()]) applyQueuePolicies(q, this.policies, this.operatorPolicies);
  }

  // QueueHost
  onQueueUnused(q: Queue): void {
    this.removeQueue(q);
  }

  onEntryRemoved(q: Queue, entry: QueueEntry): void {
    if (entry.storeSeq >= 0) this.listener.entryRemoved?.(q, entry);
  }

  now(): number {
    return this.clock.now();
  }

  deliveryFailed(q: Queue, _entry: QueueEntry, err: unknown): void {
    this.listener.deliveryFailed?.(q, err instanceof Error ? err : new Error(String(err)));
  }

  /** Republish a message leaving q to its dead-letter exchange, or drop it if q has none. */
  deadLetter(q: Queue, entry: QueueEntry, reason: DeadLetterReason): void {
    const dlxName = q.policy.deadLetterExchange;
    const dlx = dlxName === undefined ? undefined : this.exchanges.get(dlxName);
    if (dlx === undefined) {
      this.onEntryRemoved(q, entry);
      this.listener.deadLettered?.(q, reason, 0);
      return;
    }
    // The new message (which may read a paged body) is stored before the old one is acked, so a
    // crash in between leaves a duplicate rather than a loss.
    let dl: ReturnType<typeof deadLetterMessage>;
    try {
      dl = deadLetterMessage(entry.message, q.name, reason, dlx.name, q.policy.deadLetterRoutingKey, this.clock.now());
    } catch (err) {
      // Headers are checked at publish, so this means a damaged stored message: drop it rather
      // than let a timer or a recovery throw (which would take the broker down, again on restart).
      this.onEntryRemoved(q, entry);
      this.listener.deadLetterFailed?.(q, reason, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const targets = new RouteCollector();
    this.route(dlx, dl.routingKeys, dl.message.properties.headers, targets);
    let n = 0;
    for (let i = 0; i < targets.count; i++) {
      const t = targets.queues[i] as Queue;
      if (wouldCycle(dl.message, t.name)) continue;
      if (t.enqueue(dl.message, undefined) === 'enqueued') {
        n++;
        t.deadLettersIn++;
      }
    }
    this.onEntryRemoved(q, entry);
    this.listener.deadLettered?.(q, reason, n);
  }

  /**
   * basic.publish: checks, CC/BCC, direct reply-to, deduplication, delays, routing and enqueueing
   * (see publish/publisher.ts). Pass a PublishResult to reuse; it is reset first.
   */
  publish(message: Message, options: PublishOptions, out: PublishResult = new PublishResult()): PublishResult {
    out.reset();
    return publish(this, message, options, out);
  }

  /** The checks a publish gets at once even when it is held for later (in a transaction). */
  checkPublish(message: Message, options: PublishOptions): Exchange {
    return checkPublish(this, message, options);
  }

  /** Route a message and enqueue it in every queue it reaches; out gets the count, refusals and the durability handle. */
  routeAndEnqueue(exchange: Exchange, routingKeys: readonly string[], headers: FieldTable | undefined, message: Message, messageTtl: number | undefined, out: PublishResult): void {
    const nested = this.collectorBusy;
    const c = nested ? new RouteCollector() : this.collector;
    this.route(exchange, routingKeys, headers, c);
    const routed = c.queues;
    const n = c.count;
    out.routed = n;
    if (n === 0) {
      c.clear();
      return;
    }
    const outer = this.publishing;
    this.publishing = out;
    this.collectorBusy = true;
    try {
      for (let i = 0; i < n; i++) if ((routed[i] as Queue).enqueue(message, messageTtl) === 'rejected') out.rejected = true;
    } finally {
      this.collectorBusy = nested;
      this.publishing = outer;
      c.clear();
    }
  }

  persist(q: Queue, message: Message, now: number): number {
    // Quorum queues keep every message, whatever its delivery mode (their log has no transient kind).
    if (this.store === null || (!message.persistent && q.policy.type !== 'quorum')) return -1;
    const p = this.publishing;
    try {
      const seq = this.store.persist(q.name, message, now);
      if (p !== null) {
        p.durability = this.store.durability;
        p.durableMark = this.store.durability.written;
      }
      return seq;
    } catch {
      // The store failed (it stays failed): the publisher gets a nack, never a false confirm.
      if (p !== null) p.rejected = true;
      return -1;
    }
  }

  onDelivered(q: Queue, entry: QueueEntry): void {
    this.store?.markDelivered(q, entry);
  }

  /** Set by the broker from Config.pageAfterMessages. */
  pageAfterMessages = 131072;

  get canPage(): boolean {
    return this.store !== null;
  }

  spill(q: Queue, message: Message, now: number): number {
    return this.store === null ? -1 : this.store.spill(q.name, message, now);
  }

  loadPaged(q: Queue, seq: number, spilled: boolean): Message | null {
    return (this.store as Persistence).loadPaged(q.name, seq, spilled);
  }

  dropPaged(q: Queue, seq: number, spilled: boolean): void {
    this.store?.dropPaged(q.name, seq, spilled);
  }

  pagedDeliveries(q: Queue, seq: number): number {
    return this.store?.messages.deliveryCount(q.name, seq) ?? 0;
  }

  /** Hold a message for an x-delayed-message exchange; out gets the durability handle if it was written to disk. */
  delay(e: Exchange, routingKeys: readonly string[], message: Message, delay: number, out: PublishResult): void {
    const now = this.clock.now();
    let storeSeq = -1;
    let held = message;
    if (this.store !== null && e.durable && message.persistent) {
      storeSeq = this.store.persistDelayed(e, message, now);
      out.durability = this.store.durability;
      out.durableMark = this.store.durability.written;
      // Pending delays cost an index entry and a header, not their bodies.
      held = this.store.pagedDelayed(e, message, storeSeq);
    }
    this.delayed.add({ dueAt: now + delay, exchange: e, routingKeys, message: held, storeSeq });
  }

  protected override releaseDelayed(d: DelayedMessage): void {
    if (this.exchanges.get(d.exchange.name) === d.exchange) {
      const ttl = d.message.hasExpiration ? Number(d.message.properties.expiration) : undefined;
      // A paged body is read (and copied into its queues) before the store lets it go.
      const message = d.message.isPaged ? d.message.clone() : d.message;
      if (d.message.isPaged) message.loadBody(d.message.bodyBuffer());
      this.unconfirmed.reset();
      this.routeAndEnqueue(d.exchange, d.routingKeys, message.hasHeaders ? message.properties.headers : undefined, message, ttl, this.unconfirmed);
      this.unconfirmed.reset();
    }
    if (d.storeSeq >= 0) this.store?.releaseDelayed(d.exchange, d.storeSeq);
  }

  /** Stop timers (broker shutdown). */
  dispose(): void {
    this.delayed.dispose();
    for (const q of this.queues.values()) q.dispose();
  }
}

export type { Message };
