// A large requeue is bounded work per turn of the event loop: the queue places (or dead-letters
// over the delivery limit, or settles into a deleted queue) at most one slice of returned entries
// in the turn they come back, and drop-head overflow after it drops at most one slice; the rest
// follows on later turns. Meanwhile every read sees the queue as if all were done: counts,
// order for take(), purge.

import { describe, expect, it } from 'vitest';
import type { Queue, QueueEntry } from '../../../src/broker/queue/queue.js';
import type { QueuePolicy } from '../../../src/broker/queue/arguments.js';
import type { DeadLetterReason } from '../../../src/broker/queue/dead-letter.js';
import { message, newQueue, queueHost } from './queue-fixture.js';

/** Entries placed per turn (REQUEUE_SLICE / DROP_SLICE in queue.ts). */
const SLICE = 4096;
const N = 20_000;

interface Log {
  deadLettered: [number, DeadLetterReason][];
  settled: number;
}

function makeQueue(policy: Partial<QueuePolicy> = {}): { q: Queue; log: Log } {
  const log: Log = { deadLettered: [], settled: 0 };
  const host = queueHost({
    onEntryRemoved: () => void log.settled++,
    deadLetter: (_q: Queue, e: QueueEntry, reason: DeadLetterReason) => void log.deadLettered.push([bodyOf(e), reason]),
  });
  const q = newQueue(host, policy);
  return { q, log };
}

function bodyOf(e: QueueEntry): number {
  return Number(e.message.bodyBuffer().toString());
}

function publish(q: Queue, from: number, to: number): void {
  for (let i = from; i <= to; i++) {
    q.enqueue(message(String(i)), undefined);
  }
}

/** Take n entries as a consumer would (they are then unacked, ready to be requeued). */
function takeAll(q: Queue, n: number): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (let i = 0; i < n; i++) {
    const e = q.take();
    if (e === undefined) throw new Error('queue ran dry');
    q.delivered(e);
    out.push(e);
  }
  return out;
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await turn();
}

describe('a large requeue, a slice per turn', () => {
  it('places one slice in the turn it arrives and the rest on later turns, counting all at once', async () => {
    const { q } = makeQueue();
    publish(q, 1, N);
    const held = takeAll(q, N);
    q.requeue(held, 'released');
    expect(q.ready.length).toBeLessThanOrEqual(SLICE);
    expect(q.depth).toBe(N);
    expect(q.messageCount).toBe(N);
    await turns(Math.ceil(N / SLICE) + 2);
    expect(q.ready.length).toBe(N);
    expect([...q.ready].every((e) => e.redelivered && e.returns === 1)).toBe(true);
  });

  it('take() in the same turn sees queue order: the returned messages, then the rest', () => {
    const { q } = makeQueue();
    publish(q, 1, N + 10);
    const held = takeAll(q, N);
    q.requeue(held, 'released');
    const bodies: number[] = [];
    for (;;) {
      const e = q.take();
      if (e === undefined) break;
      bodies.push(bodyOf(e));
    }
    expect(bodies).toEqual(Array.from({ length: N + 10 }, (_, i) => i + 1));
  });

  it('two interleaved requeues in one turn come out in queue order', () => {
    const { q } = makeQueue();
    publish(q, 1, N);
    const held = takeAll(q, N);
    q.requeue(held.filter((_, i) => i % 2 === 1), 'released');
    q.requeue(held.filter((_, i) => i % 2 === 0), 'released');
    const bodies: number[] = [];
    for (let e = q.take(); e !== undefined; e = q.take()) bodies.push(bodyOf(e));
    expect(bodies).toEqual(Array.from({ length: N }, (_, i) => i + 1));
  });

  it('quorum requeues to the back reserve their place: a publish after them is read after them', () => {
    const { q } = makeQueue({ type: 'quorum' });
    publish(q, 1, N + 5);
    const held = takeAll(q, N);
    q.requeue(held, 'client');
    publish(q, N + 6, N + 6);
    const bodies: number[] = [];
    for (let e = q.take(); e !== undefined; e = q.take()) bodies.push(bodyOf(e));
    expect(bodies).toEqual([N + 1, N + 2, N + 3, N + 4, N + 5, ...Array.from({ length: N }, (_, i) => i + 1), N + 6]);
  });

  it('over the delivery limit: dead-lettered a slice per turn, out of the count at once', async () => {
    const { q, log } = makeQueue({ deliveryLimit: 0 });
    publish(q, 1, N + 1);
    const held = takeAll(q, N);
    q.requeue(held, 'client');
    expect(log.deadLettered.length).toBeLessThanOrEqual(SLICE);
    expect(q.messageCount).toBe(1);
    await turns(Math.ceil(N / SLICE) + 2);
    expect(log.deadLettered.length).toBe(N);
    expect(log.deadLettered.every(([, r]) => r === 'delivery_limit')).toBe(true);
    expect(q.messageCount).toBe(1);
  });

  it('purge in the same turn counts only what is in the queue, and dead-letters the rest', () => {
    const { q, log } = makeQueue({ deliveryLimit: 1 });
    publish(q, 1, N);
    const first = takeAll(q, N);
    for (const e of first.slice(0, N / 2)) e.returns = 1; // these come back a second time: over the limit
    q.requeue(first, 'client');
    expect(q.purge()).toBe(N / 2);
    expect(log.deadLettered.length).toBe(N / 2);
    expect(log.settled).toBe(N / 2);
    expect(q.depth).toBe(0);
  });

  it('into a deleted queue: settled a slice per turn', async () => {
    const { q, log } = makeQueue();
    publish(q, 1, N);
    const held = takeAll(q, N);
    q.purge();
    q.dispose();
    q.requeue(held, 'released');
    expect(log.settled).toBeLessThanOrEqual(SLICE);
    await turns(Math.ceil(N / SLICE) + 2);
    expect(log.settled).toBe(N);
    expect(q.depth).toBe(0);
  });

  it('drop-head overflow after a requeue drops a slice per turn; reads see it done', async () => {
    const max = 10_000;
    const { q, log } = makeQueue({ maxLength: max });
    publish(q, 1, max);
    const held = takeAll(q, max);
    publish(q, max + 1, 2 * max);
    q.requeue(held, 'released'); // back at the head, then the oldest 10k are over the limit
    expect(log.deadLettered.length).toBeLessThanOrEqual(SLICE);
    const second = makeQueue({ maxLength: max });
    publish(second.q, 1, max);
    const held2 = takeAll(second.q, max);
    publish(second.q, max + 1, 2 * max);
    second.q.requeue(held2, 'released');
    // A read in the same turn: the count and the head are those after all drops.
    expect(second.q.messageCount).toBe(max);
    expect(bodyOf(second.q.take() as QueueEntry)).toBe(max + 1);
    await turns(Math.ceil(max / SLICE) + 2);
    expect(log.deadLettered.length).toBe(max);
    expect(log.deadLettered.every(([, r]) => r === 'maxlen')).toBe(true);
    expect(q.messageCount).toBe(max);
    expect(bodyOf(q.take() as QueueEntry)).toBe(max + 1);
  });

  it('a byte limit counts the bodies of requeued messages still to be placed', () => {
    const { q } = makeQueue({ maxLengthBytes: 5 * N, overflow: 'reject-publish' });
    publish(q, 10_000, 10_000 + N - 1); // N bodies of 5 bytes: exactly at the limit
    const held = takeAll(q, N);
    q.requeue(held, 'released');
    expect(q.enqueue(message('x'), undefined)).toBe('rejected');
    expect(q.readyBytes).toBe(5 * N);
  });
});
