// A reader hands over entries past a gap only where the stream purged them.

import { describe, expect, it } from 'vitest';
import { handOverUpTo } from '../../src/ha/gap-check.js';

describe('handOverUpTo', () => {
  it('hands over consecutive entries without asking the stream', async () => {
    const asked: number[] = [];
    expect(await handOverUpTo(5, [5, 6, 7], async (s) => (asked.push(s), true))).toBe(3);
    expect(asked).toEqual([]);
  });

  it('goes past gaps the stream purged, asking once per gap for its first sequence', async () => {
    const asked: number[] = [];
    expect(await handOverUpTo(1, [1, 4, 5, 9], async (s) => (asked.push(s), false))).toBe(4);
    expect(asked).toEqual([2, 6]);
  });

  it('stops at a gap the stream still holds (a consumer on a replica catching up), including a first entry past fromSeq', async () => {
    const held = new Set([6]);
    expect(await handOverUpTo(1, [1, 4, 5, 9], async (s) => held.has(s))).toBe(3);
    expect(await handOverUpTo(1, [5, 6], async () => true)).toBe(0);
  });

  it('stops at a gap when the stream does not answer', async () => {
    expect(
      await handOverUpTo(1, [1, 3], async () => {
        throw new Error('no stream leader');
      }),
    ).toBe(1);
  });
});
