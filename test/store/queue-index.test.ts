// The compact per-queue index against a Map model: lookups, holes, compaction, growth, shrinking, delivery overflow.

import { describe, expect, it } from 'vitest';
import { QueueIndex } from '../../src/store/queue-index.js';

interface Model {
  seg: number;
  offset: number;
  length: number;
  size: number;
  deliveries: number;
}

function check(q: QueueIndex, model: Map<number, Model>): void {
  expect(q.count).toBe(model.size);
  let bytes = 0;
  for (const m of model.values()) bytes += m.size;
  expect(q.bytes).toBe(bytes);
  const seen: number[] = [];
  for (let slot = q.start; slot < q.end; slot++) if (q.isLive(slot)) seen.push(q.seqAt(slot));
  expect(seen).toEqual([...model.keys()]);
  for (const [seq, m] of model) {
    const slot = q.find(seq);
    expect(slot).toBeGreaterThanOrEqual(0);
    expect([q.segAt(slot), q.offsetAt(slot), q.lengthAt(slot), q.sizeAt(slot), q.deliveriesAt(slot)]).toEqual([
      m.seg,
      m.offset,
      m.length,
      m.size,
      m.deliveries,
    ]);
  }
}

describe('QueueIndex', () => {
  it('matches a Map model under random pushes, removals and deliveries', () => {
    const q = new QueueIndex('q', Buffer.from('q'));
    const model = new Map<number, Model>();
    let rnd = 7;
    const next = (): number => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff);
    let seq = 2 ** 32 - 500; // crosses 2^32: the f64 seq is exact
    for (let round = 0; round < 40; round++) {
      const pushes = next() % 300;
      for (let i = 0; i < pushes; i++) {
        seq += 1 + (next() % 3);
        const m = { seg: 1 + (next() % 1000), offset: next(), length: 1000 + (next() % 5000), size: 0, deliveries: 0 };
        m.size = m.length - (next() % 800);
        q.push(seq, m.seg, m.offset, m.length, m.size);
        model.set(seq, m);
      }
      const keys = [...model.keys()];
      const removals = next() % (keys.length + 1);
      for (let i = 0; i < removals; i++) {
        // Mostly from the head, like a queue, sometimes anywhere.
        const k = next() % 4 === 0 ? (keys[next() % keys.length] as number) : (keys[i] as number);
        const slot = q.find(k);
        if (model.has(k)) {
          q.remove(slot);
          model.delete(k);
        } else {
          expect(slot).toBe(-1);
        }
      }
      for (const [k, m] of model) {
        if (next() % 5 === 0) {
          q.addDelivery(q.find(k));
          m.deliveries++;
        }
      }
      expect(q.find(seq + 1)).toBe(-1);
      expect(q.find(0)).toBe(-1);
      check(q, model);
    }
  });

  it('costs 16 bytes per message at most twice over, and gives memory back when drained', () => {
    const q = new QueueIndex('q', Buffer.from('q'));
    const n = 100_000;
    for (let i = 1; i <= n; i++) q.push(i, 1, i * 100, 100, 80);
    expect(q.capacityBytes).toBeLessThanOrEqual(2 * 16 * n);
    for (let i = 1; i <= n - 10; i++) q.remove(q.find(i));
    expect(q.count).toBe(10);
    expect(q.capacityBytes).toBeLessThan(16 * 1024);
    expect(q.find(n - 5)).toBeGreaterThanOrEqual(0);
    for (let i = n - 9; i <= n; i++) q.remove(q.find(i));
    expect(q.capacityBytes).toBeLessThanOrEqual(16 * 8);
    expect(q.bytes).toBe(0);
  });

  it('squeezes holes instead of growing when a steady queue is full of acked slots', () => {
    const q = new QueueIndex('q', Buffer.from('q'));
    // Out-of-order acks leave holes behind the head; the buffer must stay small.
    let seq = 0;
    for (let round = 0; round < 10_000; round++) {
      q.push(++seq, 1, 0, 10, 5);
      q.push(++seq, 1, 0, 10, 5);
      q.remove(q.find(seq)); // the newer one
      if (q.count > 20) q.remove(q.start);
    }
    expect(q.count).toBeLessThanOrEqual(21);
    expect(q.capacityBytes).toBeLessThanOrEqual(16 * 64);
  });

  it('matches the model across many chunks, seq jumps past 2^32 and segment-id jumps', () => {
    const q = new QueueIndex('q', Buffer.from('q'));
    const model = new Map<number, Model>();
    let rnd = 11;
    const next = (): number => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff);
    let seq = 1;
    let seg = 1;
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < 5000; i++) {
        const r = next() % 10_000;
        seq += r === 0 ? 2 ** 32 + 7 : 1 + (next() % 2);
        seg += r === 1 ? 40_000 : next() % 50 === 0 ? 1 : 0;
        const m = { seg, offset: next(), length: 100 + (next() % 100), size: 0, deliveries: 0 };
        m.size = m.length - 40;
        q.push(seq, m.seg, m.offset, m.length, m.size);
        model.set(seq, m);
      }
      // Drain most from the head and some anywhere; deliver a few.
      const keys = [...model.keys()];
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as number;
        const fromHead = i < keys.length * 0.6;
        if (fromHead || next() % 7 === 0) {
          q.remove(q.find(k));
          model.delete(k);
        } else if (next() % 11 === 0) {
          q.addDelivery(q.find(k));
          (model.get(k) as Model).deliveries++;
        }
      }
      check(q, model);
    }
    expect(q.capacityBytes).toBeLessThan(16 * 4 * model.size + 2 * 16 * 4096);
    for (const k of [...model.keys()]) q.remove(q.find(k));
    expect(q.count).toBe(0);
    expect(q.capacityBytes).toBeLessThanOrEqual(16 * 8);
  });

  it('counts deliveries past 0xffff exactly', () => {
    const q = new QueueIndex('q', Buffer.from('q'));
    q.push(5, 1, 0, 10, 5);
    q.push(6, 1, 0, 10, 5);
    q.setDeliveries(q.find(5), 0xfffe);
    q.addDelivery(q.find(5));
    q.addDelivery(q.find(5));
    expect(q.deliveriesAt(q.find(5))).toBe(0x10000);
    expect(q.deliveriesAt(q.find(6))).toBe(0);
    expect(q.sizeAt(q.find(5))).toBe(5);
    q.setDeliveries(q.find(6), 1_000_000);
    q.remove(q.find(5));
    expect(q.deliveriesAt(q.find(6))).toBe(1_000_000);
  });

  it('rejects entries it cannot represent', () => {
    const q = new QueueIndex('q', Buffer.from('q'));
    expect(() => q.push(1, 0, 0, 10, 5)).toThrow(RangeError);
    expect(() => q.push(1, 1, 0, 10, 11)).toThrow(RangeError);
    expect(() => q.push(1, 1, 0, 70_000, 1)).toThrow(RangeError);
    expect(q.count).toBe(0);
  });
});
