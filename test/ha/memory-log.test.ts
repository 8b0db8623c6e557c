import { describe, expect, it } from 'vitest';
import { MemoryLog } from '../../src/ha/memory-log.js';
import { AppendTimeoutError, WrongLastSequenceError } from '../../src/ha/replicated-log.js';
import { ManualClock } from '../../src/util/clock.js';

const b = (s: string): Buffer => Buffer.from(s);

describe('MemoryLog', () => {
  it('checks the expected last sequence and dedups by msg id first, as JetStream does', async () => {
    const log = new MemoryLog(new ManualClock());
    const h = log.handle();
    expect(await h.append('s', b('a'), { expectedLastSeq: 0, msgId: '1-1' })).toBe(1);
    expect(await h.append('s', b('a'), { expectedLastSeq: 0, msgId: '1-1' })).toBe(1);
    await expect(h.append('s', b('x'), { expectedLastSeq: 0, msgId: '2-1' })).rejects.toBeInstanceOf(WrongLastSequenceError);
    log.appendForeign('s', b('rival'));
    await expect(h.append('s', b('b'), { expectedLastSeq: 1, msgId: '1-2' })).rejects.toBeInstanceOf(WrongLastSequenceError);
    expect(log.attempts.map((a) => a.outcome)).toEqual(['ok', 'duplicate', 'wrong-last-seq', 'wrong-last-seq']);
  });

  it('injects failures and timeouts, applied or not', async () => {
    const log = new MemoryLog(new ManualClock());
    const h = log.handle();
    log.inject({ kind: 'fail' }, { kind: 'timeout-lost' }, { kind: 'timeout-applied' });
    await expect(h.append('s', b('a'), { expectedLastSeq: 0, msgId: '1-1' })).rejects.toThrow(/injected append failure/);
    await expect(h.append('s', b('a'), { expectedLastSeq: 0, msgId: '1-1' })).rejects.toBeInstanceOf(AppendTimeoutError);
    expect(log.lastSeq).toBe(0);
    await expect(h.append('s', b('a'), { expectedLastSeq: 0, msgId: '1-1' })).rejects.toBeInstanceOf(AppendTimeoutError);
    expect(log.lastSeq).toBe(1);
    // The retry after a timeout that was applied is deduplicated.
    expect(await h.append('s', b('a'), { expectedLastSeq: 0, msgId: '1-1' })).toBe(1);
    expect(log.lastSeq).toBe(1);
  });

  it('delays appends on the clock, wakes waiting readers, skips purged entries', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    const h = log.handle();
    log.appendDelayMs = 50;
    let seq = 0;
    const p = h.append('a', b('1'), { expectedLastSeq: 0, msgId: '1-1' }).then((s) => (seq = s));
    const reading = h.read(1, 10, 1_000);
    await Promise.resolve();
    clock.advance(49);
    await Promise.resolve();
    expect(seq).toBe(0);
    clock.advance(1);
    await p;
    expect(seq).toBe(1);
    expect((await reading).map((e) => e.seq)).toEqual([1]);
    log.appendDelayMs = 0;
    await h.append('b', b('2'), { expectedLastSeq: 1, msgId: '1-2' });
    await h.purgeSubject('a');
    expect((await h.read(1, 10, 0)).map((e) => e.seq)).toEqual([2]);
    expect(await h.lastSequence()).toBe(2);
    const idle = h.read(3, 10, 100);
    clock.advance(100);
    expect(await idle).toEqual([]);
  });

  it('purges a subject keeping its last entries, or only below a sequence (as JetStream\'s keep and seq)', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    const h = log.handle();
    for (let i = 1; i <= 6; i++) log.appendForeign(i % 2 === 0 ? 'x' : 'y', b(`${i}`));
    await h.purgeSubject('x', { upToSeq: 4 });
    expect(log.all().map((e) => e.seq)).toEqual([1, 3, 4, 5, 6]);
    await h.purgeSubject('y', { keep: 1 });
    expect(log.all().map((e) => e.seq)).toEqual([4, 5, 6]);
    await expect(h.purgeSubject('x', { keep: 1, upToSeq: 5 } as unknown as { keep: number })).rejects.toThrow(/together/);
    // A late purge (delayed on the clock) bounded by a sequence spares what came after it.
    log.purgeDelayMs = 100;
    const late = h.purgeSubject('x', { upToSeq: 7 });
    log.appendForeign('x', b('7'));
    clock.advance(100);
    await late;
    expect(log.all().map((e) => e.seq)).toEqual([5, 7]);
  });

  it('has an identity of its own, shared by its handles', async () => {
    const a = new MemoryLog(new ManualClock());
    const other = new MemoryLog(new ManualClock());
    expect(await a.handle().identity()).toBe(await a.handle().identity());
    expect(await a.handle().identity()).not.toBe(await other.handle().identity());
  });
});
