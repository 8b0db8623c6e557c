// The log summariser on the manual clock: a flood is one line at once plus one per interval.

import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';
import { LogSummary, type SummaryLogger } from '../../src/util/log-summary.js';

interface Line {
  level: string;
  msg: string;
  obj: Record<string, unknown>;
}

function recorder(): { log: SummaryLogger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (obj: object, msg: string): void => {
    lines.push({ level, msg, obj: { ...(obj as Record<string, unknown>) } });
  };
  return { log: { info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

const INTERVAL = 10_000;

describe('LogSummary', () => {
  it('a flood of 10,000 events: one line at once, then one summary per interval with the right counts', () => {
    const clock = new ManualClock();
    const { log, lines } = recorder();
    const s = new LogSummary(clock, log, { level: 'warn', msg: 'message dead-lettered', intervalMs: INTERVAL, countsField: 'reasons' });
    // 10,000 events spread evenly over 40 s (one every 4 ms), alternating reasons 3:1.
    for (let i = 0; i < 10_000; i++) {
      s.note('q1', i % 4 === 3 ? 'maxlen' : 'expired', { queue: 'q1', dlx: 'dlx' });
      clock.advance(4);
    }
    expect(lines[0]).toEqual({ level: 'warn', msg: 'message dead-lettered', obj: { queue: 'q1', dlx: 'dlx', count: 1, reasons: { expired: 1 } } });
    // Up to t = 40 s, summaries fell due at 10, 20, 30 and 40 s.
    expect(lines).toHaveLength(5);
    const summaries = lines.slice(1);
    for (const l of summaries) {
      expect(l.level).toBe('warn');
      expect(l.msg).toBe('message dead-lettered');
      expect(l.obj).toMatchObject({ queue: 'q1', dlx: 'dlx', summary: true, intervalMs: INTERVAL });
    }
    const counted = summaries.reduce((n, l) => n + (l.obj['count'] as number), 0);
    // The last events of the run are still pending until the next interval ends.
    clock.advance(INTERVAL);
    const all = lines.slice(1).reduce((n, l) => n + (l.obj['count'] as number), 0);
    expect(all + 1).toBe(10_000);
    expect(counted).toBeLessThanOrEqual(all);
    const reasons = { expired: 0, maxlen: 0 };
    for (const l of lines) {
      const r = l.obj['reasons'] as Record<string, number>;
      reasons.expired += r['expired'] ?? 0;
      reasons.maxlen += r['maxlen'] ?? 0;
    }
    expect(reasons).toEqual({ expired: 7500, maxlen: 2500 });
    // Each summary covers one interval: 2,500 events at one per 4 ms.
    expect(summaries[1]?.obj['count']).toBe(2500);
    // Quiet for a whole interval: the window closes and no timer is left.
    clock.advance(INTERVAL);
    expect(s.activeKeys).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('a key that goes quiet logs the next event at once again', () => {
    const clock = new ManualClock();
    const { log, lines } = recorder();
    const s = new LogSummary(clock, log, { level: 'info', msg: 'm', intervalMs: INTERVAL });
    s.note('q', 'expired', { queue: 'q' });
    clock.advance(INTERVAL * 3);
    expect(lines).toHaveLength(1);
    s.note('q', 'expired', { queue: 'q' });
    expect(lines).toHaveLength(2);
    expect(lines[1]?.obj).toEqual({ queue: 'q', count: 1, counts: { expired: 1 } });
  });

  it('quiet keys produce nothing and hold no timers', () => {
    const clock = new ManualClock();
    const { log, lines } = recorder();
    const s = new LogSummary(clock, log, { level: 'info', msg: 'm', intervalMs: INTERVAL });
    s.note('once', 'expired', { queue: 'once' });
    // A single event is logged at once and arms nothing.
    expect(clock.pending).toBe(0);
    for (let i = 0; i < 1000; i++) s.note('busy', 'expired', { queue: 'busy' });
    expect(s.activeKeys).toBe(1);
    const fired = clock.fired;
    clock.advance(INTERVAL * 5);
    // Only the busy queue wrote a summary, and only one timer fired: every fire writes a line.
    expect(lines.map((l) => l.obj['queue'])).toEqual(['once', 'busy', 'busy']);
    expect(clock.fired - fired).toBe(1);
    expect(s.activeKeys).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('each key is summarised on its own', () => {
    const clock = new ManualClock();
    const { log, lines } = recorder();
    const s = new LogSummary(clock, log, { level: 'info', msg: 'm', intervalMs: INTERVAL });
    for (let i = 0; i < 10; i++) s.note('a', 'expired', { queue: 'a' });
    for (let i = 0; i < 20; i++) s.note('b', 'maxlen', { queue: 'b' });
    clock.advance(INTERVAL);
    expect(lines.map((l) => [l.obj['queue'], l.obj['count']])).toEqual([['a', 1], ['b', 1], ['a', 9], ['b', 19]]);
  });

  it('a forgotten key (deleted queue) flushes its pending counts once and cancels its timer', () => {
    const clock = new ManualClock();
    const { log, lines } = recorder();
    const s = new LogSummary(clock, log, { level: 'warn', msg: 'm', intervalMs: INTERVAL });
    for (let i = 0; i < 50; i++) s.note('gone', 'expired', { queue: 'gone' });
    expect(clock.pending).toBe(1);
    s.forget('gone');
    expect(lines).toHaveLength(2);
    expect(lines[1]?.obj).toMatchObject({ queue: 'gone', count: 49, counts: { expired: 49 }, summary: true });
    expect(clock.pending).toBe(0);
    clock.advance(INTERVAL * 2);
    expect(lines).toHaveLength(2);
    // Forgetting a key with nothing pending logs nothing.
    s.note('gone', 'expired', { queue: 'gone' });
    s.forget('gone');
    s.forget('never-seen');
    expect(lines).toHaveLength(3);
  });

  it('close() flushes pending summaries, cancels every timer, and ignores later events', () => {
    const clock = new ManualClock();
    const { log, lines } = recorder();
    const s = new LogSummary(clock, log, { level: 'error', msg: 'm', intervalMs: INTERVAL });
    for (let i = 0; i < 5; i++) s.note('a', 'x', { queue: 'a' });
    s.note('b', 'x', { queue: 'b' });
    s.note('b', 'x', { queue: 'b' });
    expect(clock.pending).toBe(2);
    s.close();
    expect(clock.pending).toBe(0);
    expect(lines.map((l) => [l.obj['queue'], l.obj['count']])).toEqual([['a', 1], ['b', 1], ['a', 4], ['b', 1]]);
    s.note('a', 'x', { queue: 'a' });
    clock.advance(INTERVAL * 2);
    expect(lines).toHaveLength(4);
    expect(clock.pending).toBe(0);
  });

  it('an event just after a summary is counted, not logged at once, and summarised one interval after that summary', () => {
    const clock = new ManualClock();
    const { log, lines } = recorder();
    const s = new LogSummary(clock, log, { level: 'info', msg: 'm', intervalMs: INTERVAL });
    s.note('q', 'a', { queue: 'q' });
    s.note('q', 'a', { queue: 'q' });
    clock.advance(INTERVAL); // summary of 1
    expect(lines).toHaveLength(2);
    clock.advance(1000);
    s.note('q', 'b', { queue: 'q' });
    expect(lines).toHaveLength(2);
    clock.advance(INTERVAL - 1000 - 1);
    expect(lines).toHaveLength(2);
    clock.advance(1);
    expect(lines[2]?.obj).toMatchObject({ count: 1, counts: { b: 1 }, summary: true });
  });

  it('keeps no state for many keys that went quiet', () => {
    const clock = new ManualClock();
    const { log } = recorder();
    const s = new LogSummary(clock, log, { level: 'info', msg: 'm', intervalMs: INTERVAL });
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 200; i++) s.note(`peer-${round}-${i}`, 'x', {});
      clock.advance(INTERVAL);
    }
    // 2,000 keys seen; at most the pruning threshold plus one round are remembered.
    expect(s.trackedKeys).toBeLessThanOrEqual(256 + 200);
  });
});
