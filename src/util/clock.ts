// Injectable time source and timers: everything in src/ reads "now" and schedules timers only
// through a Clock, so tests can cross TTL, expiry, heartbeat and timeout deadlines by moving a
// ManualClock instead of sleeping. This is the one module allowed to touch Node's timers.
//
// setImmediate stays where it is used elsewhere: it defers work to the next event-loop turn (a
// scheduling primitive, like a microtask), not a wait for time to pass.

/** A scheduled timer; cancel() is idempotent and safe after it fired. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Call `fn` once, `ms` from now. Any delay up to years is honoured: Node clamps a timer above
   * 2^31-1 ms to 1 ms, so long delays are waited out in chunks. Timers never keep the process alive.
   */
  after(ms: number, fn: () => void, options?: TimerOptions): Timer;
  /** Call `fn` every `ms` until cancelled. */
  every(ms: number, fn: () => void): Timer;
  /** Resolves `ms` from now. */
  sleep(ms: number): Promise<void>;
}

export interface TimerOptions {
  /** Keep the process alive while the timer is pending (default: no, timers are unref'd). */
  keepAlive?: boolean;
}

/** The longest delay Node's setTimeout honours; anything above is clamped to 1 ms. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** The Node timer functions the system clock drives (injectable so tests can see the delays it asks for). */
export interface TimerHost {
  setTimeout(fn: () => void, ms: number): { unref(): unknown };
  clearTimeout(handle: { unref(): unknown }): void;
  now(): number;
}

const nodeTimers: TimerHost = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
};

/** Clamp a requested delay to what a timer can express: finite, non-negative. */
function delayOf(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

/**
 * The wall clock, read at most once per event-loop turn: every publish and delivery asks for the
 * time, and Date.now() per message showed up in profiles. A turn is short, so this stays within a
 * millisecond or so of the real time.
 */
export class SystemClock implements Clock {
  private t = 0;
  private valid = false;
  private readonly host: TimerHost;
  private readonly invalidate = (): void => {
    this.valid = false;
  };

  constructor(host: TimerHost = nodeTimers) {
    this.host = host;
  }

  now(): number {
    if (!this.valid) {
      this.t = this.host.now();
      this.valid = true;
      setImmediate(this.invalidate);
    }
    return this.t;
  }

  after(ms: number, fn: () => void, options?: TimerOptions): Timer {
    const host = this.host;
    const keepAlive = options?.keepAlive === true;
    const due = host.now() + delayOf(ms);
    let handle: { unref(): unknown } | null = null;
    let cancelled = false;
    // Wait in chunks no longer than Node honours, re-reading the real time at each step.
    const step = (): void => {
      handle = null;
      if (cancelled) return;
      const left = due - host.now();
      if (left <= 0) {
        cancelled = true;
        fn();
        return;
      }
      handle = host.setTimeout(step, Math.min(left, MAX_TIMER_DELAY_MS));
      if (!keepAlive) handle.unref();
    };
    handle = host.setTimeout(step, Math.min(delayOf(ms), MAX_TIMER_DELAY_MS));
    if (!keepAlive) handle.unref();
    return {
      cancel: () => {
        cancelled = true;
        if (handle !== null) host.clearTimeout(handle);
        handle = null;
      },
    };
  }

  every(ms: number, fn: () => void): Timer {
    const period = Math.min(Math.max(1, delayOf(ms)), MAX_TIMER_DELAY_MS);
    const h = setInterval(fn, period);
    h.unref();
    return { cancel: () => clearInterval(h) };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.min(delayOf(ms), MAX_TIMER_DELAY_MS)));
  }
}

export const systemClock: Clock = new SystemClock();

interface ManualTimer {
  due: number;
  seq: number;
  /** 0 for a one-shot timer. */
  period: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock tests move by hand. Timers fire only inside advance(), synchronously, in due order
 * (ties in the order they were set), each seeing now() equal to its own due time. A repeating
 * timer that falls due several times within one advance() runs once, at the last of those times,
 * as a Node interval does after the event loop was blocked: so a test can jump days ahead
 * without running a heartbeat or sweep millions of times.
 */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: ManualTimer[] = [];
  /** How many timer callbacks have run (a runaway re-arming loop shows up here). */
  fired = 0;

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void, _options?: TimerOptions): Timer {
    return this.add(delayOf(ms), 0, fn);
  }

  every(ms: number, fn: () => void): Timer {
    return this.add(Math.max(1, delayOf(ms)), Math.max(1, delayOf(ms)), fn);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** Timers set and not yet fired or cancelled. */
  get pending(): number {
    return this.timers.filter((x) => !x.cancelled).length;
  }

  /** Move time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.t + delayOf(ms);
    for (;;) {
      const next = this.nextDue(target);
      if (next === undefined) break;
      const due = dueBy(next, target);
      this.t = Math.max(this.t, due);
      if (next.period > 0) {
        next.due = due + next.period;
        next.seq = this.seq++;
      } else {
        next.cancelled = true;
        this.timers = this.timers.filter((x) => x !== next);
      }
      this.fired++;
      next.fn();
    }
    this.t = target;
  }

  private add(delay: number, period: number, fn: () => void): Timer {
    const timer: ManualTimer = { due: this.t + delay, seq: this.seq++, period, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        if (timer.cancelled) return;
        timer.cancelled = true;
        this.timers = this.timers.filter((x) => x !== timer);
      },
    };
  }

  private nextDue(limit: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    let bestDue = Infinity;
    for (const x of this.timers) {
      if (x.cancelled || x.due > limit) continue;
      const due = dueBy(x, limit);
      if (best === undefined || due < bestDue || (due === bestDue && x.seq < best.seq)) {
        best = x;
        bestDue = due;
      }
    }
    return best;
  }
}

/** When `x` fires in an advance up to `limit`: its due time, or for a repeating timer the last one not after `limit`. */
function dueBy(x: ManualTimer, limit: number): number {
  return x.period > 0 ? x.due + Math.floor((limit - x.due) / x.period) * x.period : x.due;
}
