// A reader hands over entries past a gap only where the stream purged every entry in it.

import { describe, expect, it } from 'vitest';
import { handOverUpTo } from '../../src/ha/gap-check.js';
import { versionAtLeast } from '../../src/ha/jetstream-log.js';
import { MemoryLog } from '../../src/ha/memory-log.js';
import { purgeIfSafe } from '../../src/ha/replicated-log.js';
import { ManualClock } from '../../src/util/clock.js';

/** The stream's first held sequence at or after `seq`, for a stream holding `held`. */
const streamHolding = (held: number[], asked: number[] = []) => async (seq: number): Promise<number | null> => {
  asked.push(seq);
  return held.filter((s) => s >= seq).sort((a, b) => a - b)[0] ?? null;
};

describe('handOverUpTo', () => {
  it('hands over consecutive entries without asking the stream', async () => {
    const asked: number[] = [];
    expect(await handOverUpTo(5, [5, 6, 7], streamHolding([5, 6, 7], asked))).toBe(3);
    expect(asked).toEqual([]);
  });

  it('goes past gaps the stream purged whole, asking once per gap', async () => {
    const asked: number[] = [];
    expect(await handOverUpTo(1, [1, 4, 5, 9], streamHolding([1, 4, 5, 9], asked))).toBe(4);
    expect(asked).toEqual([2, 6]);
  });

  it('stops at a gap the stream still holds an entry in, even behind purged ones (a consumer on a replica catching up)', async () => {
    // 1-4 purged, 5 held (a definitions frame), the consumer started at 2705.
    expect(await handOverUpTo(1, [2705, 2706], streamHolding([5, 2705, 2706]))).toBe(0);
    expect(await handOverUpTo(1, [1, 4, 5, 9], streamHolding([1, 4, 5, 7, 9]))).toBe(3);
  });

  it('stops at a gap when the stream does not answer', async () => {
    expect(
      await handOverUpTo(1, [1, 3], async () => {
        throw new Error('no stream leader');
      }),
    ).toBe(1);
  });
});

describe('nats-server versions whose purges are safe', () => {
  it('is 2.9.21 or later (2.9.10 replays a filtered purge as a full one on a restarting node)', () => {
    expect(versionAtLeast('2.9.10', [2, 9, 21])).toBe(false);
    expect(versionAtLeast('2.9.20', [2, 9, 21])).toBe(false);
    expect(versionAtLeast('2.9.21', [2, 9, 21])).toBe(true);
    expect(versionAtLeast('2.10.0', [2, 9, 21])).toBe(true);
    expect(versionAtLeast('2.10.23-beta.1', [2, 9, 21])).toBe(true);
    expect(versionAtLeast('3.0.0', [2, 9, 21])).toBe(true);
    expect(versionAtLeast('garbage', [2, 9, 21])).toBe(false);
  });
});

describe('purgeIfSafe', () => {
  it('purges only when the log does not say purging is unsafe', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    for (const s of ['a', 'a', 'b']) log.appendForeign(s, Buffer.from(s));
    await purgeIfSafe(Object.assign(log.handle(), { purgesSafe: false }), 'a');
    expect(log.all().map((e) => e.subject)).toEqual(['a', 'a', 'b']);
    await purgeIfSafe(log.handle(), 'a');
    expect(log.all().map((e) => e.subject)).toEqual(['b']);
  });
});
