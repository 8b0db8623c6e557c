// Summarised logging for events that can arrive once per message or per frame (dead-lettering,
// dropped messages, store errors): the first event for a key is logged at once, so an operator
// sees the flood start; later ones are only counted, and one summary line per key per interval
// carries the counts. A key with no new events for a whole interval goes quiet and holds no timer.

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

interface Window {
  timer: Timer;
  /** Events counted since the last line for this key. */
  count: number;
  byKind: Map<string, number>;
  /** Fields of the latest event (queue name, DLX, ...), repeated on the summary. */
  fields: object;
}

export class LogSummary {
  private readonly windows = new Map<string, Window>();
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
    const w = this.windows.get(key);
    if (w !== undefined) {
      w.count++;
      w.byKind.set(kind, (w.byKind.get(kind) ?? 0) + 1);
      w.fields = fields;
      return;
    }
    this.emit(fields, 1, new Map([[kind, 1]]), false);
    this.windows.set(key, {
      timer: this.clock.after(this.intervalMs, () => this.tick(key)),
      count: 0,
      byKind: new Map(),
      fields,
    });
  }

  /** Keys with an open window (tests and metrics). */
  get activeKeys(): number {
    return this.windows.size;
  }

  /** The key is gone (a deleted queue): log what it still had counted, and drop its timer. */
  forget(key: string): void {
    const w = this.windows.get(key);
    if (w === undefined) return;
    w.timer.cancel();
    this.windows.delete(key);
    if (w.count > 0) this.emit(w.fields, w.count, w.byKind, true);
  }

  /** Flush every pending summary and cancel all timers; later events are ignored. */
  close(): void {
    for (const key of [...this.windows.keys()]) this.forget(key);
    this.closed = true;
  }

  private tick(key: string): void {
    const w = this.windows.get(key);
    if (w === undefined) return;
    if (w.count === 0) {
      // Quiet for a whole interval: the next event is news again and is logged at once.
      this.windows.delete(key);
      return;
    }
    this.emit(w.fields, w.count, w.byKind, true);
    w.count = 0;
    w.byKind = new Map();
    w.timer = this.clock.after(this.intervalMs, () => this.tick(key));
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
