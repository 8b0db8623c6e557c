// Requeued messages go back to their original place, however they come back (channel close,
// connection loss, nack with multiple, reject, basic.recover), however many at once, and while
// a large requeue is still being merged: a consumer or basic.get arriving meanwhile sees queue
// order, and the queue length counts every message.

import { describe, it, expect } from 'vitest';
import type * as amqplib from 'amqplib';
import { useBroker } from '../helpers/broker.js';
import { channel, collect, messageCount, uniq, waitFor } from './helpers.js';

type Collected = Awaited<ReturnType<typeof collect>>;

const b = useBroker();

async function publishNumbered(ch: amqplib.Channel, q: string, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) ch.sendToQueue(q, Buffer.from(String(i)));
  await ch.checkQueue(q);
}

const range = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

/** Consume until `n` messages arrived (manual ack, unacked kept); returns them. */
async function hold(ch: amqplib.Channel, q: string, n: number): Promise<{ got: amqplib.ConsumeMessage[]; tag: string }> {
  const c = await collect(ch, q);
  await waitFor(() => c.got.length >= n, 5000);
  return { got: c.got.map((r) => r.msg), tag: c.tag };
}

describe('requeue order', () => {
  it('interleaved deliveries to several consumers come back in publish order when their channels close', async () => {
    const conn = await b.connect();
    const pub = await channel(conn);
    const q = uniq('rq-interleaved');
    await pub.assertQueue(q);
    const n = 3000;
    // Six consumers share the messages round robin, so each holds every sixth one: six
    // interleaved requeues, more than the queue keeps unmerged.
    const consumers = await Promise.all(Array.from({ length: 6 }, async () => channel(await b.connect())));
    const holders: Collected[] = [];
    for (const ch of consumers) holders.push(await collect(ch, q));
    await publishNumbered(pub, q, 1, n);
    await waitFor(() => holders.reduce((s, h) => s + h.got.length, 0) === n, 5000);
    expect(holders.map((h) => h.got.length)).toEqual(Array(6).fill(n / 6));
    await Promise.all(consumers.map((ch) => ch.close()));
    await publishNumbered(pub, q, n + 1, n + 10); // published after: behind every returned one
    expect(await messageCount(pub, q)).toBe(n + 10);
    const after = await collect(pub, q, { noAck: true });
    await waitFor(() => after.got.length === n + 10, 5000);
    expect(after.got.map((r) => r.body)).toEqual(range(1, n + 10));
    expect(after.got.map((r) => r.msg.fields.redelivered)).toEqual([...Array(n).fill(true), ...Array(10).fill(false)]);
  });

  it('a consumer and basic.get arriving in the same read as a large requeue see queue order and full counts', async () => {
    const conn = await b.connect();
    const pub = await channel(conn);
    const q = uniq('rq-midway');
    await pub.assertQueue(q);
    const n = 20_000;
    await publishNumbered(pub, q, 1, n);
    // Five channels of one connection take the messages in turn, then close together with a
    // get, a passive declare and a consume right behind on a sixth: all are read in one go.
    const sub = await b.connect();
    const chans = await Promise.all(Array.from({ length: 5 }, () => channel(sub)));
    const holders: Collected[] = [];
    for (const ch of chans) holders.push(await collect(ch, q));
    await waitFor(() => holders.reduce((s, h) => s + h.got.length, 0) === n, 10_000);
    await publishNumbered(pub, q, n + 1, n + 5);
    await waitFor(() => holders.reduce((s, h) => s + h.got.length, 0) === n + 5, 5000);
    const late = await channel(sub);
    const closes = chans.map((ch) => ch.close());
    const got = late.get(q, { noAck: true });
    const count = late.checkQueue(q);
    const rest = collect(late, q, { noAck: true });
    await Promise.all(closes);
    const first = await got;
    if (first === false) throw new Error('basic.get found the queue empty');
    expect(first.content.toString()).toBe('1');
    expect(first.fields.redelivered).toBe(true);
    expect((await count).messageCount).toBe(n + 4);
    const c = await rest;
    await waitFor(() => c.got.length === n + 4, 10_000);
    expect(c.got.map((r) => r.body)).toEqual(range(2, n + 5));
  });

  it('nack with multiple and requeue, then reject, then basic.recover: each message back at its place', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('rq-nack');
    await ch.assertQueue(q);
    await publishNumbered(ch, q, 1, 500);
    const { got, tag } = await hold(ch, q, 500);
    await ch.cancel(tag);
    ch.nack(got[299] as amqplib.ConsumeMessage, true, true); // 1..300 back
    ch.reject(got[399] as amqplib.ConsumeMessage, true); // 400 back
    ch.recover(); // everything else back (301..399, 401..500)
    await waitFor(async () => (await messageCount(ch, q)) === 500);
    const after = await collect(ch, q, { noAck: true });
    await waitFor(() => after.got.length === 500);
    expect(after.got.map((r) => r.body)).toEqual(range(1, 500));
  });

  it('a consumer that got messages out of order (a redelivery behind newer ones) returns them in order', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('rq-unsorted');
    await ch.assertQueue(q);
    await publishNumbered(ch, q, 1, 200);
    const c = await collect(ch, q);
    await waitFor(() => c.got.length === 200);
    // Message 10 goes back and is delivered again behind 200: the channel's unacked list is no
    // longer in queue order.
    ch.reject((c.got[9] as { msg: amqplib.ConsumeMessage }).msg, true);
    await waitFor(() => c.got.length === 201);
    expect(c.got[200]?.body).toBe('10');
    const conn2 = await b.connect();
    const other = await channel(conn2);
    await ch.close();
    const after = await collect(other, q, { noAck: true });
    await waitFor(() => after.got.length === 200);
    expect(after.got.map((r) => r.body)).toEqual(range(1, 200));
  });

  it('purge and delete during a large requeue count and remove every message', async () => {
    const conn = await b.connect();
    const pub = await channel(conn);
    const q = uniq('rq-purge');
    await pub.assertQueue(q);
    const n = 20_000;
    await publishNumbered(pub, q, 1, n);
    const sub = await b.connect();
    const chans = await Promise.all(Array.from({ length: 5 }, () => channel(sub)));
    const holders: Collected[] = [];
    for (const ch of chans) holders.push(await collect(ch, q));
    await waitFor(() => holders.reduce((s, h) => s + h.got.length, 0) === n, 10_000);
    const late = await channel(sub);
    const closes = chans.map((ch) => ch.close());
    const purged = late.purgeQueue(q);
    await Promise.all(closes);
    expect((await purged).messageCount).toBe(n);
    expect(await messageCount(late, q)).toBe(0);
    // Again, with delete.
    await publishNumbered(pub, q, 1, n);
    const chans2 = await Promise.all(Array.from({ length: 5 }, () => channel(sub)));
    const holders2: Collected[] = [];
    for (const ch of chans2) holders2.push(await collect(ch, q));
    await waitFor(() => holders2.reduce((s, h) => s + h.got.length, 0) === n, 10_000);
    const closes2 = chans2.map((ch) => ch.close());
    const deleted = late.deleteQueue(q);
    await Promise.all(closes2);
    expect((await deleted).messageCount).toBe(n);
  });
});
