// A virtual host: its exchanges and queues, declare/bind/delete semantics, and routing.

import { randomBytes } from 'node:crypto';
import { accessRefused, commandInvalid, notFound, preconditionFailed, resourceLocked, type ChannelError } from '../protocol/errors.js';
import type { FieldTable } from '../protocol/field-table.js';
import { checkArgs, checkFlag } from './equivalence.js';
import type { Clock } from '../util/clock.js';
import { UNTRACKED, type TaskTracker } from '../util/loop-monitor.js';
import { DelayedMessages, type DelayedMessage } from './delayed.js';
import { Exchange, isExchange, isKnownExchangeType, type Destination } from './exchange/exchange.js';
import { RouteCollector } from './route-collector.js';
import { headersBindingError } from './exchange/headers.js';
import type { Message } from './message.js';
import { parseQueueArguments } from './queue/arguments.js';
import { deadLetterMessage, wouldCycle, type DeadLetterReason } from './queue/dead-letter.js';
import { Queue, type QueueEntry, type QueueHost } from './queue/queue.js';
import type { Persistence } from './persistence.js';
import type { VHostListener } from './vhost-listener.js';
import { DirectReplyTo } from './publish/direct-reply-to.js';
import type { QueueDeclareGuard } from './auth/resource-access.js';
import { PublishResult, type PublishOptions } from './publish/publish-result.js';
import { checkPublish, publish, type PublishHost } from './publish/publisher.js';
import { MessageCounters } from './stats/message-counters.js';
import { BrokerStats } from './stats/broker-stats.js';
import { PolicyStore, type PolicyHost } from './policy/policy-store.js';
import type { PolicyKind, PolicySpec } from './policy/policy-spec.js';
import { applyExchangePolicies, applyQueuePolicies } from './policy/apply.js';

/** The x-arguments RabbitMQ compares on queue redeclaration. */
const EQUIVALENT_QUEUE_ARGS = [
  'x-expires', 'x-message-ttl', 'x-dead-letter-exchange', 'x-dead-letter-routing-key', 'x-max-length',
  'x-max-length-bytes', 'x-max-priority', 'x-overflow', 'x-queue-type', 'x-single-active-consumer',
  'x-delivery-limit', 'x-queue-mode',
] as const;

/** The exchange arguments RabbitMQ compares on redeclaration. */
const EQUIVALENT_EXCHANGE_ARGS = ['alternate-exchange'] as const;

export type { VHostListener };

export interface DeclareQueueResult {
  queue: Queue;
  messageCount: number;
  consumerCount: number;
}

export class VHost implements QueueHost, PublishHost, PolicyHost {
  readonly name: string;
  readonly exchanges = new Map<string, Exchange>();
  readonly queues = new Map<string, Queue>();
  /**
   * The vhost's default queue type (its metadata): `quorum` makes a durable, non-exclusive,
   * non-auto-delete declare without x-queue-type a quorum queue, as RabbitMQ adds the argument.
   */
  defaultQueueType = 'classic';
  /** Policies and operator policies (policy/): durable, applied to existing and new objects. */
  readonly policies: PolicyStore = new PolicyStore('policy', this);
  readonly operatorPolicies: PolicyStore = new PolicyStore('operator', this);
  listener: VHostListener = {};
  /** Names long synchronous work (purges, deletes) for the event-loop watchdog. */
  tasks: TaskTracker = UNTRACKED;
  /** Set by Persistence.attach when the broker has a data directory. */
  store: Persistence | null = null;
  /** Direct reply-to consumers; the broker shares one registry among its vhosts. */
  replyTo = new DirectReplyTo();
  /** The publish whose enqueues are running: persist() records its durability handle there. */
  private publishing: PublishResult | null = null;
  /** For publishes nobody confirms (delayed messages coming due). */
  private readonly unconfirmed = new PublishResult();
  readonly clock: Clock;
  readonly delayed: DelayedMessages;
  /** Reused by publishes; a publish that starts while one is routing (dead-lettering on enqueue) gets its own. */
  private readonly collector = new RouteCollector();
  private collectorBusy = false;

  /** Message totals of this vhost (see broker/stats). */
  readonly stats = new MessageCounters();
  /** The broker's statistics (totals, churn, sizes); a vhost made alone gets its own. */
  readonly brokerStats: BrokerStats;

  constructor(name: string, clock: Clock, brokerStats: BrokerStats = new BrokerStats()) {
    this.name = name;
    this.clock = clock;
    this.brokerStats = brokerStats;
    this.delayed = new DelayedMessages(clock, (d) => this.releaseDelayed(d));
    const opts = { durable: true, autoDelete: false, internal: false, args: {} };
    this.exchanges.set('', new Exchange('', 'direct', opts));
    this.exchanges.set('amq.direct', new Exchange('amq.direct', 'direct', opts));
    this.exchanges.set('amq.fanout', new Exchange('amq.fanout', 'fanout', opts));
    this.exchanges.set('amq.topic', new Exchange('amq.topic', 'topic', opts));
    this.exchanges.set('amq.headers', new Exchange('amq.headers', 'headers', opts));
    this.exchanges.set('amq.match', new Exchange('amq.match', 'headers', opts));
    // RabbitMQ's firehose exchange exists in every vhost; clients cannot publish to it.
    this.exchanges.set('amq.rabbitmq.trace', new Exchange('amq.rabbitmq.trace', 'topic', { ...opts, internal: true }));
  }

  // ------------------------------------------------------------ exchanges

  declareExchange(
    name: string,
    type: string,
    opts: { passive: boolean; durable: boolean; autoDelete: boolean; internal: boolean; args: FieldTable },
  ): Exchange {
    const existing = this.exchanges.get(name);
    if (!opts.passive) this.checkExchangeType(type);
    if (name === '') throw accessRefused('operation not permitted on the default exchange');
    if (opts.passive) {
      if (existing === undefined) throw this.noExchange(name);
      return existing;
    }
    if (name.startsWith('amq.')) {
      if (existing !== undefined && name !== '') {
        // RabbitMQ lets clients redeclare the predeclared amq.* exchanges equivalently.
        this.checkExchangeEquivalent(existing, type, opts);
        return existing;
      }
      throw accessRefused(`exchange name '${name}' contains reserved prefix 'amq.*'`);
    }
    if (existing !== undefined) {
      this.checkExchangeEquivalent(existing, type, opts);
      return existing;
    }
    const e = new Exchange(name, type, opts);
    this.exchanges.set(name, e);
    this.applyPolicies(e);
    if (e.durable) this.listener.exchangeDeclared?.(e);
    return e;
  }

  /** RabbitMQ checks the type first, also when the exchange exists, before any permission (503, a connection error). */
  checkExchangeType(type: string): void {
    if (!isKnownExchangeType(type)) throw commandInvalid(`unknown exchange type '${type}'`);
  }

  private checkExchangeEquivalent(
    e: Exchange,
    type: string,
    opts: { durable: boolean; autoDelete: boolean; internal: boolean; args: FieldTable },
  ): void {
    checkFlag('exchange', e.name, this.name, 'type', type, e.type);
    checkFlag('exchange', e.name, this.name, 'durable', opts.durable, e.durable);
    checkFlag('exchange', e.name, this.name, 'auto_delete', opts.autoDelete, e.autoDelete);
    checkFlag('exchange', e.name, this.name, 'internal', opts.internal, e.internal);
    checkArgs('exchange', e.name, this.name, opts.args, e.args, EQUIVALENT_EXCHANGE_ARGS);
  }

  deleteExchange(name: string, ifUnused: boolean): void {
    if (name === '') throw accessRefused('operation not permitted on the default exchange');
    if (name.startsWith('amq.')) {
      throw accessRefused(`deletion of system exchange '${name}' in vhost '${this.name}' not allowed`);
    }
    const e = this.exchanges.get(name);
    if (e === undefined) return; // RabbitMQ: deleting an absent exchange succeeds
    if (ifUnused && e.table.size > 0) throw preconditionFailed(`exchange '${name}' in vhost '${this.name}' in use`);
    this.removeExchange(e);
  }

  private removeExchange(e: Exchange): void {
    this.exchanges.delete(e.name);
    if (e.delayed) this.delayed.removeExchange(e);
    for (const b of e.table.bindings()) this.listener.bindingRemoved?.(e, b.destination, b.routingKey, b.args);
    // Bindings where this exchange is the destination go too.
    for (const src of this.exchanges.values()) {
      if (src.table.size > 0) this.removeBindingsTo(src, e);
    }
    if (e.durable) this.listener.exchangeDeleted?.(e);
  }

  getExchange(name: string): Exchange {
    const e = this.exchanges.get(name);
    if (e === undefined) throw this.noExchange(name);
    return e;
  }

  bindExchange(destination: string, source: string, routingKey: string, args: FieldTable): void {
    this.checkNotDefault(source, destination);
    const src = this.getExchange(source);
    const dst = this.getExchange(destination);
    this.addBinding(src, dst, routingKey, args);
  }

  unbindExchange(destination: string, source: string, routingKey: string, args: FieldTable): void {
    this.checkNotDefault(source, destination);
    const src = this.exchanges.get(source);
    const dst = this.exchanges.get(destination);
    if (src === undefined || dst === undefined) return; // RabbitMQ: unbinding something absent succeeds
    this.removeBinding(src, dst, routingKey, args);
  }

  private checkNotDefault(source: string, destination: string): void {
    if (source === '' || destination === '') {
      throw accessRefused('operation not permitted on the default exchange');
    }
  }

  private addBinding(src: Exchange, dst: Destination, routingKey: string, args: FieldTable): void {
    if (src.routingType === 'headers') {
      const err = headersBindingError(args);
      if (err !== undefined) throw preconditionFailed(err);
    }
    if (src.table.bind(dst, routingKey, args)) {
      src.hadBinding = true;
      if (src.durable && isDurable(dst)) this.listener.bindingAdded?.(src, dst, routingKey, args);
    }
  }

  private removeBinding(src: Exchange, dst: Destination, routingKey: string, args: FieldTable): void {
    if (src.table.unbind(dst, routingKey, args)) {
      if (src.durable && isDurable(dst)) this.listener.bindingRemoved?.(src, dst, routingKey, args);
      this.maybeAutoDeleteExchange(src);
    }
  }

  private removeBindingsTo(src: Exchange, dst: Destination): void {
    const removed: { routingKey: string; args: FieldTable }[] = [];
    for (const b of src.table.bindings()) if (b.destination === dst) removed.push(b);
    if (removed.length === 0) return;
    src.table.removeDestination(dst);
    if (src.durable && isDurable(dst)) {
      for (const b of removed) this.listener.bindingRemoved?.(src, dst, b.routingKey, b.args);
    }
    this.maybeAutoDeleteExchange(src);
  }

  private maybeAutoDeleteExchange(e: Exchange): void {
    if (e.autoDelete && e.hadBinding && e.table.size === 0 && this.exchanges.get(e.name) === e) this.removeExchange(e);
  }

  // ------------------------------------------------------------ queues

  declareQueue(
    requested: string,
    opts: { passive: boolean; durable: boolean; exclusive: boolean; autoDelete: boolean; args: FieldTable },
    owner: object,
    guard: QueueDeclareGuard | null = null,
  ): DeclareQueueResult {
    if (opts.passive) {
      const q = this.getQueue(requested, owner);
      return { queue: q, messageCount: q.messageCount, consumerCount: q.consumerCount };
    }
    this.brokerStats.churn.queueDeclared++;
    const name = requested === '' ? generateName('amq.gen-') : requested;
    if (requested.startsWith('amq.')) {
      throw accessRefused(`queue name '${requested}' contains reserved prefix 'amq.*'`);
    }
    if (this.defaultQueueType === 'quorum' && opts.args['x-queue-type'] === undefined && opts.durable && !opts.exclusive && !opts.autoDelete) {
      opts = { ...opts, args: { ...opts.args, 'x-queue-type': 'quorum' } };
    }
    guard?.beforeLookup(name);
    const existing = this.queues.get(name);
    if (existing !== undefined) {
      this.checkExclusiveAccess(existing, owner);
      if (opts.exclusive !== existing.exclusive) throw lockedQueue(this.name, name);
      checkFlag('queue', name, this.name, 'durable', opts.durable, existing.durable);
      checkFlag('queue', name, this.name, 'auto_delete', opts.autoDelete, existing.autoDelete);
      checkFlag('queue', name, this.name, 'exclusive', opts.exclusive, existing.exclusive);
      checkArgs('queue', name, this.name, opts.args, existing.args, EQUIVALENT_QUEUE_ARGS);
      existing.touch();
      return { queue: existing, messageCount: existing.messageCount, consumerCount: existing.consumerCount };
    }
    guard?.beforeCreate(name, opts.args, this.queues.size);
    const policy = parseQueueArguments(name, opts.args, opts, this.name);
    const q = new Queue(
      name,
      { durable: opts.durable, exclusive: opts.exclusive, autoDelete: opts.autoDelete, args: opts.args, policy, owner: opts.exclusive ? owner : null },
      this,
    );
    this.queues.set(name, q);
    this.brokerStats.churn.queueCreated++;
    this.applyPolicies(q);
    if (q.durable && !q.exclusive) this.listener.queueDeclared?.(q);
    // Every queue is bound to the default exchange by its name; that binding is implicit.
    return { queue: q, messageCount: 0, consumerCount: 0 };
  }

  /** A queue by name, checking it exists and that an exclusive queue belongs to `owner`. */
  getQueue(name: string, owner: object): Queue {
    const q = this.queues.get(name);
    if (q === undefined) throw notFound(`no queue '${name}' in vhost '${this.name}'`);
    this.checkExclusiveAccess(q, owner);
    return q;
  }

  private checkExclusiveAccess(q: Queue, owner: object): void {
    if (q.exclusive && q.owner !== owner) throw lockedQueue(this.name, q.name);
  }

  bindQueue(queue: string, exchange: string, routingKey: string, args: FieldTable, owner: object): void {
    if (exchange === '') throw accessRefused(`operation not permitted on the default exchange`);
    const e = this.getExchange(exchange); // RabbitMQ reports a missing exchange first
    const q = this.getQueue(queue, owner);
    this.addBinding(e, q, routingKey, args);
  }

  unbindQueue(queue: string, exchange: string, routingKey: string, args: FieldTable, owner: object): void {
    if (exchange === '') throw accessRefused(`operation not permitted on the default exchange`);
    const q = this.queues.get(queue);
    const e = this.exchanges.get(exchange);
    if (q === undefined || e === undefined) return; // RabbitMQ: unbinding something absent succeeds
    this.checkExclusiveAccess(q, owner);
    this.removeBinding(e, q, routingKey, args);
  }

  purgeQueue(name: string, owner: object): number {
    const q = this.getQueue(name, owner);
    return this.tasks.track('queue.purge', () => q.purge(), { queue: name });
  }

  /** Returns the number of ready messages deleted with the queue. */
  deleteQueue(name: string, ifUnused: boolean, ifEmpty: boolean, owner: object): number {
    const q = this.queues.get(name);
    if (q === undefined) return 0; // RabbitMQ: deleting an absent queue succeeds
    this.checkExclusiveAccess(q, owner);
    if (ifUnused && q.consumerCount > 0) throw preconditionFailed(`queue '${name}' in vhost '${this.name}' in use`);
    if (ifEmpty && q.messageCount > 0) throw preconditionFailed(`queue '${name}' in vhost '${this.name}' not empty`);
    return this.removeQueue(q);
  }

  /** Remove a queue: cancel its consumers, drop its bindings, forget its messages. */
  removeQueue(q: Queue): number {
    if (this.queues.get(q.name) !== q) return 0;
    this.queues.delete(q.name);
    this.brokerStats.churn.queueDeleted++;
    this.brokerStats.retireQueue(q.policy.type, q.stats);
    const n = q.messageCount;
    this.tasks.track('queue.delete', () => q.purge(), { queue: q.name });
    q.dispose();
    for (const c of q.consumers.slice()) {
      q.removeConsumer(c);
      c.owner.cancelledByBroker(c);
    }
    for (const e of this.exchanges.values()) {
      if (e.table.size > 0) this.removeBindingsTo(e, q);
    }
    if (q.durable && !q.exclusive) this.listener.queueDeleted?.(q);
    this.listener.queueRemoved?.(q);
    return n;
  }

  /** Exclusive queues go with the connection that declared them. */
  removeExclusiveQueues(owner: object): void {
    for (const q of [...this.queues.values()]) if (q.exclusive && q.owner === owner) this.removeQueue(q);
  }

  // ------------------------------------------------------------ policies

  /** Give a new (or recovered) queue or exchange the policies that match it. */
  applyPolicies(o: Queue | Exchange): void {
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

  private releaseDelayed(d: DelayedMessage): void {
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

  // ------------------------------------------------------------ routing

  /**
   * Route a message published to `exchange` with `routingKeys` (the routing key plus CC/BCC):
   * afterwards `out.queues` holds each queue reached once. Follows exchange-to-exchange bindings
   * and alternate exchanges, each exchange once. As RabbitMQ does, an exchange routes all the keys
   * at once, and only if none of them matched a binding does its alternate exchange get the message.
   */
  route(exchange: Exchange, routingKeys: readonly string[], headers: FieldTable | undefined, out: RouteCollector): void {
    out.begin(exchange);
    this.routeThrough(exchange, routingKeys, headers, out);
    // Exchanges reached through bindings; the list grows while it is walked.
    for (let i = 0; i < out.pendingCount; i++) this.routeThrough(out.pending[i] as Exchange, routingKeys, headers, out);
  }

  private routeThrough(e: Exchange, keys: readonly string[], headers: FieldTable | undefined, out: RouteCollector): void {
    out.beginStep();
    if (e.name === '') {
      for (let i = 0; i < keys.length; i++) {
        const q = this.queues.get(keys[i] as string);
        if (q !== undefined) out.addQueue(q);
      }
    } else if (e.table.size > 0) {
      for (let i = 0; i < keys.length; i++) e.table.route(keys[i] as string, headers, out);
    }
    if (out.hits === 0) {
      const ae = e.alternateExchange;
      const alt = ae === undefined ? undefined : this.exchanges.get(ae);
      if (alt !== undefined && out.reach(alt)) this.routeThrough(alt, keys, headers, out);
    }
  }

  private noExchange(name: string): ChannelError {
    return notFound(`no exchange '${name}' in vhost '${this.name}'`);
  }
}

function lockedQueue(vhost: string, name: string): ChannelError {
  return resourceLocked(
    `cannot obtain exclusive access to locked queue '${name}' in vhost '${vhost}'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
  );
}

function isDurable(d: Destination): boolean {
  return isExchange(d) ? d.durable : d.durable && !d.exclusive;
}

/** `prefix` + 22 url-safe base64 characters, like RabbitMQ's amq.gen- and amq.ctag- names. */
export function generateName(prefix: string): string {
  return prefix + randomBytes(16).toString('base64url').slice(0, 22);
}


export type { Message };
