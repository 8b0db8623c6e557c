// The event-loop watchdog: a synchronous section over 100 ms is logged with its label; a stall
// outside any labelled section is logged by the window sample, attributed to the async section
// under way (e.g. recovery) or as unlabelled.

import { afterEach, describe, expect, it } from 'vitest';
import { LoopMonitor } from '../../src/util/loop-monitor.js';
import { ManualClock } from '../../src/util/clock.js';

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // a synchronous stretch
  }
}

/** Give the delay monitor's (late) timer a chance to run and record the stall. */
const yieldLoop = (): Promise<void> => new Promise((r) => setTimeout(r, 30));

class Captured {
  readonly lines: { fields: Record<string, unknown>; msg: string }[] = [];
  warn(fields: object, msg: string): void {
    this.lines.push({ fields: fields as Record<string, unknown>, msg });
  }
}

const monitors: LoopMonitor[] = [];
afterEach(() => {
  for (const m of monitors.splice(0)) m.stop();
});

function monitor(): { m: LoopMonitor; log: Captured; clock: ManualClock } {
  const log = new Captured();
  const clock = new ManualClock();
  const m = new LoopMonitor(clock, log);
  m.start(1000);
  monitors.push(m);
  return { m, log, clock };
}

describe('LoopMonitor', () => {
  it('logs a tracked synchronous section over 100 ms with its label and fields, and not a short one', () => {
    const { m, log } = monitor();
    expect(m.track('queue.purge', () => 7, { queue: 'small' })).toBe(7);
    m.track('queue.purge', () => spin(130), { queue: 'big' });
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]?.msg).toBe('long synchronous task blocked the event loop');
    expect(log.lines[0]?.fields).toMatchObject({ task: 'queue.purge', queue: 'big' });
    expect(Number(log.lines[0]?.fields['ms'])).toBeGreaterThanOrEqual(100);
  });

  it('a stall outside tracked sections is logged when the window closes, named by the async section under way', async () => {
    const { m, log, clock } = monitor();
    let release!: () => void;
    const recovery = m.during('recovery', () => new Promise<void>((r) => (release = r)));
    await yieldLoop(); // the delay monitor measures from its first tick
    spin(200);
    await yieldLoop();
    clock.advance(1000); // the window closes on the broker clock
    expect(log.lines.map((l) => [l.msg, l.fields['during']])).toEqual([['event loop blocked', 'recovery']]);
    expect(m.lagSeconds).toBeGreaterThanOrEqual(0.15);
    release();
    await recovery;
    await yieldLoop(); // a window was closed: the monitor measures from its next tick
    spin(150);
    await yieldLoop();
    clock.advance(1000);
    expect(log.lines[1]?.fields['during']).toBe('unlabelled');
  });

  it('a stall inside an async section is named by it when the section ends before the window does', async () => {
    const { m, log } = monitor();
    await m.during('recovery', async () => {
      await yieldLoop();
      spin(150);
      await yieldLoop();
    });
    expect(log.lines.map((l) => [l.msg, l.fields['during']])).toEqual([['event loop blocked', 'recovery']]);
  });

  it('a stall already logged as a tracked task is not logged twice', async () => {
    const { m, log, clock } = monitor();
    await yieldLoop();
    m.track('connection.teardown', () => spin(150));
    await yieldLoop();
    clock.advance(1000);
    expect(log.lines.map((l) => l.msg)).toEqual(['long synchronous task blocked the event loop']);
  });
});
