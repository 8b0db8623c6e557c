// A virtual host's queues: declare (with RabbitMQ's equivalence checks), exclusive access,
// queue bindings, purge and delete.

import { randomBytes } from 'node:crypto';
import { accessRefused, notFound, preconditionFailed, resourceLocked, type ChannelError } from '../protocol/errors.js';
import type { FieldTable } from '../protocol/field-table.js';
import { checkArgs, checkFlag } from './equivalence.js';
import { parseQueueArguments } from './queue/arguments.js';
import { Queue, type QueueHost } from './queue/queue.js';
import type { QueueDeclareGuard } from './auth/resource-access.js';
import { VHostExchanges } from './vhost-exchanges.js';

/** The x-arguments RabbitMQ compares on queue redeclaration. */
const EQUIVALENT_QUEUE_ARGS = [
  'x-expires', 'x-message-ttl', 'x-dead-letter-exchange', 'x-dead-letter-routing-key', 'x-max-length',
  'x-max-length-bytes', 'x-max-priority', 'x-overflow', 'x-queue-type', 'x-single-active-consumer',
  'x-delivery-limit', 'x-queue-mode',
] as const;

export interface DeclareQueueResult {
  queue: Queue;
  messageCount: number;
  consumerCount: number;
}
export abstract class VHostQueues extends VHostExchanges {
  /** What the queues of this vhost are given as their host (the VHost itself). */
  protected abstract readonly queueHost: QueueHost;

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
      this.queueHost,
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
}

function lockedQueue(vhost: string, name: string): ChannelError {
  return resourceLocked(
    `cannot obtain exclusive access to locked queue '${name}' in vhost '${vhost}'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
  );
}

/** `prefix` + 22 url-safe base64 characters, like RabbitMQ's amq.gen- and amq.ctag- names. */
export function generateName(prefix: string): string {
  return prefix + randomBytes(16).toString('base64url').slice(0, 22);
}
