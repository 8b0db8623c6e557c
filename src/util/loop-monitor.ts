// Event-loop lag: how late the loop ran timers lately (the warren_event_loop_lag_seconds gauge),
// and a warning, with what was running, whenever one synchronous stretch held the loop > 100 ms.
//
// Detection is monitorEventLoopDelay (a libuv timer inside Node: no JS work per tick). Known long
// operations (recovery, purges, deletes of big queues, requeues on disconnect) run inside track()
// or during(), so a stall can be named; a stall outside them is reported as unlabelled.

import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import type { Clock, Timer } from './clock.js';

/** A synchronous stretch longer than this is logged. */
export const LONG_TASK_MS = 100;
/** Sampling resolution of the delay histogram; it is also its floor, subtracted from readings. */
const RESOLUTION_MS = 10;

export interface LoopLog {
  warn(fields: object, msg: string): void;
}

/** Runs labelled work; the broker passes one down so layers below can name their long sections. */
export interface TaskTracker {
  /** Run `fn` as the task `label`; `fields` (e.g. the queue) go into the log line if it runs long. */
  track<T>(label: string, fn: () => T, fields?: object): T;
}

export const UNTRACKED: TaskTracker = { track: (_label, fn) => fn() };

export class LoopMonitor implements TaskTracker {
  private readonly histogram: IntervalHistogram;
  private readonly clock: Clock;
  private readonly log: LoopLog;
  private timer: Timer | null = null;
  /** Largest lag of the last completed window, in seconds. */
  private lastWindowLag = 0;
  /** Labels of asynchronous sections under way (recovery), innermost last. */
  private readonly active: string[] = [];
  /** Long labelled sections logged since the last window (so the window does not log them again). */
  private longSinceSample: string[] = [];

  constructor(clock: Clock, log: LoopLog) {
    this.clock = clock;
    this.log = log;
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  }

  /** Start sampling; each window's worst lag becomes the gauge, and a stall is logged. */
  start(windowMs: number): void {
    this.histogram.enable();
    this.timer = this.clock.every(windowMs, () => this.sample());
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    this.histogram.disable();
  }

  /** The worst event-loop lag lately (this window so far or the last one), in seconds. */
  get lagSeconds(): number {
    return Math.max(this.lastWindowLag, this.currentLagMs() / 1000);
  }

  /** Run a synchronous section; log it if it held the loop too long. */
  track<T>(label: string, fn: () => T, fields?: object): T {
    const start = performance.now();
    try {
      return fn();
    } finally {
      const ms = performance.now() - start;
      if (ms > LONG_TASK_MS) {
        this.longSinceSample.push(label);
        this.log.warn({ ...fields, task: label, ms: Math.round(ms) }, 'long synchronous task blocked the event loop');
      }
    }
  }

  /** Name an asynchronous section (e.g. recovery) so stalls inside it are attributed to it. */
  async during<T>(label: string, fn: () => Promise<T>): Promise<T> {
    this.active.push(label);
    try {
      return await fn();
    } finally {
      // Close the window while the label still applies, so a stall inside the section is named by it.
      this.sample();
      const i = this.active.lastIndexOf(label);
      if (i >= 0) this.active.splice(i, 1);
    }
  }

  /** Close a window: record its worst lag and report a stall no labelled section accounted for. */
  sample(): void {
    const lagMs = this.currentLagMs();
    this.lastWindowLag = lagMs / 1000;
    if (lagMs > LONG_TASK_MS && this.longSinceSample.length === 0) {
      const during = this.active.length > 0 ? this.active.join(' > ') : 'unlabelled';
      this.log.warn({ lagMs: Math.round(lagMs), during }, 'event loop blocked');
    }
    this.longSinceSample = [];
    this.histogram.reset();
  }

  private currentLagMs(): number {
    const max = this.histogram.max;
    // An empty histogram reports 0 (or a huge min/max sentinel on some versions): treat both as no lag.
    if (!Number.isFinite(max) || max <= 0 || max > 1e15) return 0;
    return Math.max(0, max / 1e6 - RESOLUTION_MS);
  }
}
