// A virtual host's objects and the exchange side of them: exchanges (declare, delete), bindings
// between exchanges and their destinations, and routing through them. Queues are added by
// vhost-queues.ts, publishing, policies and the queues' host by vhost.ts (VHost).

import { accessRefused, commandInvalid, notFound, preconditionFailed, type ChannelError } from '../protocol/errors.js';
import type { FieldTable } from '../protocol/field-table.js';
import { checkArgs, checkFlag } from './equivalence.js';
import type { Clock } from '../util/clock.js';
import { UNTRACKED, type TaskTracker } from '../util/loop-monitor.js';
import { DelayedMessages, type DelayedMessage } from './delayed.js';
import { Exchange, isExchange, isKnownExchangeType, type Destination } from './exchange/exchange.js';
import type { RouteCollector } from './route-collector.js';
import { headersBindingError } from './exchange/headers.js';
import type { Queue } from './queue/queue.js';
import type { Persistence } from './persistence.js';
import type { VHostListener } from './vhost-listener.js';
import { DirectReplyTo } from './publish/direct-reply-to.js';
import { BrokerStats } from './stats/broker-stats.js';

/** The exchange arguments RabbitMQ compares on redeclaration. */
const EQUIVALENT_EXCHANGE_ARGS = ['alternate-exchange'] as const;

export abstract class VHostExchanges {
  readonly name: string;
  readonly exchanges = new Map<string, Exchange>();
  readonly queues = new Map<string, Queue>();
  /**
   * The vhost's default queue type (its metadata): `quorum` makes a durable, non-exclusive,
   * non-auto-delete declare without x-queue-type a quorum queue, as RabbitMQ adds the argument.
   */
  defaultQueueType = 'classic';
  listener: VHostListener = {};
  /** Names long synchronous work (purges, deletes) for the event-loop watchdog. */
  tasks: TaskTracker = UNTRACKED;
  /** Set by Persistence.attach when the broker has a data directory. */
  store: Persistence | null = null;
  /** Direct reply-to consumers; the broker shares one registry among its vhosts. */
  replyTo = new DirectReplyTo();
  readonly clock: Clock;
  readonly delayed: DelayedMessages;
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

  protected addBinding(src: Exchange, dst: Destination, routingKey: string, args: FieldTable): void {
    if (src.routingType === 'headers') {
      const err = headersBindingError(args);
      if (err !== undefined) throw preconditionFailed(err);
    }
    if (src.table.bind(dst, routingKey, args)) {
      src.hadBinding = true;
      if (src.durable && isDurable(dst)) this.listener.bindingAdded?.(src, dst, routingKey, args);
    }
  }

  protected removeBinding(src: Exchange, dst: Destination, routingKey: string, args: FieldTable): void {
    if (src.table.unbind(dst, routingKey, args)) {
      if (src.durable && isDurable(dst)) this.listener.bindingRemoved?.(src, dst, routingKey, args);
      this.maybeAutoDeleteExchange(src);
    }
  }

  protected removeBindingsTo(src: Exchange, dst: Destination): void {
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

  /** Give a new (or recovered) queue or exchange the policies that match it (VHost). */
  abstract applyPolicies(o: Queue | Exchange): void;
  /** A delayed message came due (VHost). */
  protected abstract releaseDelayed(d: DelayedMessage): void;
}

function isDurable(d: Destination): boolean {
  return isExchange(d) ? d.durable : d.durable && !d.exclusive;
}
