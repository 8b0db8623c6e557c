// ConsumerRing against a naive model (scan every consumer, as the queue used to): random adds,
// removals, deliveries, acks and channel blocks; plus round-robin order within a priority.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConsumerRing } from '../../../src/broker/queue/consumer-ring.js';
import { Consumer, type ConsumerOwner } from '../../../src/broker/consumer.js';
import type { Queue, QueueEntry } from '../../../src/broker/queue/queue.js';

/** A channel as the queue sees it: per-consumer prefetch, plus a switch for channel-wide blocking. */
class FakeChannel implements ConsumerOwner {
  blocked = false;
  hasCapacity(c: Consumer): boolean {
    if (this.blocked) return false;
    return c.noAck || c.prefetch === 0 || c.unacked < c.prefetch;
  }
  deliver(_c: Consumer, _e: QueueEntry): void {}
  cancelledByBroker(_c: Consumer): void {}
}

function setup(): { ring: ConsumerRing; make: (owner: FakeChannel, priority: number, prefetch: number, noAck?: boolean, exclusive?: boolean) => Consumer } {
  const ring = new ConsumerRing();
  // Only what Consumer calls on its queue: an ack that frees credit.
  const queue = { consumerCredit: (c: Consumer) => ring.credit(c) } as unknown as Queue;
  let n = 0;
  const make = (owner: FakeChannel, priority: number, prefetch: number, noAck = false, exclusive = false): Consumer =>
    new Consumer(`c${n++}`, queue, owner, { noAck, exclusive, args: {}, prefetch, priority });
  return { ring, make };
}

type Op =
  | { kind: 'add'; owner: number; priority: number; prefetch: number; noAck: boolean; exclusive: boolean }
  | { kind: 'remove'; i: number }
  | { kind: 'deliver' }
  | { kind: 'ack'; i: number }
  | { kind: 'block'; owner: number }
  | { kind: 'unblock'; owner: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      owner: fc.integer({ min: 0, max: 2 }),
      priority: fc.integer({ min: -2, max: 3 }),
      prefetch: fc.integer({ min: 0, max: 3 }),
      noAck: fc.boolean(),
      exclusive: fc.boolean(),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant('remove' as const), i: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('deliver' as const) }), weight: 8 },
  { arbitrary: fc.record({ kind: fc.constant('ack' as const), i: fc.nat() }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('block' as const), owner: fc.integer({ min: 0, max: 2 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('unblock' as const), owner: fc.integer({ min: 0, max: 2 }) }), weight: 2 },
);

describe('ConsumerRing', () => {
  it('picks a consumer with capacity at the highest priority that has one, like a full scan', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const { ring, make } = setup();
        const owners = [new FakeChannel(), new FakeChannel(), new FakeChannel()];
        const model: Consumer[] = []; // arrival order
        for (const op of ops) {
          switch (op.kind) {
            case 'add': {
              const c = make(owners[op.owner] as FakeChannel, op.priority, op.prefetch, op.noAck, op.exclusive);
              model.push(c);
              ring.add(c);
              break;
            }
            case 'remove': {
              if (model.length === 0) break;
              const [c] = model.splice(op.i % model.length, 1);
              expect(ring.remove(c as Consumer)).toBe(true);
              expect(ring.remove(c as Consumer)).toBe(false);
              break;
            }
            case 'deliver': {
              ring.wake(); // the queue does this at the start of every dispatch
              const got = ring.next();
              const able = model.filter((c) => c.owner.hasCapacity(c));
              if (able.length === 0) {
                expect(got).toBeUndefined();
                break;
              }
              const top = Math.max(...able.map((c) => c.priority));
              expect(got).toBeDefined();
              expect(model).toContain(got);
              expect(got?.owner.hasCapacity(got)).toBe(true);
              expect(got?.priority).toBe(top);
              if (got !== undefined && !got.noAck) got.unacked++;
              break;
            }
            case 'ack': {
              const holding = model.filter((c) => c.unacked > 0);
              if (holding.length === 0) break;
              (holding[op.i % holding.length] as Consumer).unacked--;
              break;
            }
            case 'block':
              (owners[op.owner] as FakeChannel).blocked = true;
              break;
            case 'unblock':
              (owners[op.owner] as FakeChannel).blocked = false;
              break;
          }
          expect(ring.size).toBe(model.length);
          expect([...ring]).toEqual(model);
          expect(ring.oldestConsumer()).toBe(model[0]);
          expect(ring.hasExclusive()).toBe(model.some((c) => c.exclusive));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('serves consumers of one priority in turn, and one back from its prefetch limit after the others', () => {
    const { ring, make } = setup();
    const ch = new FakeChannel();
    const [a, b, c] = [make(ch, 0, 0), make(ch, 0, 1), make(ch, 0, 0)] as [Consumer, Consumer, Consumer];
    for (const x of [a, b, c]) ring.add(x);
    const pick = (): string => {
      const x = ring.next() as Consumer;
      x.unacked++;
      return x.tag;
    };
    expect([pick(), pick(), pick(), pick(), pick()]).toEqual([a.tag, b.tag, c.tag, a.tag, c.tag]); // b is at its limit
    b.unacked--; // its ack: back at the tail of the round
    expect([pick(), pick(), pick(), pick()]).toEqual([a.tag, c.tag, b.tag, a.tag]);
  });

  it('a higher priority consumer is served while it has capacity; a new level in between slots in', () => {
    const { ring, make } = setup();
    const ch = new FakeChannel();
    const low = make(ch, 0, 0);
    const high = make(ch, 10, 2);
    ring.add(low);
    ring.add(high);
    const seq: string[] = [];
    for (let i = 0; i < 4; i++) {
      const x = ring.next() as Consumer;
      x.unacked++;
      seq.push(x.tag);
    }
    expect(seq).toEqual([high.tag, high.tag, low.tag, low.tag]);
    const mid = make(ch, 5, 0);
    ring.add(mid);
    expect(ring.next()).toBe(mid);
    high.unacked--;
    expect(ring.next()).toBe(high);
  });

  it('a blocked channel parks all its consumers; wake() brings them back once it has capacity', () => {
    const { ring, make } = setup();
    const slow = new FakeChannel();
    const fast = new FakeChannel();
    const s1 = make(slow, 0, 0);
    const s2 = make(slow, 0, 0);
    const f = make(fast, 0, 0);
    for (const x of [s1, s2, f]) ring.add(x);
    slow.blocked = true;
    expect([ring.next(), ring.next()]).toEqual([f, f]);
    ring.wake(); // still blocked: nothing changes
    expect(ring.next()).toBe(f);
    slow.blocked = false;
    expect(ring.next()).toBe(f); // not woken yet: the queue wakes on dispatch
    ring.wake();
    expect([ring.next(), ring.next(), ring.next()]).toEqual([f, s1, s2]); // back at the tail of the round
    // Removing parked consumers works too.
    slow.blocked = true;
    expect(ring.next()).toBe(f);
    expect(ring.next()).toBe(f);
    expect(ring.remove(s1)).toBe(true);
    slow.blocked = false;
    ring.wake();
    expect([ring.next(), ring.next()]).toEqual([f, s2]);
    expect(ring.size).toBe(2);
  });

  it('after backpressure, a no-ack consumer is woken even while its channel-wide prefetch holds the ack-mode ones', () => {
    // As Channel.hasCapacity: a full socket blocks every consumer of the channel, the channel-wide
    // prefetch only those that ack.
    class PrefetchChannel extends FakeChannel {
      writable = true;
      unackedOnChannel = 0;
      channelPrefetch = 1;
      override hasCapacity(c: Consumer): boolean {
        if (!this.writable) return false;
        return c.noAck || this.unackedOnChannel < this.channelPrefetch;
      }
    }
    const { ring, make } = setup();
    const ch = new PrefetchChannel();
    const acking = make(ch, 0, 0);
    const noAck = make(ch, 0, 0, true);
    ring.add(acking);
    ring.add(noAck);
    ch.writable = false;
    expect(ring.next()).toBeUndefined(); // both parked by the full socket, the acking one first
    ch.unackedOnChannel = 1; // an earlier delivery to the acking one is still unacked
    ch.writable = true; // drain: the channel asks its queues to dispatch
    ring.wake();
    expect(ring.next()).toBe(noAck);
  });
});
