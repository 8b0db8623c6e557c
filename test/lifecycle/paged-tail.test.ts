// The paged tail's chunked, narrowing columns against a plain array model.

import { describe, expect, it } from 'vitest';
import { PAGED_REDELIVERED, PAGED_SPILL, PagedTail } from '../../src/broker/queue/paged-tail.js';

interface Entry {
  seq: number;
  exp: number;
  size: number;
  flags: number;
}

function drainAll(t: PagedTail): Entry[] {
  const out: Entry[] = [];
  while (t.length > 0) {
    out.push({ seq: t.headSeq, exp: t.headExpiresAt, size: -1, flags: t.headFlags });
    t.shift();
  }
  return out;
}

describe('PagedTail', () => {
  it('keeps every field exact across chunks, widening columns only where needed', () => {
    const t = new PagedTail();
    const model: Entry[] = [];
    let rnd = 3;
    const next = (): number => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff);
    let storeSeq = 2 ** 32 - 100;
    let bytes = 0;
    for (let i = 0; i < 50_000; i++) {
      const spill = next() % 3 !== 0;
      // A spilled entry has no position (the spill store returns them in order): it reads back -1.
      const seq = spill ? -1 : (storeSeq += next() % 1000 === 0 ? 2 ** 33 : 1);
      const r = next() % 100;
      // Mostly no TTL; some integer deadlines, a few fractional or far ones.
      const exp = i < 20_000 ? Infinity : r < 50 ? Infinity : r < 95 ? 1_700_000_000_000 + i : r < 98 ? 1_700_000_000_000.5 + i : 1e15 + i;
      const size = next() % 500 === 0 ? 100_000 + i : next() % 64;
      const flags = (spill ? PAGED_SPILL : 0) | (next() % 10 === 0 ? PAGED_REDELIVERED : 0);
      t.push(seq, exp, size, flags);
      model.push({ seq, exp, size, flags });
      bytes += size;
    }
    expect(t.length).toBe(model.length);
    expect(t.bytes).toBe(bytes);
    const seen: [number, number][] = [];
    t.forEach((seq, flags) => seen.push([seq, flags]));
    expect(seen).toEqual(model.map((e) => [e.seq, e.flags]));
    // Shift half, checking bytes as it goes.
    for (let i = 0; i < 25_000; i++) {
      const e = model[i] as Entry;
      expect([t.headSeq, t.headExpiresAt, t.headFlags]).toEqual([e.seq, e.exp, e.flags]);
      t.shift();
      bytes -= e.size;
    }
    expect(t.bytes).toBe(bytes);
    expect(drainAll(t).map((e) => [e.seq, e.exp, e.flags])).toEqual(model.slice(25_000).map((e) => [e.seq, e.exp, e.flags]));
    expect(t.bytes).toBe(0);
    expect(t.capacityBytes).toBe(0);
  });

  it('costs 1 byte per small spilled message without TTLs and frees chunks as they drain', () => {
    const t = new PagedTail();
    const n = 1_000_000;
    for (let i = 0; i < n; i++) t.push(-1, Infinity, 16, PAGED_SPILL);
    expect(t.capacityBytes).toBeLessThanOrEqual(n + 8192);
    for (let i = 0; i < n / 2; i++) t.shift();
    expect(t.capacityBytes).toBeLessThanOrEqual(n / 2 + 8192);
    t.clear();
    expect(t.capacityBytes).toBe(0);
    expect(t.length).toBe(0);
  });
});
