// Wires one vhost to its stores (in its own directory): durable definitions are logged as they
// change and persistent messages in durable queues are appended. vhost-recovery.ts rebuilds both.

import { join } from 'node:path';
import type { SyncMode } from '../config/config.js';
import type { Logger } from '../log.js';
import { encodeTable, type FieldTable } from '../protocol/field-table.js';
import { DefinitionsStore } from '../store/definitions-store.js';
import type { BindingDef, PolicyDef } from '../store/definitions-types.js';
import type { DurableCallback, MessageStore, StoredMessage } from '../store/message-store.js';
import { SegmentStore } from '../store/segment-store.js';
import type { StoreReplication } from '../store/segment-log.js';
import { SpillStore } from '../store/spill-store.js';
import type { Clock } from '../util/clock.js';
import { LogSummary } from '../util/log-summary.js';
import { isExchange, type Destination, type Exchange } from './exchange/exchange.js';
import { Message } from './message.js';
import type { Queue, QueueEntry } from './queue/queue.js';
import type { VHostListener } from './vhost-listener.js';
import { MessageDurability } from './publish/durability.js';

/** Store "queue" holding the pending messages of a durable x-delayed-message exchange; the amq. prefix cannot clash with client queues. */
export const DELAYED_PREFIX = 'amq.warren.delayed.';


/**
 * What attach needs of a vhost. Not the VHost class: vhost.ts imports this module (its store is a
 * Persistence), so this one names only the members it touches.
 */
export interface AttachedVHost {
  readonly name: string;
  readonly listener: VHostListener;
  store: Persistence | null;
}

export class Persistence {
  readonly messages: MessageStore;
  readonly definitions: DefinitionsStore;
  /** Transient messages of deep queues, paged out to keep memory bounded; emptied at every start. */
  readonly spillStore: SpillStore;
  /** Marks of message appends and the group commits covering them: what publisher confirms wait on. */
  readonly durability: MessageDurability;
  readonly clock: Clock;
  readonly log: Logger;
  /** Definition records written, and how many of them an fsync is known to cover. */
  private defsWritten = 0;
  private defsSynced = 0;
  /** Set while recovery replays definitions: the listeners must not log them again. */
  restoring = false;
  private failed = false;
  /** A whenDurable is pending only to notice write failures. */
  private watching = false;
  private readonly failureListeners: ((err: Error) => void)[] = [];
  /** A damaged store fails once per message: these are logged when they start, then summarised per queue. */
  private readonly unreadableLog: LogSummary;
  private readonly ackFailedLog: LogSummary;

  /** `dir` is the vhost's directory (data-dir.ts). */
  constructor(dir: string, sync: SyncMode, syncIntervalMs: number, clock: Clock, log: Logger, replication: StoreReplication | null = null) {
    this.clock = clock;
    this.log = log;
    this.unreadableLog = new LogSummary(clock, log, { level: 'error', msg: 'paged message unreadable, dropped', countsField: 'stores' });
    this.ackFailedLog = new LogSummary(clock, log, { level: 'error', msg: 'store rejected an ack', countsField: 'stores' });
    const now = (): number => clock.now();
    this.messages = new SegmentStore({ dir: join(dir, 'messages'), sync, batchIntervalMs: syncIntervalMs, now, clock, ...(replication === null ? {} : { replication: replication.messages }) });
    this.definitions = new DefinitionsStore({ dir: join(dir, 'definitions'), ...(replication === null ? {} : { onRecord: replication.definitions }) });
    // No fsync, no index, no ack records: spilled messages are transient and the directory is emptied at every start.
    this.spillStore = new SpillStore({ dir: join(dir, 'spill') });
    this.durability = new MessageDurability((cb) => this.whenMessagesDurable(cb));
  }

  /**
   * Page a transient message out, behind the queue's other spilled ones; 0 if it is, -1 if the
   * spill store refuses (it then stays in memory). Spilled messages have no position: they come
   * back in order from the head (loadPaged).
   */
  spill(queue: string, message: Message, enqueuedAt: number): number {
    try {
      this.spillStore.append(queue, stored(message, enqueuedAt));
      return 0;
    } catch {
      return -1;
    }
  }

  /**
   * Bring a paged-out message back into memory: `seq` in the message store, or the queue's next
   * spilled message, which leaves the spill store. null if its record is damaged (the store
   * counts it in corruptRecords): it is dropped, never delivered.
   */
  loadPaged(queue: string, seq: number, spilled: boolean): Message | null {
    try {
      if (spilled) {
        const s = this.spillStore.take(queue);
        if (s === null) {
          this.unreadableLog.note(queue, 'spill', { queue });
          return null;
        }
        return new Message(s.exchange, s.routingKey, s.header, [s.body], s.body.length);
      }
      const s = this.messages.read(queue, seq);
      // Copies: read() may return views into a read-ahead buffer shared with other records.
      return new Message(s.exchange, s.routingKey, Buffer.from(s.header), [Buffer.from(s.body)], s.body.length);
    } catch (err) {
      this.unreadableLog.note(queue, spilled ? 'spill' : 'messages', { queue, seq, err: err instanceof Error ? err.message : String(err) });
      this.dropPaged(queue, seq, spilled);
      return null;
    }
  }

  dropPaged(queue: string, seq: number, spilled: boolean): void {
    if (spilled) this.spillStore.discard(queue);
    else this.forget(queue, seq);
  }

  /** Some durable definition change is not yet on disk (by any channel). */
  definitionsPending(): boolean {
    return this.defsWritten > this.defsSynced;
  }

  whenDefinitionsDurable(cb: DurableCallback): void {
    const target = this.defsWritten;
    this.definitions.whenDurable((err) => {
      if (err === null && target > this.defsSynced) this.defsSynced = target;
      cb(err);
    });
  }

  whenMessagesDurable(cb: DurableCallback): void {
    this.messages.whenDurable((err) => {
      if (err !== null && !this.failed) {
        this.failed = true;
        for (const f of this.failureListeners) f(err);
      }
      cb(err);
    });
  }

  /** Called once if the message store fails (ENOSPC or another I/O error). */
  whenMessagesFail(f: (err: Error) => void): void {
    this.failureListeners.push(f);
  }

  /** Hook the vhost's changes to the stores. */
  attach(vhost: AttachedVHost): void {
    const v = vhost.name;
    const changed = (): void => {
      if (!this.restoring) this.defsWritten++;
    };
    vhost.listener.exchangeDeclared = (e) => {
      if (this.restoring) return;
      this.definitions.putExchange({ vhost: v, name: e.name, type: e.type, autoDelete: e.autoDelete, internal: e.internal, arguments: encodeTable(e.args) });
      changed();
    };
    vhost.listener.exchangeDeleted = (e) => {
      this.definitions.deleteExchange(v, e.name);
      if (e.delayed) this.messages.deleteQueue(DELAYED_PREFIX + e.name);
      changed();
    };
    vhost.listener.queueDeclared = (q) => {
      if (this.restoring) return;
      this.definitions.putQueue({ vhost: v, name: q.name, autoDelete: q.autoDelete, exclusive: false, arguments: encodeTable(q.args) });
      changed();
    };
    vhost.listener.queueDeleted = (q) => {
      this.definitions.deleteQueue(v, q.name);
      this.messages.deleteQueue(q.name);
      changed();
    };
    vhost.listener.bindingAdded = (src, dst, routingKey, a) => {
      if (this.restoring) return;
      this.definitions.putBinding(bindingDef(v, src, dst, routingKey, a));
      changed();
    };
    vhost.listener.bindingRemoved = (src, dst, routingKey, a) => {
      this.definitions.deleteBinding(bindingDef(v, src, dst, routingKey, a));
      changed();
    };
    vhost.listener.entryRemoved = (q, entry) => {
      this.forget(q.name, entry.storeSeq);
    };
    vhost.store = this;
  }

  /**
   * Write a policy put (def) or delete durably; resolves once it is fsynced, rejects if the
   * store failed. Not through the listener: the caller waits for the disk before applying it.
   */
  persistPolicy(vhost: string, kind: PolicyDef['kind'], name: string, def: Omit<PolicyDef, 'vhost' | 'kind' | 'name'> | null): Promise<void> {
    if (def === null) this.definitions.deletePolicy(vhost, kind, name);
    else this.definitions.putPolicy({ vhost, kind, name, ...def });
    this.defsWritten++;
    return new Promise((resolve, reject) => this.whenDefinitionsDurable((err) => (err === null ? resolve() : reject(err))));
  }

  /** Append a persistent message for a durable queue; returns its store position. */
  persist(queue: string, message: Message, enqueuedAt: number): number {
    const seq = this.messages.append(queue, stored(message, enqueuedAt));
    this.durability.appended();
    this.watchFailures();
    return seq;
  }

  /** Learn of a write failure even when no publisher waits for a confirm (so the alarm still blocks publishers). */
  private watchFailures(): void {
    if (this.watching) return;
    this.watching = true;
    this.whenMessagesDurable(() => {
      this.watching = false;
    });
  }

  markDelivered(queue: Queue, entry: QueueEntry): void {
    if (this.failed) return;
    try {
      this.messages.markDelivered(queue.name, entry.storeSeq);
    } catch {
      // The store already failed; the alarm blocks publishers. Deliveries go on from memory.
    }
  }

  /** Forget an acked or removed message; after a store failure this is a no-op rather than an error for the client. */
  private forget(queue: string, seq: number): void {
    if (this.failed) return;
    try {
      this.messages.ack(queue, seq);
    } catch (err) {
      this.ackFailedLog.note(queue, 'messages', { queue, seq, err: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Persist a delayed message of a durable exchange. */
  persistDelayed(e: Exchange, message: Message, now: number): number {
    return this.persist(DELAYED_PREFIX + e.name, message, now);
  }

  /** The same message with its body left in the store. */
  pagedDelayed(e: Exchange, message: Message, storeSeq: number): Message {
    return Message.paged(message.exchange, message.routingKey, message.header, message.bodySize, this.messages, DELAYED_PREFIX + e.name, storeSeq);
  }

  releaseDelayed(e: Exchange, storeSeq: number): void {
    this.messages.ack(DELAYED_PREFIX + e.name, storeSeq);
  }

  async close(): Promise<void> {
    this.unreadableLog.close();
    this.ackFailedLog.close();
    await this.spillStore.close();
    await this.messages.close();
    await this.definitions.close();
  }
}

function bindingDef(vhost: string, src: Exchange, dst: Destination, routingKey: string, a: FieldTable): BindingDef {
  return {
    vhost,
    source: src.name,
    destination: dst.name,
    destinationType: isExchange(dst) ? 'exchange' : 'queue',
    routingKey,
    arguments: encodeTable(a),
  };
}

function stored(message: Message, enqueuedAt: number): StoredMessage {
  return { exchange: message.exchange, routingKey: message.routingKey, header: message.header, body: message.bodyBuffer(), enqueuedAt };
}
