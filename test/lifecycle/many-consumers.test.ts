// Consumer selection with many consumers on one queue: round robin within a priority, higher
// priorities first while they have capacity, consumers at their limit (own prefetch, or the
// channel's) skipped and served again after an ack, single active consumer in registration
// order, and removal of many consumers at once (channel close).

import { describe, it, expect } from 'vitest';
import type * as amqplib from 'amqplib';
import { useBroker } from '../helpers/broker.js';
import { channel, collect, sleep, uniq, waitFor, type Received } from './helpers.js';

type Collected = Awaited<ReturnType<typeof collect>>;

const b = useBroker();

async function publish(ch: amqplib.Channel, q: string, bodies: string[]): Promise<void> {
  for (const s of bodies) ch.sendToQueue(q, Buffer.from(s));
  await ch.checkQueue(q);
}

const names = (prefix: string, n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);
const total = (cs: { got: Received[] }[]): number => cs.reduce((s, c) => s + c.got.length, 0);

describe('many consumers on one queue', () => {
  it('equal-priority consumers are served strictly in turn, in registration order', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('mc-rr');
    await ch.assertQueue(q, { exclusive: true });
    const cs: Collected[] = [];
    for (let i = 0; i < 5; i++) cs.push(await collect(ch, q, { noAck: true }));
    await publish(ch, q, names('m', 25));
    await waitFor(() => total(cs) === 25);
    cs.forEach((c, i) => expect(c.got.map((g) => g.body)).toEqual([0, 1, 2, 3, 4].map((k) => `m${i + 5 * k}`)));
  });

  it('each priority level is served only when every higher one is at its limit, round robin within it', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const q = uniq('mc-levels');
    await ch.assertQueue(q, { exclusive: true });
    await ch.prefetch(1); // per consumer; nothing is acked until the end
    const top = await collect(ch, q, { arguments: { 'x-priority': 10 } });
    const mid: Collected[] = [];
    const low: Collected[] = [];
    for (let i = 0; i < 40; i++) low.push(await collect(ch, q));
    for (let i = 0; i < 40; i++) mid.push(await collect(ch, q, { arguments: { 'x-priority': 5 } }));
    await publish(ch, q, names('m', 1 + 40 + 30));
    await waitFor(() => total([top, ...mid, ...low]) === 71);
    expect(top.got.map((g) => g.body)).toEqual(['m0']);
    mid.forEach((c, i) => expect(c.got.map((g) => g.body)).toEqual([`m${1 + i}`]));
    expect(low.slice(0, 30).map((c) => c.got.map((g) => g.body))).toEqual(names('m', 30, 41).map((s) => [s]));
    expect(low.slice(30).every((c) => c.got.length === 0)).toBe(true);
    // An ack gives the top consumer room again: the next message is its own.
    ch.ack((top.got[0] as Received).msg);
    await publish(ch, q, ['next']);
    await waitFor(() => top.got.length === 2);
    expect(top.got[1]?.body).toBe('next');
    // A mid consumer acks: it gets the next one, ahead of the ten idle low ones.
    ch.ack((mid[7]?.got[0] as Received).msg);
    await publish(ch, q, ['after-mid-ack']);
    await waitFor(() => mid[7]?.got.length === 2);
    expect(mid[7]?.got[1]?.body).toBe('after-mid-ack');
  });

  it('a channel at its global prefetch is skipped; after an ack its consumers are served again', async () => {
    const conn = await b.connect();
    const limited = await channel(conn);
    const free = await channel(conn);
    const q = uniq('mc-global');
    await free.assertQueue(q, { exclusive: true });
    await limited.prefetch(2, true); // channel-wide: two unacked across its consumers
    const l1 = await collect(limited, q);
    const l2 = await collect(limited, q);
    const f = await collect(free, q, { noAck: true });
    await publish(free, q, names('m', 9));
    await waitFor(() => total([l1, l2, f]) === 9);
    expect(l1.got.map((g) => g.body)).toEqual(['m0']);
    expect(l2.got.map((g) => g.body)).toEqual(['m1']);
    expect(f.got.map((g) => g.body)).toEqual(names('m', 7, 2));
    limited.ack((l1.got[0] as Received).msg);
    await limited.checkQueue(q);
    await publish(free, q, ['x', 'y', 'z']);
    await waitFor(() => total([l1, l2, f]) === 12);
    // One slot freed on the channel: one of its consumers takes one message, the free one the rest.
    expect(l1.got.length + l2.got.length).toBe(3);
    expect(f.got).toHaveLength(9);
  });

  it('closing a channel with thousands of consumers removes them all; the others keep receiving', async () => {
    const conn = await b.connect();
    const many = await channel(conn);
    const other = await channel(conn);
    const q = uniq('mc-close');
    await other.assertQueue(q);
    const tags: string[] = [];
    const got: string[] = [];
    const pending = [];
    for (let i = 0; i < 3000; i++) pending.push(many.consume(q, (m) => m !== null && got.push(m.content.toString()), { noAck: true }));
    for (const ok of await Promise.all(pending)) tags.push(ok.consumerTag);
    const survivor = await collect(other, q, { noAck: true });
    expect((await other.checkQueue(q)).consumerCount).toBe(3001);
    // Some cancelled one by one first, from the middle of the rotation.
    for (const t of tags.slice(1000, 1100)) await many.cancel(t);
    expect((await other.checkQueue(q)).consumerCount).toBe(2901);
    await publish(other, q, names('a', 100));
    await waitFor(() => got.length + survivor.got.length === 100);
    await many.close();
    expect((await other.checkQueue(q)).consumerCount).toBe(1);
    const before = survivor.got.length;
    await publish(other, q, names('b', 50));
    await waitFor(() => survivor.got.length === before + 50);
    expect(survivor.got.slice(before).map((g) => g.body)).toEqual(names('b', 50));
    await other.deleteQueue(q);
  });

  it('single active consumer among hundreds: the oldest is active, takeover follows registration order after bulk removal', async () => {
    const conn = await b.connect();
    const owner = await channel(conn);
    const first = await channel(conn);
    const rest = await channel(conn);
    const q = uniq('mc-sac');
    await owner.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': true } });
    const early: Collected[] = [];
    for (let i = 0; i < 200; i++) early.push(await collect(first, q, { noAck: true }));
    const late: Collected[] = [];
    for (let i = 0; i < 200; i++) late.push(await collect(rest, q, { noAck: true }));
    await publish(owner, q, ['a', 'b']);
    await waitFor(() => early[0]?.got.length === 2);
    await first.cancel(early[0]?.tag as string);
    await publish(owner, q, ['c']);
    await waitFor(() => early[1]?.got.length === 1);
    // The first channel closes with the 199 left: the oldest on the other channel takes over.
    await first.close();
    await publish(owner, q, ['d', 'e']);
    await waitFor(() => late[0]?.got.length === 2);
    await sleep(10);
    expect(late[0]?.got.map((g) => g.body)).toEqual(['d', 'e']);
    expect(total(late)).toBe(2);
    expect(total(early)).toBe(3);
  });
});
