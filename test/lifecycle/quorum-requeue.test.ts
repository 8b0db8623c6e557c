// Where a quorum queue puts a message that comes back unacknowledged, as RabbitMQ 3.10 does
// (each case below was checked against a live 3.10 node):
// - basic.nack / basic.reject with requeue, or basic.recover, without an x-delivery-limit
//   argument: at the back of the queue, in the order given;
// - a closed channel or connection, or any requeue under x-delivery-limit: ahead of every other
//   message, behind those returned earlier;
// and x-delivery-count counts every return either way. Classic queues put it back at its place.

import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import * as amqplib from 'amqplib';
import { startTestBroker, useBroker } from '../helpers/broker.js';
import { channel, confirmChannel, uniq } from './helpers.js';

const b = useBroker();

/** A durable queue (quorum unless `type` says otherwise) holding `bodies`, published with confirms. */
async function filled(conn: amqplib.ChannelModel, bodies: string[], args: Record<string, unknown> = {}, type = 'quorum'): Promise<{ ch: amqplib.ConfirmChannel; q: string }> {
  const ch = await confirmChannel(conn);
  const q = uniq('qq-requeue');
  await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': type, ...args } });
  for (const body of bodies) ch.sendToQueue(q, Buffer.from(body));
  await ch.waitForConfirms();
  return { ch, q };
}

/** Body, `*` when redelivered, and x-delivery-count in brackets. */
function describeMsg(m: amqplib.GetMessage): string {
  const count: unknown = m.properties.headers?.['x-delivery-count'];
  return `${m.content.toString()}${m.fields.redelivered ? '*' : ''}(${String(count ?? '-')})`;
}

/** Everything basic.get returns until the queue is empty (no-ack), described. */
async function drainDescribed(ch: amqplib.Channel, q: string): Promise<string> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(q, { noAck: true });
    if (m === false) return out.join(' ');
    out.push(describeMsg(m));
  }
}

async function get(ch: amqplib.Channel, q: string): Promise<amqplib.GetMessage> {
  const m = await ch.get(q);
  if (m === false) throw new Error(`${q} is empty`);
  return m;
}

describe('quorum queue requeue', () => {
  it('nack, reject and recover put the message at the back, counting the return', async () => {
    const conn = await b.connect();
    for (const how of ['nack', 'reject', 'recover'] as const) {
      const { ch, q } = await filled(conn, ['a', 'b', 'c']);
      const m = await get(ch, q);
      if (how === 'nack') ch.nack(m, false, true);
      else if (how === 'reject') ch.reject(m, true);
      else await ch.recover();
      expect([how, await drainDescribed(ch, q)]).toEqual([how, 'b(0) c(0) a*(1)']);
    }
  });

  it('a nack with multiple keeps delivery order at the back; separate nacks keep the order they came in', async () => {
    const conn = await b.connect();
    const one = await filled(conn, ['a', 'b', 'c']);
    await get(one.ch, one.q);
    one.ch.nack(await get(one.ch, one.q), true, true);
    expect(await drainDescribed(one.ch, one.q)).toBe('c(0) a*(1) b*(1)');

    const two = await filled(conn, ['a', 'b', 'c']);
    const a = await get(two.ch, two.q);
    const bm = await get(two.ch, two.q);
    two.ch.nack(bm, false, true);
    two.ch.nack(a, false, true);
    expect(await drainDescribed(two.ch, two.q)).toBe('c(0) b*(1) a*(1)');
  });

  it('a message nacked before another is published is read before it', async () => {
    const conn = await b.connect();
    const { ch, q } = await filled(conn, ['a', 'b', 'c']);
    ch.nack(await get(ch, q), false, true);
    ch.sendToQueue(q, Buffer.from('d'));
    await ch.waitForConfirms();
    expect(await drainDescribed(ch, q)).toBe('b(0) c(0) a*(1) d(0)');
  });

  it('messages of a closed channel or a lost connection go ahead of all others, in the order returned', async () => {
    const conn = await b.connect();
    const { ch, q } = await filled(conn, ['a', 'b', 'c', 'd']);
    const first = await channel(conn);
    const second = await channel(conn);
    const lost = await amqplib.connect(b.url);
    const lostCh = await lost.createChannel();
    await get(first, q); // a
    await get(second, q); // b
    await get(first, q); // c
    await get(lostCh, q); // d
    await second.close(); // b returns first
    await first.close(); // then a and c, in delivery order
    await lost.close(); // then d
    expect(await drainDescribed(ch, q)).toBe('b*(1) a*(1) c*(1) d*(1)');
  });

  it('a message returned by a closed channel stays ahead of one nacked later', async () => {
    const conn = await b.connect();
    const { ch, q } = await filled(conn, ['a', 'b', 'c']);
    const holder = await channel(conn);
    const closing = await channel(conn);
    const a = await get(holder, q);
    await get(closing, q);
    await closing.close();
    holder.nack(a, false, true);
    expect(await drainDescribed(holder, q)).toBe('b*(1) c(0) a*(1)');
    await ch.close();
  });

  it('under x-delivery-limit a nack goes ahead of the others, in the order returned, until the limit dead-letters it', async () => {
    const conn = await b.connect();
    const ahead = await filled(conn, ['a', 'b', 'c'], { 'x-delivery-limit': 10 });
    const a = await get(ahead.ch, ahead.q);
    const bm = await get(ahead.ch, ahead.q);
    ahead.ch.nack(bm, false, true);
    ahead.ch.nack(a, false, true);
    expect(await drainDescribed(ahead.ch, ahead.q)).toBe('b*(1) a*(1) c(0)');

    const dlq = uniq('qq-requeue-dlq');
    const limited = await filled(conn, ['a', 'b'], { 'x-delivery-limit': 1, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
    await limited.ch.assertQueue(dlq, { durable: true });
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await get(limited.ch, limited.q);
      seen.push(describeMsg(m));
      limited.ch.nack(m, false, true);
    }
    // a twice (then over the limit), then b once, back ahead of nothing.
    expect(seen).toEqual(['a(0)', 'a*(1)', 'b(0)']);
    expect(await drainDescribed(limited.ch, limited.q)).toBe('b*(1)');
    const dead = await limited.ch.get(dlq, { noAck: true });
    expect(dead !== false && dead.content.toString()).toBe('a');
  });

  it('drop-head overflow after a nack drops the head, not the nacked message now at the back', async () => {
    const conn = await b.connect();
    const { ch, q } = await filled(conn, ['a', 'b'], { 'x-max-length': 2 });
    const a = await get(ch, q);
    ch.sendToQueue(q, Buffer.from('c'));
    await ch.waitForConfirms();
    ch.nack(a, false, true);
    expect(await drainDescribed(ch, q)).toBe('c(0) a*(1)');
  });

  it('classic queues put a nacked message back at its place (no x-delivery-count without a limit)', async () => {
    const conn = await b.connect();
    const { ch, q } = await filled(conn, ['a', 'b', 'c'], {}, 'classic');
    ch.nack(await get(ch, q), false, true);
    expect(await drainDescribed(ch, q)).toBe('a*(-) b(-) c(-)');
  });
});

describe('quorum queue requeue with messages paged out', () => {
  let broker: Awaited<ReturnType<typeof startTestBroker>> | null = null;
  beforeAll(async () => {
    broker = await startTestBroker({ pageAfterMessages: 4 });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('a nacked message goes behind the messages on disk', async () => {
    if (broker === null) throw new Error('broker not started');
    const conn = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${broker.running.port}`);
    try {
      const bodies = Array.from({ length: 12 }, (_, i) => `m${i + 1}`);
      const { ch, q } = await filled(conn, bodies);
      const persistent = await confirmChannel(conn);
      // A transient and a persistent message: both are taken, nacked, and must come out last.
      persistent.sendToQueue(q, Buffer.from('p'), { persistent: true });
      await persistent.waitForConfirms();
      const m1 = await get(ch, q);
      ch.nack(m1, false, true);
      const order = (await drainDescribed(ch, q)).split(' ').map((s) => s.replace(/\(.*\)$/, ''));
      expect(order).toEqual([...bodies.slice(1), 'p', 'm1*']);
    } finally {
      await conn.close();
    }
  });
});
