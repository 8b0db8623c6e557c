// ReadyList against a naive model (an array searched on every read): random pushes, takes,
// requeues of random subsets in random order, and merge slices of random size, interleaved.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ReadyList, type RunTuning } from '../../../src/broker/queue/ready-list.js';
import type { QueueEntry } from '../../../src/broker/queue/queue.js';

interface Fake {
  seq: number;
  priority: number;
}

function entry(seq: number, priority: number): QueueEntry {
  // Only what ReadyList reads: seq and the message's priority.
  return { seq, message: { hasPriority: true, properties: { priority } } } as unknown as QueueEntry;
}

/** The model: delivery order is highest (clamped) priority first, then lowest seq. */
class Model {
  ready: Fake[] = [];
  constructor(private readonly maxPriority: number | undefined) {}
  level(f: Fake): number {
    return this.maxPriority === undefined ? 0 : Math.min(f.priority, this.maxPriority);
  }
  ordered(): Fake[] {
    return [...this.ready].sort((a, b) => this.level(b) - this.level(a) || a.seq - b.seq);
  }
  take(): Fake | undefined {
    const first = this.ordered()[0];
    if (first !== undefined) this.ready.splice(this.ready.indexOf(first), 1);
    return first;
  }
}

type Op =
  | { kind: 'push'; priority: number }
  | { kind: 'take' }
  | { kind: 'requeue'; pick: number[]; shuffle: number }
  | { kind: 'requeueOldest' }
  | { kind: 'merge'; budget: number }
  | { kind: 'peek' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('push' as const), priority: fc.integer({ min: 0, max: 12 }) }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constant('take' as const) }), weight: 4 },
  {
    arbitrary: fc.record({
      kind: fc.constant('requeue' as const),
      pick: fc.oneof(fc.array(fc.nat(), { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 120 })),
      shuffle: fc.integer({ min: 0, max: 2 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('requeueOldest' as const) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('merge' as const), budget: fc.integer({ min: 1, max: 4 }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('peek' as const) }), weight: 1 },
);

function run(maxPriority: number | undefined, ops: Op[], tuning?: RunTuning): void {
  const list = new ReadyList(maxPriority, tuning);
  const model = new Model(maxPriority);
  const byFake = new Map<Fake, QueueEntry>();
  let unacked: Fake[] = [];
  let seq = 1;
  for (const op of ops) {
    switch (op.kind) {
      case 'push': {
        const f = { seq: seq++, priority: op.priority };
        const e = entry(f.seq, f.priority);
        byFake.set(f, e);
        model.ready.push(f);
        list.push(e);
        break;
      }
      case 'take': {
        const want = model.take();
        const got = list.shift();
        expect(got?.seq).toBe(want?.seq);
        if (want !== undefined) unacked.push(want);
        break;
      }
      case 'requeue': {
        // A subset of the unacked entries, in delivery order, reversed, or interleaved.
        const chosen = new Set<Fake>();
        for (const i of op.pick) if (unacked.length > 0) chosen.add(unacked[i % unacked.length] as Fake);
        let batch = unacked.filter((f) => chosen.has(f));
        if (op.shuffle === 1) batch.reverse();
        if (op.shuffle === 2) batch = [...batch.filter((_, i) => i % 2 === 1), ...batch.filter((_, i) => i % 2 === 0)];
        unacked = unacked.filter((f) => !chosen.has(f));
        model.ready.push(...batch);
        // The queue says when it saw them in order; sometimes it does not know.
        const inOrder = op.shuffle === 0 && batch.every((f, i) => i === 0 || (batch[i - 1] as Fake).seq < f.seq);
        list.requeue(
          batch.map((f) => byFake.get(f) as QueueEntry),
          inOrder && batch.length % 2 === 0,
        );
        break;
      }
      case 'requeueOldest': {
        // The oldest unacked entry alone: a small batch that belongs ahead of most returned ones.
        if (unacked.length === 0) break;
        const oldest = unacked.reduce((x, y) => (y.seq < x.seq ? y : x));
        unacked = unacked.filter((f) => f !== oldest);
        model.ready.push(oldest);
        list.requeue([byFake.get(oldest) as QueueEntry]);
        break;
      }
      case 'merge':
        list.mergeStep(op.budget);
        break;
      case 'peek':
        expect(list.peek()?.seq).toBe(model.ordered()[0]?.seq);
        break;
    }
    expect(list.length).toBe(model.ready.length);
  }
  // Iteration does not consume and gives delivery order; then merging to the end changes nothing.
  const expected = model.ordered().map((f) => f.seq);
  expect([...list].map((e) => e.seq)).toEqual(expected);
  while (list.mergeStep(7));
  expect(list.needsMerge()).toBe(false);
  expect([...list].map((e) => e.seq)).toEqual(expected);
  expect(list.clear().map((e) => e.seq)).toEqual(expected);
  expect(list.length).toBe(0);
  expect(list.shift()).toBeUndefined();
}

describe('ReadyList', () => {
  it('matches the model without priorities', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => run(undefined, ops)), { numRuns: 300 });
  });

  it('matches the model with priority levels (priorities above the maximum are clamped)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9 }), fc.array(opArb, { maxLength: 300 }), (max, ops) => run(max, ops)),
      { numRuns: 300 },
    );
  });

  it('matches the model when every batch becomes a run and runs are merged eagerly', () => {
    const tuning = fc.record({ smallBatch: fc.integer({ min: 0, max: 3 }), maxRuns: fc.integer({ min: 1, max: 3 }) });
    fc.assert(
      fc.property(fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }), tuning, fc.array(opArb, { maxLength: 300 }), (max, t, ops) =>
        run(max, ops, t),
      ),
      { numRuns: 400 },
    );
  });

  it('a small batch returned during a merge does not go into the merge output', () => {
    const list = new ReadyList(undefined, { smallBatch: 3, maxRuns: 1 });
    list.requeue([1, 3, 5, 7].map((s) => entry(s, 0)));
    list.requeue([2, 4, 6, 8].map((s) => entry(s, 0)));
    list.mergeStep(1); // the merge is under way: its output holds [1]
    list.requeue([entry(15, 0)]);
    while (list.mergeStep(1));
    const seen: number[] = [];
    while (list.length > 0) seen.push((list.shift() as QueueEntry).seq);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 15]);
  });

  it('a small batch returned during a merge does not go into a merge input ahead of what was merged', () => {
    const list = new ReadyList(undefined, { smallBatch: 3, maxRuns: 1 });
    list.requeue([1, 2, 5, 7, 9].map((s) => entry(s, 0)));
    list.requeue([4, 6, 8, 10].map((s) => entry(s, 0)));
    list.mergeStep(4); // the merge output holds [1, 2, 4, 5]
    list.requeue([entry(3, 0)]);
    while (list.mergeStep(1));
    const seen: number[] = [];
    while (list.length > 0) seen.push((list.shift() as QueueEntry).seq);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('large requeues are readable at once, in order, while their runs are merged slice by slice', () => {
    const list = new ReadyList(undefined);
    const total = 20_000;
    for (let s = 1; s <= total; s++) list.push(entry(s, 0));
    const taken: QueueEntry[] = [];
    for (let i = 0; i < 16_000; i++) taken.push(list.shift() as QueueEntry);
    // Eight interleaved batches (more runs than a level keeps unmerged), one of them reversed,
    // then small ones that are inserted into existing runs.
    for (let r = 0; r < 8; r++) {
      const batch = taken.filter((e) => e.seq % 8 === r && e.seq > 100);
      list.requeue(r === 3 ? batch.reverse() : batch);
    }
    for (let s = 1; s <= 100; s += 10) list.requeue(taken.slice(s - 1, s + 9));
    expect(list.length).toBe(total);
    expect(list.needsMerge()).toBe(true);
    // Read a few between merge slices: always the lowest seq.
    const seen: number[] = [];
    let slices = 0;
    while (list.mergeStep(500)) {
      slices++;
      for (let i = 0; i < 3; i++) seen.push((list.shift() as QueueEntry).seq);
    }
    expect(slices).toBeGreaterThan(5);
    while (list.length > 0) seen.push((list.shift() as QueueEntry).seq);
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });
});
