// The leader's append pipeline. Every append is fenced: it expects the log's last sequence to be
// the one before it, so the k-th append of an epoch expects base + k − 1, given when it is first sent.
// That lets up to `window` appends be in flight at once (one in flight cost about half the
// confirm throughput in the prototype; 2–4 reach local speed).
//
// Errors: a timeout or a lost connection may or may not have applied the append, so it is resent
// with the same msg id (the engine answers a duplicate with the first sequence). While anything
// is being retried the pipeline narrows to one append at a time, oldest first. A wrong last
// sequence is fencing only when every earlier append is known to be in: then someone else
// appended (a new leader's barrier), and this node must stop — otherwise it is the echo of an
// earlier append that did not go in, and is retried after it.
//
// A pipelined append sent before its predecessor was acknowledged also names the predecessor's
// msg id as the expected last one: if the predecessor was lost and a rival's barrier took its
// slot, the sequence would match and a deposed leader's append would land after the barrier.
// A failure of that check on a non-head append is only a retry, never fencing.
//
// Coalescing: an append not yet sent may take in the ones queued after it (Mergeable.absorb, e.g.
// adjacent bytes of one segment file). While the window is full, batches therefore grow instead
// of queueing one small entry each: the engine's cost is mostly per append, and its latency
// grows slowly with size. Sequence numbers are given at first send, so merging never leaves a gap.

import type { Clock, Timer } from '../util/clock.js';
import { WrongLastSequenceError, type ReplicatedLog } from './replicated-log.js';

/** An append that may take in later ones while it waits to be sent. */
export interface Mergeable {
  readonly subject: string;
  /** Takes `next` into this entry if both can go as one (false leaves both as they are). */
  absorb(next: Mergeable): boolean;
  /** The entry's bytes; called once, when it is first sent. */
  encode(): Uint8Array;
}

interface Waiter {
  readonly resolve: (seq: number) => void;
  readonly reject: (err: Error) => void;
}

interface Pending {
  readonly item: Mergeable;
  /** Encoded at first send (null until then: the entry may still absorb later ones). */
  data: Uint8Array | null;
  /** The log's last sequence this append expects (−1 until first sent). */
  expected: number;
  msgId: string;
  state: 'queued' | 'inflight' | 'retry' | 'done';
  /** Every append merged into this entry. */
  readonly waiters: Waiter[];
}

/** A plain entry: never merges. */
function fixed(subject: string, data: Uint8Array): Mergeable {
  return { subject, absorb: () => false, encode: () => data };
}

export class FencedError extends Error {
  constructor(detail: string) {
    super(`fenced: another node leads the replication group (${detail})`);
    this.name = 'FencedError';
  }
}

export interface SequencerOptions {
  log: ReplicatedLog;
  clock: Clock;
  /** Who appends: part of every msg id, so two nodes never share one. */
  node: string;
  epoch: number;
  /** The log's last sequence when this node became leader (its barrier). */
  base: number;
  /** Appends in flight at most (2–4). */
  window: number;
  /** Called once, when a fenced append proves another node leads. */
  onFenced: (err: FencedError) => void;
  /** Called on each failed attempt that will be retried (for logs and metrics). */
  onRetry?: (err: Error) => void;
  /** Longest pause between two retries (default 1 s). */
  retryMaxMs?: number;
}

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 1_000;

export class Sequencer {
  private readonly o: SequencerOptions;
  /** Not yet acknowledged, oldest first. */
  private readonly pending: Pending[] = [];
  private inflight = 0;
  /** Expected last sequence of the next append queued. */
  private next: number;
  private recovering = false;
  private backoff = RETRY_MIN_MS;
  private retryTimer: Timer | null = null;
  private fenced: FencedError | null = null;
  /** Last sequence known appended by this node (acknowledged). */
  acked: number;
  /** When the last append was sent (for idle heartbeats). */
  lastSentAt: number;
  retries = 0;
  /** Appends that went out inside an earlier one (coalescing). */
  merged = 0;

  constructor(o: SequencerOptions) {
    this.o = o;
    this.next = o.base;
    this.acked = o.base;
    this.lastSentAt = o.clock.now();
  }

  get epoch(): number {
    return this.o.epoch;
  }

  get isFenced(): boolean {
    return this.fenced !== null;
  }

  /** Appends waiting for their ack. */
  get outstanding(): number {
    return this.pending.length;
  }

  /** Resolves with the entry's sequence once the log holds it; rejects with FencedError if this node was deposed. */
  append(subject: string, data: Uint8Array): Promise<number> {
    return this.appendItem(fixed(subject, data));
  }

  /**
   * Like append, but the item may be merged into the last unsent entry, or take later ones in;
   * resolves with the sequence of the entry that carried it.
   */
  appendItem(item: Mergeable): Promise<number> {
    if (this.fenced !== null) return Promise.reject(this.fenced);
    return new Promise<number>((resolve, reject) => {
      const last = this.pending[this.pending.length - 1];
      if (last !== undefined && last.data === null && last.item.absorb(item)) {
        last.waiters.push({ resolve, reject });
        this.merged++;
        return;
      }
      this.pending.push({ item, data: null, expected: -1, msgId: '', state: 'queued', waiters: [{ resolve, reject }] });
      this.pump();
    });
  }

  /** Stops retrying; appends still pending are rejected. */
  close(err: Error): void {
    this.retryTimer?.cancel();
    this.retryTimer = null;
    if (this.fenced === null) this.fenced = new FencedError(err.message);
    this.failAll(err);
  }

  /**
   * Msg id of this leader's append at `seq`: the issue's `<epoch>-<seq>`, prefixed with the node
   * so two candidates' barriers for one epoch and slot never deduplicate into each other.
   */
  private idFor(seq: number): string {
    return `${this.o.node}/${this.o.epoch}-${seq}`;
  }

  private pump(): void {
    if (this.fenced !== null || this.retryTimer !== null) return;
    if (this.recovering) {
      // One at a time, oldest unacknowledged first, once nothing else is in flight.
      if (this.inflight > 0) return;
      const head = this.pending[0];
      if (head === undefined) {
        this.recovering = false;
        this.backoff = RETRY_MIN_MS;
        return;
      }
      if (!this.pending.some((p) => p.state === 'retry')) {
        this.recovering = false;
        this.backoff = RETRY_MIN_MS;
      } else {
        this.send(head);
        return;
      }
    }
    for (const p of this.pending) {
      if (this.inflight >= this.o.window) break;
      if (p.state === 'queued') this.send(p);
    }
  }

  private send(p: Pending): void {
    if (p.data === null) {
      // First send, in log order: entries are numbered as they go out.
      try {
        p.data = p.item.encode();
      } catch (err) {
        // Nothing after an entry that cannot be sent may be: the turn ends (its appends reject).
        this.close(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      p.expected = this.next++;
      p.msgId = this.idFor(p.expected + 1);
    }
    p.state = 'inflight';
    this.inflight++;
    this.lastSentAt = this.o.clock.now();
    const head = this.pending[0] === p;
    const opts = head
      ? { expectedLastSeq: p.expected, msgId: p.msgId }
      : { expectedLastSeq: p.expected, msgId: p.msgId, expectedLastMsgId: this.idFor(p.expected) };
    this.o.log.append(p.item.subject, p.data, opts).then(
      (seq) => this.settled(p, seq, null),
      (err: unknown) => this.settled(p, 0, err instanceof Error ? err : new Error(String(err))),
    );
  }

  private settled(p: Pending, seq: number, err: Error | null): void {
    this.inflight--;
    if (this.fenced !== null) return;
    if (err === null) {
      if (seq !== p.expected + 1) {
        // The engine put it elsewhere: the log is not what this leader thinks it is.
        this.fence(`append expected after ${p.expected} landed at ${seq}`);
        return;
      }
      p.state = 'done';
      this.backoff = RETRY_MIN_MS;
      // Acknowledge in log order.
      while (this.pending.length > 0 && (this.pending[0] as Pending).state === 'done') {
        const h = this.pending.shift() as Pending;
        this.acked = h.expected + 1;
        for (const w of h.waiters) w.resolve(this.acked);
      }
      this.pump();
      return;
    }
    if (err instanceof WrongLastSequenceError && this.pending[0] === p) {
      // Every earlier append is in: someone else appended.
      this.fence(err.message);
      return;
    }
    p.state = 'retry';
    this.retries++;
    this.o.onRetry?.(err);
    // Later appends in flight will fail their CAS behind this one; they are resent in order.
    for (const q of this.pending) if (q.state === 'queued') q.state = 'retry';
    if (!this.recovering) {
      this.recovering = true;
      this.backoff = RETRY_MIN_MS;
    }
    if (this.inflight === 0 && this.retryTimer === null) {
      const delay = this.backoff;
      this.backoff = Math.min(this.o.retryMaxMs ?? RETRY_MAX_MS, this.backoff * 2);
      this.retryTimer = this.o.clock.after(delay, () => {
        this.retryTimer = null;
        this.pump();
      });
    }
  }

  private fence(detail: string): void {
    this.fenced = new FencedError(detail);
    this.retryTimer?.cancel();
    this.retryTimer = null;
    this.failAll(this.fenced);
    this.o.onFenced(this.fenced);
  }

  private failAll(err: Error): void {
    const all = this.pending.splice(0);
    for (const p of all) for (const w of p.waiters) w.reject(err);
  }
}
