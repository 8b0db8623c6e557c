// Rates for `*_details.rate`: every 5 s (RabbitMQ's collect_statistics_interval) the sampler reads
// each counter set once and stores per-second rates over the interval. The cost is per sample and
// per object, never per message: a counter set that never counted anything is skipped (its rates
// are 0 without a sample), and with many objects a sample runs a slice per event-loop turn.

import type { Clock, Timer } from '../../util/clock.js';
import { COUNTER_FIELDS, type MessageCounters, type RateSample } from './message-counters.js';

/** RabbitMQ's default statistics interval. */
export const SAMPLE_INTERVAL_MS = 5000;

/** Counter sets sampled per event-loop turn (a few milliseconds). */
export const SAMPLE_SLICE = 5000;

const N = COUNTER_FIELDS.length;

/** Every counter set to sample (broker, vhosts, exchanges, queues, channels). */
export type CounterSource = () => Iterator<MessageCounters>;

export class RateSampler {
  private timer: Timer | null = null;
  private readonly clock: Clock;
  private readonly source: CounterSource;
  readonly intervalMs: number;
  /** Called with the sample time after the counter sets (churn rates and the like). */
  private readonly onSample: ((now: number) => void) | null;
  /** A sample still running over several turns; the next tick waits for it. */
  private running = false;
  private stopped = false;
  /** When the previous sample started (null before the first): a set skipped then was all zeros. */
  private lastAt: number | null = null;

  constructor(clock: Clock, source: CounterSource, intervalMs = SAMPLE_INTERVAL_MS, onSample: ((now: number) => void) | null = null) {
    this.clock = clock;
    this.source = source;
    this.intervalMs = intervalMs;
    this.onSample = onSample;
  }

  start(): void {
    if (this.timer !== null) return;
    this.stopped = false;
    this.sample();
    this.timer = this.clock.every(this.intervalMs, () => this.sample());
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  /** Take a sample of every counter set now: at once if there are few, else a slice per turn. */
  sample(): void {
    if (this.running) return;
    const now = this.clock.now();
    const prevAt = this.lastAt;
    this.lastAt = now;
    const it = this.source();
    const step = (): void => {
      for (let n = 0; n < SAMPLE_SLICE; n++) {
        const r = it.next();
        if (r.done === true) {
          this.running = false;
          this.onSample?.(now);
          return;
        }
        sampleCounters(r.value, now, prevAt);
      }
      if (this.stopped) {
        this.running = false;
        return;
      }
      setImmediate(step);
    };
    this.running = true;
    step();
  }
}

/**
 * Record `c`'s counters at `now` and the rates since its previous sample. `prevAt`: when the
 * sampler last ran; a set without a sample was all zeros then (it was skipped).
 */
export function sampleCounters(c: MessageCounters, now: number, prevAt: number | null = null): void {
  let s = c.sample;
  if (s === null) {
    // Nothing counted yet: rates are 0 and no memory is spent (most of 100k idle queues).
    if (total(c) === 0) return;
    s = c.sample = { at: prevAt ?? now, data: new Float64Array(2 * N) } satisfies RateSample;
    if (prevAt === null) {
      read(c, s.data);
      return;
    }
  }
  const dt = (now - s.at) / 1000;
  if (dt <= 0) return;
  const v = s.data;
  // Field by field (not through COUNTER_FIELDS): a keyed read per field was slow over 100k queues.
  v[N + 0] = (c.publish - (v[0] as number)) / dt;
  v[N + 1] = (c.publishIn - (v[1] as number)) / dt;
  v[N + 2] = (c.publishOut - (v[2] as number)) / dt;
  v[N + 3] = (c.deliver - (v[3] as number)) / dt;
  v[N + 4] = (c.deliverNoAck - (v[4] as number)) / dt;
  v[N + 5] = (c.get - (v[5] as number)) / dt;
  v[N + 6] = (c.getNoAck - (v[6] as number)) / dt;
  v[N + 7] = (c.getEmpty - (v[7] as number)) / dt;
  v[N + 8] = (c.ack - (v[8] as number)) / dt;
  v[N + 9] = (c.redeliver - (v[9] as number)) / dt;
  v[N + 10] = (c.confirm - (v[10] as number)) / dt;
  v[N + 11] = (c.returnUnroutable - (v[11] as number)) / dt;
  v[N + 12] = (c.dropUnroutable - (v[12] as number)) / dt;
  v[N + 13] = (c.routed - (v[13] as number)) / dt;
  v[N + 14] = (c.publishConfirm - (v[14] as number)) / dt;
  read(c, v);
  s.at = now;
}

function total(c: MessageCounters): number {
  return c.publish + c.publishIn + c.publishOut + c.deliver + c.deliverNoAck + c.get + c.getNoAck + c.getEmpty + c.ack + c.redeliver + c.confirm + c.returnUnroutable + c.dropUnroutable + c.routed + c.publishConfirm;
}

function read(c: MessageCounters, v: Float64Array): void {
  v[0] = c.publish;
  v[1] = c.publishIn;
  v[2] = c.publishOut;
  v[3] = c.deliver;
  v[4] = c.deliverNoAck;
  v[5] = c.get;
  v[6] = c.getNoAck;
  v[7] = c.getEmpty;
  v[8] = c.ack;
  v[9] = c.redeliver;
  v[10] = c.confirm;
  v[11] = c.returnUnroutable;
  v[12] = c.dropUnroutable;
  v[13] = c.routed;
  v[14] = c.publishConfirm;
}
