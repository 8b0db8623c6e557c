// ReplicatedLog in memory, with fault injection, for unit tests of leadership, followers and the
// replicator: append delays on the injected clock, appends that fail, appends that time out
// (applied or not), and foreign appends that make the next CAS fail like a rival leader's would.
// Several handles (`handle()`) share one log, as several warren nodes share one stream.

import type { Clock, Timer } from '../util/clock.js';
import { AppendTimeoutError, WrongLastSequenceError, type AppendOptions, type LogEntry, type PurgeOptions, type ReplicatedLog } from './replicated-log.js';

export type AppendFault =
  /** Rejected with an error, not applied. */
  | { readonly kind: 'fail' }
  /** Applied, but the caller hears a timeout (the ack was lost). */
  | { readonly kind: 'timeout-applied' }
  /** Not applied, and the caller hears a timeout. */
  | { readonly kind: 'timeout-lost' };

interface Waiter {
  readonly fromSeq: number;
  readonly resolve: () => void;
  readonly timer: Timer;
}

export class MemoryLog {
  private readonly clock: Clock;
  private entries: LogEntry[] = [];
  private last = 0;
  /** Msg id of the last entry ('' when it had none). */
  private lastMsgId = '';
  /** msgId → sequence of every append ever accepted (the stream's dedup window, unbounded here). */
  private readonly ids = new Map<string, number>();
  private readonly faults: AppendFault[] = [];
  private waiters: Waiter[] = [];
  /** Delay before an append is applied (and answered), on the clock. */
  appendDelayMs = 0;
  /** Delay before a purge takes effect, on the clock (a late purge racing later appends). */
  purgeDelayMs = 0;
  private static made = 0;
  /** As a stream's name and creation time: another MemoryLog is another log. */
  readonly identity = `memory-${++MemoryLog.made}`;
  /** Every append attempt that reached the log: for assertions on who appended what. */
  readonly attempts: { subject: string; msgId: string; expectedLastSeq: number; outcome: 'ok' | 'duplicate' | 'wrong-last-seq' | 'fault' }[] = [];
  /** Set while the log is unreachable: appends and reads fail at once. */
  down = false;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** A client of this log (what one warren node holds). */
  handle(): ReplicatedLog {
    return {
      append: (subject, data, opts) => this.append(subject, data, opts),
      read: (fromSeq, max, waitMs) => this.read(fromSeq, max, waitMs),
      lastSequence: () => (this.down ? Promise.reject(new Error('log unreachable')) : Promise.resolve(this.last)),
      purgeSubject: (subject, opts) => this.purge(subject, opts),
      identity: () => (this.down ? Promise.reject(new Error('log unreachable')) : Promise.resolve(this.identity)),
      close: () => Promise.resolve(),
    };
  }

  /** The next appends meet these faults, in order. */
  inject(...faults: AppendFault[]): void {
    this.faults.push(...faults);
  }

  /** Appends without any check, as another writer would. */
  appendForeign(subject: string, data: Uint8Array): number {
    this.lastMsgId = '';
    return this.apply(subject, data);
  }

  get lastSeq(): number {
    return this.last;
  }

  /** Entries still held (after purges). */
  all(): readonly LogEntry[] {
    return this.entries;
  }

  private async append(subject: string, data: Uint8Array, opts: AppendOptions): Promise<number> {
    if (this.down) throw new Error('log unreachable');
    const copy = Uint8Array.from(data);
    if (this.appendDelayMs > 0) await this.clock.sleep(this.appendDelayMs);
    const attempt = { subject, msgId: opts.msgId, expectedLastSeq: opts.expectedLastSeq, outcome: 'ok' as 'ok' | 'duplicate' | 'wrong-last-seq' | 'fault' };
    this.attempts.push(attempt);
    const fault = this.faults.shift();
    if (fault?.kind === 'fail') {
      attempt.outcome = 'fault';
      throw new Error('injected append failure');
    }
    if (fault?.kind === 'timeout-lost') {
      attempt.outcome = 'fault';
      throw new AppendTimeoutError('injected (not applied)');
    }
    // As JetStream does: a known id answers with the first append's sequence before any CAS.
    const dup = this.ids.get(opts.msgId);
    if (dup !== undefined) {
      attempt.outcome = 'duplicate';
      return dup;
    }
    if (opts.expectedLastSeq !== this.last) {
      attempt.outcome = 'wrong-last-seq';
      throw new WrongLastSequenceError(opts.expectedLastSeq, `last is ${this.last}`);
    }
    if (opts.expectedLastMsgId !== undefined && opts.expectedLastMsgId !== this.lastMsgId) {
      attempt.outcome = 'wrong-last-seq';
      throw new WrongLastSequenceError(opts.expectedLastSeq, `last msg id is '${this.lastMsgId}'`);
    }
    const seq = this.apply(subject, copy, opts.msgId);
    this.ids.set(opts.msgId, seq);
    this.lastMsgId = opts.msgId;
    if (fault?.kind === 'timeout-applied') {
      attempt.outcome = 'fault';
      throw new AppendTimeoutError('injected (applied)');
    }
    return seq;
  }

  private apply(subject: string, data: Uint8Array, msgId?: string): number {
    const seq = ++this.last;
    this.entries.push(msgId === undefined ? { seq, subject, data } : { seq, subject, data, msgId });
    const ready = this.waiters;
    this.waiters = [];
    for (const w of ready) {
      w.timer.cancel();
      w.resolve();
    }
    return seq;
  }

  private async read(fromSeq: number, max: number, waitMs: number): Promise<LogEntry[]> {
    if (this.down) throw new Error('log unreachable');
    let out = this.collect(fromSeq, max);
    if (out.length > 0 || waitMs <= 0) return out;
    await new Promise<void>((resolve) => {
      const w: Waiter = {
        fromSeq,
        resolve,
        timer: this.clock.after(waitMs, () => {
          this.waiters = this.waiters.filter((x) => x !== w);
          resolve();
        }),
      };
      this.waiters.push(w);
    });
    out = this.collect(fromSeq, max);
    return out;
  }

  private collect(fromSeq: number, max: number): LogEntry[] {
    const out: LogEntry[] = [];
    for (const e of this.entries) {
      if (e.seq < fromSeq) continue;
      out.push(e);
      if (out.length >= max) break;
    }
    return out;
  }

  /** As JetStream: `keep` the last entries of the subject, or remove those below `upToSeq` only. */
  private async purge(subject: string, opts: PurgeOptions | undefined): Promise<void> {
    if (this.down) throw new Error('log unreachable');
    if (opts?.keep !== undefined && opts.upToSeq !== undefined) throw new Error('purge: keep and upToSeq together');
    if (this.purgeDelayMs > 0) await this.clock.sleep(this.purgeDelayMs);
    const mine = this.entries.filter((e) => e.subject === subject);
    const keep = opts?.keep ?? 0;
    const kept = new Set(keep > 0 ? mine.slice(-keep) : []);
    const below = opts?.upToSeq ?? Infinity;
    this.entries = this.entries.filter((e) => e.subject !== subject || kept.has(e) || e.seq >= below);
  }
}
