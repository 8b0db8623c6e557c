// The clock's timers: the manual clock fires due timers in order when advanced; the system
// clock never hands Node a delay it would clamp (anything above 2^31-1 ms becomes 1 ms).

import { describe, expect, it } from 'vitest';
import { MAX_TIMER_DELAY_MS, ManualClock, SystemClock, type TimerHost } from '../../src/util/clock.js';

/** A Node timer host whose time moves by hand; records every delay it is asked for. */
class FakeHost implements TimerHost {
  t = 0;
  readonly asked: number[] = [];
  private pending: { at: number; fn: () => void; h: { unref(): unknown } }[] = [];
  setTimeout(fn: () => void, ms: number): { unref(): unknown } {
    this.asked.push(ms);
    // Node's rule for over-long delays, so a helper that forgot to chunk would misbehave here too.
    const d = ms > MAX_TIMER_DELAY_MS ? 1 : ms;
    const h = { unref: () => h };
    this.pending.push({ at: this.t + d, fn, h });
    return h;
  }
  clearTimeout(h: { unref(): unknown }): void {
    this.pending = this.pending.filter((p) => p.h !== h);
  }
  now(): number {
    return this.t;
  }
  /** Move to `to`, running timers as they fall due. */
  run(to: number): void {
    for (;;) {
      const next = this.pending.filter((p) => p.at <= to).sort((a, b) => a.at - b.at)[0];
      if (next === undefined) break;
      this.pending = this.pending.filter((p) => p !== next);
      this.t = next.at;
      next.fn();
    }
    this.t = to;
  }
}

describe('SystemClock timers', () => {
  it('a delay beyond 2^31-1 ms is waited out in chunks and fires once, on time', () => {
    const host = new FakeHost();
    const clock = new SystemClock(host);
    let fired = 0;
    const thirtyDays = 30 * 86_400_000;
    clock.after(thirtyDays, () => fired++);
    host.run(thirtyDays - 1);
    expect(fired).toBe(0);
    host.run(thirtyDays);
    expect(fired).toBe(1);
    expect(Math.max(...host.asked)).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
    expect(host.asked.length).toBeLessThanOrEqual(3);
  });

  it('a long timer cancelled between chunks never fires', () => {
    const host = new FakeHost();
    const clock = new SystemClock(host);
    let fired = 0;
    const t = clock.after(2 ** 32 - 1, () => fired++);
    host.run(MAX_TIMER_DELAY_MS + 10);
    t.cancel();
    host.run(2 ** 33);
    expect(fired).toBe(0);
  });
});

describe('ManualClock timers', () => {
  it('fires due timers in due order (ties in the order set), each seeing its own time', () => {
    const clock = new ManualClock(0);
    const seen: string[] = [];
    clock.after(30, () => seen.push(`c@${clock.now()}`));
    clock.after(10, () => seen.push(`a@${clock.now()}`));
    clock.after(10, () => seen.push(`b@${clock.now()}`));
    const never = clock.after(20, () => seen.push('cancelled'));
    never.cancel();
    clock.advance(9);
    expect(seen).toEqual([]);
    clock.advance(100);
    expect(seen).toEqual(['a@10', 'b@10', 'c@30']);
    expect(clock.now()).toBe(109);
    expect(clock.pending).toBe(0);
  });

  it('a timer set by a firing timer fires in the same advance if due', () => {
    const clock = new ManualClock(0);
    const seen: number[] = [];
    clock.after(10, () => clock.after(5, () => seen.push(clock.now())));
    clock.advance(20);
    expect(seen).toEqual([15]);
  });

  it('a repeating timer runs once per advance that crosses it, at its last due time, until cancelled', () => {
    const clock = new ManualClock(0);
    const seen: number[] = [];
    const t = clock.every(10, () => seen.push(clock.now()));
    clock.advance(10);
    clock.advance(35);
    expect(seen).toEqual([10, 40]);
    t.cancel();
    clock.advance(100);
    expect(seen).toEqual([10, 40]);
  });

  it('sleep resolves when the clock passes it', async () => {
    const clock = new ManualClock(0);
    let done = false;
    const p = clock.sleep(50).then(() => (done = true));
    clock.advance(49);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    await p;
    expect(done).toBe(true);
  });
});
