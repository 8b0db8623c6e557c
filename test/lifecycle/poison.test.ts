// Poison messages: x-delivery-limit (classic and quorum), x-delivery-count, quorum rules.

import { describe, it, expect } from 'vitest';
import type * as amqplib from 'amqplib';
import { useBroker } from '../helpers/broker.js';
import { channel, channelClosed, collect, messageCount, replyText, sleep, uniq, waitFor, xDeath } from './helpers.js';

const b = useBroker();

/** basic.get then nack-requeue until the queue has nothing left; returns the deliveries seen. */
async function nackUntilGone(ch: amqplib.Channel, q: string, max = 50): Promise<amqplib.GetMessage[]> {
  const seen: amqplib.GetMessage[] = [];
  for (let i = 0; i < max; i++) {
    const m = await ch.get(q);
    if (m === false) return seen;
    seen.push(m);
    ch.nack(m, false, true);
  }
  throw new Error('message never left the queue');
}

describe('x-delivery-limit on a classic queue', () => {
  it('nack-requeue until the limit, then dead-lettered with reason delivery_limit', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('poison');
    const dlq = uniq('poison-dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, {
      exclusive: true,
      arguments: { 'x-delivery-limit': 3, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq },
    });
    const before = b.running.broker.metrics.deadLettered.get('delivery_limit') ?? 0;
    ch.sendToQueue(q, Buffer.from('bad'), { headers: { keep: 'me' } });
    await ch.checkQueue(q);
    const seen = await nackUntilGone(ch, q);
    // Delivered once, then returned 3 times (the limit); the 4th return dead-letters it.
    expect(seen).toHaveLength(4);
    expect(seen.map((m) => m.fields.redelivered)).toEqual([false, true, true, true]);
    expect(seen.slice(1).map((m) => m.properties.headers?.['x-delivery-count'])).toEqual([1, 2, 3]);
    const dl = await waitFor(() => ch.get(dlq, { noAck: true }));
    expect(dl.content.toString()).toBe('bad');
    expect(dl.properties.headers?.['keep']).toBe('me');
    expect(xDeath(dl)).toEqual([expect.objectContaining({ reason: 'delivery_limit', queue: q, count: 1, exchange: '', 'routing-keys': [q] })]);
    expect(dl.properties.headers?.['x-first-death-reason']).toBe('delivery_limit');
    expect(b.running.broker.metrics.deadLettered.get('delivery_limit')).toBe(before + 1);
  });

  it('without a DLX the poison message is dropped', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('poison-drop');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-delivery-limit': 1 } });
    ch.sendToQueue(q, Buffer.from('bad'));
    ch.sendToQueue(q, Buffer.from('good'));
    await ch.checkQueue(q);
    const m1 = await ch.get(q);
    if (m1 === false) throw new Error('empty');
    expect(m1.content.toString()).toBe('bad');
    ch.nack(m1, false, true);
    const m2 = await ch.get(q);
    if (m2 === false) throw new Error('empty');
    expect(m2.content.toString()).toBe('bad');
    expect(m2.properties.headers?.['x-delivery-count']).toBe(1);
    ch.nack(m2, false, true); // second return: over the limit of 1
    const m3 = await ch.get(q, { noAck: true });
    if (m3 === false) throw new Error('empty');
    expect(m3.content.toString()).toBe('good');
    expect(await ch.get(q)).toBe(false);
  });

  it('x-delivery-limit 0: the first return already dead-letters', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('poison0');
    const dlq = uniq('poison0-dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-delivery-limit': 0, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } });
    ch.sendToQueue(q, Buffer.from('x'));
    await ch.checkQueue(q);
    expect(await nackUntilGone(ch, q)).toHaveLength(1);
    const dl = await waitFor(() => ch.get(dlq, { noAck: true }));
    expect(xDeath(dl)[0]?.reason).toBe('delivery_limit');
  });

  it('returns by consumer channel close count too (consumer that crashes repeatedly)', async () => {
    const conn = await b.connect();
    const setup = await channel(conn);
    const q = uniq('poison-crash');
    const dlq = uniq('poison-crash-dlq');
    await setup.assertQueue(dlq);
    await setup.assertQueue(q, { arguments: { 'x-delivery-limit': 2, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } });
    setup.sendToQueue(q, Buffer.from('crash'));
    await setup.checkQueue(q);
    const counts: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const ch = await channel(conn);
      const { got } = await collect(ch, q);
      await waitFor(() => got.length === 1);
      counts.push(got[0]!.msg.properties.headers?.['x-delivery-count']);
      await ch.close(); // unacked: returned to the queue
    }
    expect(counts).toEqual([undefined, 1, 2]);
    await waitFor(async () => (await messageCount(setup, dlq)) === 1);
    expect(await messageCount(setup, q)).toBe(0);
    await setup.deleteQueue(q);
    await setup.deleteQueue(dlq);
  });

  it('nack with requeue=false of a message under the limit is a plain rejection', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('poison-rej');
    const dlq = uniq('poison-rej-dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-delivery-limit': 5, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } });
    ch.sendToQueue(q, Buffer.from('x'));
    const m = await waitFor(() => ch.get(q));
    ch.nack(m, false, false);
    const dl = await waitFor(() => ch.get(dlq, { noAck: true }));
    expect(xDeath(dl)[0]?.reason).toBe('rejected');
  });
});

describe('quorum queues', () => {
  it('get a default delivery limit of 20: the 21st return dead-letters', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('qq');
    const dlq = uniq('qq-dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } });
    try {
      // A consumer that nacks with requeue every time (faster than 21 basic.get round trips).
      const seen: amqplib.ConsumeMessage[] = [];
      await ch.consume(q, (m) => {
        if (m === null) return;
        seen.push(m);
        ch.nack(m, false, true);
      });
      ch.sendToQueue(q, Buffer.from('poison'));
      const dl = await waitFor(() => ch.get(dlq, { noAck: true }));
      expect(seen).toHaveLength(21);
      expect(seen.slice(1).map((m) => m.properties.headers?.['x-delivery-count'])).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(seen.slice(1).every((m) => m.fields.redelivered)).toBe(true);
      expect(xDeath(dl)[0]).toMatchObject({ reason: 'delivery_limit', queue: q, count: 1 });
    } finally {
      await ch.deleteQueue(q);
    }
  });

  it('an explicit x-delivery-limit overrides the default', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('qq-limit');
    await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 2 } });
    try {
      ch.sendToQueue(q, Buffer.from('poison'));
      await ch.checkQueue(q);
      const seen = await nackUntilGone(ch, q);
      expect(seen).toHaveLength(3);
      expect(seen.slice(1).map((m) => m.properties.headers?.['x-delivery-count'])).toEqual([1, 2]);
    } finally {
      await ch.deleteQueue(q);
    }
  });

  it.each([
    ['non-durable', { durable: false }, "invalid property 'non-durable'"],
    ['exclusive', { durable: true, exclusive: true }, "invalid property 'exclusive-owner'"],
    ['auto-delete', { durable: true, autoDelete: true }, "invalid property 'auto-delete'"],
  ] as const)('a %s quorum queue is refused with 406', async (_label, flags, text) => {
    const ch = await (await b.connect()).createChannel();
    const closed = channelClosed(ch);
    const q = uniq('qq-bad');
    await ch.assertQueue(q, { ...flags, arguments: { 'x-queue-type': 'quorum' } }).catch(() => undefined);
    const c = await closed;
    expect(c.code).toBe(406);
    expect(replyText(c.message)).toBe(`PRECONDITION_FAILED - ${text} for queue '${q}' in vhost '/'`);
  });

  it('x-queue-type stream is refused with 406', async () => {
    const ch = await (await b.connect()).createChannel();
    const closed = channelClosed(ch);
    await ch.assertQueue(uniq('stream'), { durable: true, arguments: { 'x-queue-type': 'stream' } }).catch(() => undefined);
    const c = await closed;
    expect(c.code).toBe(406);
    expect(replyText(c.message)).toMatch(/^PRECONDITION_FAILED - /);
  });

  it('redeclaring a quorum queue as classic is an inequivalent-arg 406', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const q = uniq('qq-redeclare');
    await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const ch2 = await conn.createChannel();
    const closed = channelClosed(ch2);
    await ch2.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'classic' } }).catch(() => undefined);
    const c = await closed;
    expect(c.code).toBe(406);
    expect(replyText(c.message)).toMatch(/^PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue/);
    await sleep(1);
    await ch.deleteQueue(q);
  });
});
