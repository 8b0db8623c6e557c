// Summarised logging for events that can arrive once per message or per frame (dead-lettering,
// dropped messages, store errors): the first event for a key is logged at once, so an operator
// sees the flood start; later ones are only counted, and one summary line per key per interval
// carries the counts. A timer is armed only while counts wait for their line, so every timer that
// fires writes one, and a quiet key costs nothing.

import type { Clock, Timer } from './clock.js';

/** The part of a pino logger the summariser uses (util/ does not depend on the logging module). */
export interface SummaryLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export type SummaryLevel = 'info' | 'warn' | 'error';

export interface LogSummaryOptions {
  level: SummaryLevel;
  /** Constant message, the same on the first line and on the summaries. */
  msg: string;
  /** At most one summary line per key per this many milliseconds (default 10 s). */
  intervalMs?: number;
  /** Name of the field holding counts by kind (default 'counts'). */
  countsField?: string;
}

export const DEFAULT_SUMMARY_INTERVAL_MS = 10_000;

interface KeyState {
  /** When the last line for this key was written. */
  lastLine: number;
  /** Armed only while events are counted and not yet logged: a quiet key costs no timer. */
  timer: Timer | null;
  /** Events counted since the last line for this key. */
  count: number;
  byKind: Map<string, number>;
  /** Fields of the latest event (queue name, DLX, ...), repeated on the summary. */
  fields: object;
}

/** Past this many keys, keys quiet for a whole interval are forgotten (they log at once again anyway). */
const PRUNE_ABOVE = 256;

export class LogSummary {
  private readonly keys = new Map<string, KeyState>();
  private readonly intervalMs: number;
  private readonly countsField: string;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly log: SummaryLogger,
    private readonly options: LogSummaryOptions,
  ) {
    this.intervalMs = options.intervalMs ?? DEFAULT_SUMMARY_INTERVAL_MS;
    this.countsField = options.countsField ?? 'counts';
  }

  /** Record one event for `key` (e.g. a queue), of `kind` (e.g. the dead-letter reason). */
  note(key: string, kind: string, fields: object): void {
    if (this.closed) return;
    const now = this.clock.now();
    let k = this.keys.get(key);
    if (k === undefined || (k.timer === null && now - k.lastLine >= this.intervalMs)) {
      // News: nothing was logged for this key within the last interval.
      this.emit(fields, 1, new Map([[kind, 1]]), false);
      if (k === undefined) {
        if (this.keys.size >= PRUNE_ABOVE) this.prune(now);
        this.keys.set(key, { lastLine: now, timer: null, count: 0, byKind: new Map(), fields });
      } else {
        k.lastLine = now;
      }
      return;
    }
    k.count++;
    k.byKind.set(kind, (k.byKind.get(kind) ?? 0) + 1);
    k.fields = fields;
    if (k.timer === null) {
      const state = k;
      state.timer = this.clock.after(state.lastLine + this.intervalMs - now, () => this.tick(key, state));
    }
  }

  /** Keys with counted events waiting for their summary line (tests and metrics). */
  get activeKeys(): number {
    let n = 0;
    for (const k of this.keys.values()) if (k.timer !== null) n++;
    return n;
  }

  /** Keys remembered at all (bounded: quiet ones are pruned). */
  get trackedKeys(): number {
    return this.keys.size;
  }

  /** The key is gone (a deleted queue): log what it still had counted, and drop its timer. */
  forget(key: string): void {
    const k = this.keys.get(key);
    if (k === undefined) return;
    this.keys.delete(key);
    if (k.timer === null) return;
    k.timer.cancel();
    k.timer = null;
    this.emit(k.fields, k.count, k.byKind, true);
  }

  /** Flush every pending summary and cancel all timers; later events are ignored. */
  close(): void {
    for (const key of [...this.keys.keys()]) this.forget(key);
    this.closed = true;
  }

  private tick(key: string, k: KeyState): void {
    if (this.keys.get(key) !== k) return;
    k.timer = null;
    this.emit(k.fields, k.count, k.byKind, true);
    k.lastLine = this.clock.now();
    k.count = 0;
    k.byKind = new Map();
  }

  private prune(now: number): void {
    for (const [key, k] of this.keys) if (k.timer === null && now - k.lastLine >= this.intervalMs) this.keys.delete(key);
  }

  private emit(fields: object, count: number, byKind: Map<string, number>, summary: boolean): void {
    const line: Record<string, unknown> = { ...fields, count, [this.countsField]: Object.fromEntries(byKind) };
    if (summary) {
      line['summary'] = true;
      line['intervalMs'] = this.intervalMs;
    }
    this.log[this.options.level](line, this.options.msg);
  }
}
