// MessageStore kept in process memory: for non-durable queues and tests; nothing survives the process.

import type {
  DurableCallback,
  MessageStore,
  MessageStoreStats,
  RecoveredQueueMessages,
  StoredMessage,
} from './message-store.js';
import { MAX_SHORTSTR_BYTES } from './message-store.js';

interface MemoryEntry {
  readonly msg: StoredMessage;
  deliveries: number;
}

export interface MemoryStoreOptions {
  /** Clock for recoveryMs; milliseconds. */
  now?: () => number;
}

export class MemoryStore implements MessageStore {
  private readonly queues: Map<string, Map<number, MemoryEntry>>;
  private readonly now: () => number;
  private nextSeq: number;
  private opened: boolean;
  private closed: boolean;
  private messages: number;
  private messageBytes: number;
  private appended: number;
  private acked: number;
  private unknownPositions: number;
  private syncs: number;
  private recoveryMs: number;
  private waiters: DurableCallback[];
  private readonly flushWaiters: () => void;

  constructor(options: MemoryStoreOptions = {}) {
    this.queues = new Map();
    this.now = options.now ?? (() => 0);
    this.nextSeq = 1;
    this.opened = false;
    this.closed = false;
    this.messages = 0;
    this.messageBytes = 0;
    this.appended = 0;
    this.acked = 0;
    this.unknownPositions = 0;
    this.syncs = 0;
    this.recoveryMs = 0;
    this.waiters = [];
    this.flushWaiters = () => {
      const cbs = this.waiters;
      this.waiters = [];
      this.syncs++;
      for (const cb of cbs) cb(null);
    };
  }

  open(): Promise<Map<string, RecoveredQueueMessages>> {
    if (this.opened) return Promise.reject(new Error('store already opened'));
    const start = this.now();
    this.opened = true;
    this.recoveryMs = this.now() - start;
    return Promise.resolve(new Map());
  }

  append(queue: string, msg: StoredMessage): number {
    this.checkOpen();
    checkShortstr('queue name', queue);
    checkShortstr('exchange name', msg.exchange);
    checkShortstr('routing key', msg.routingKey);
    checkEnqueuedAt(msg.enqueuedAt);
    let q = this.queues.get(queue);
    if (q === undefined) {
      q = new Map();
      this.queues.set(queue, q);
    }
    const seq = this.nextSeq++;
    q.set(seq, { msg, deliveries: 0 });
    this.messages++;
    this.messageBytes += msg.header.length + msg.body.length;
    this.appended++;
    return seq;
  }

  deliveryCount(queue: string, seq: number): number {
    return this.queues.get(queue)?.get(seq)?.deliveries ?? 0;
  }

  markDelivered(queue: string, seq: number): void {
    this.checkOpen();
    const e = this.queues.get(queue)?.get(seq);
    if (e === undefined) this.unknownPositions++;
    else e.deliveries++;
  }

  ack(queue: string, seq: number): boolean {
    this.checkOpen();
    const q = this.queues.get(queue);
    const e = q?.get(seq);
    if (q === undefined || e === undefined) {
      this.unknownPositions++;
      return false;
    }
    q.delete(seq);
    if (q.size === 0) this.queues.delete(queue);
    this.messages--;
    this.messageBytes -= e.msg.header.length + e.msg.body.length;
    this.acked++;
    return true;
  }

  purge(queue: string): number {
    this.checkOpen();
    const q = this.queues.get(queue);
    if (q === undefined) return 0;
    for (const e of q.values()) this.messageBytes -= e.msg.header.length + e.msg.body.length;
    const n = q.size;
    this.messages -= n;
    this.queues.delete(queue);
    return n;
  }

  deleteQueue(queue: string): number {
    return this.purge(queue);
  }

  messageCount(queue: string): number {
    return this.queues.get(queue)?.size ?? 0;
  }

  whenDurable(cb: DurableCallback): void {
    // Asynchronous like the disk store (callers never see re-entrant callbacks), and grouped
    // per tick like a group commit so the suite's expectations hold for every store.
    this.waiters.push(cb);
    if (this.waiters.length === 1) setImmediate(this.flushWaiters);
  }

  read(queue: string, seq: number): StoredMessage {
    const e = this.queues.get(queue)?.get(seq);
    if (e === undefined) throw new Error(`no message ${seq} in queue '${queue}'`);
    return e.msg;
  }

  readBody(queue: string, seq: number): Buffer {
    return this.read(queue, seq).body;
  }

  close(): Promise<void> {
    this.closed = true;
    return new Promise((resolve) => setImmediate(resolve));
  }

  stats(): MessageStoreStats {
    return {
      messages: this.messages,
      messageBytes: this.messageBytes,
      appended: this.appended,
      acked: this.acked,
      unknownPositions: this.unknownPositions,
      syncs: this.syncs,
      bytesWritten: 0,
      segments: 0,
      segmentsDeleted: 0,
      corruptRecords: 0,
      truncatedBytes: 0,
      recoveredMessages: 0,
      recoveryMs: this.recoveryMs,
    };
  }

  private checkOpen(): void {
    if (!this.opened || this.closed) throw new Error('store is not open');
  }
}

/** Throws RangeError when `s` does not fit an AMQP shortstr. */
export function checkShortstr(what: string, s: string): void {
  // Fast path: a string of <= 85 UTF-16 units is at most 255 UTF-8 bytes.
  if (s.length > 85 && Buffer.byteLength(s, 'utf8') > MAX_SHORTSTR_BYTES) {
    throw new RangeError(`${what} longer than ${MAX_SHORTSTR_BYTES} bytes`);
  }
}

/** Throws RangeError unless `t` is an integer the record's u64 field can carry exactly. */
export function checkEnqueuedAt(t: number): void {
  if (!Number.isSafeInteger(t) || t < 0) throw new RangeError(`enqueuedAt must be a safe non-negative integer, got ${t}`);
}
