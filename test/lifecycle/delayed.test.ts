// Delayed messages: exchange type x-delayed-message (x-delayed-type, x-delay header).

import { describe, it, expect } from 'vitest';
import type * as amqplib from 'amqplib';
import { Connection as RcConnection } from 'rabbitmq-client';
import { useBroker } from '../helpers/broker.js';
import { ManualClock } from '../../src/util/clock.js';
import { channel, channelClosed, collect, confirmChannel, drain, messageCount, publishConfirmed, replyText, sleep, uniq, waitFor } from './helpers.js';

const b = useBroker();
const clock = new ManualClock();
// Heartbeats off: the tests jump the clock far past any heartbeat window.
const manual = useBroker({ clock, heartbeat: 0 });

async function delayedExchange(ch: amqplib.Channel, inner: string, key = 'k'): Promise<{ ex: string; q: string }> {
  const ex = uniq('delayed');
  const q = uniq('delayed-q');
  await ch.assertExchange(ex, 'x-delayed-message', { autoDelete: true, arguments: { 'x-delayed-type': inner } });
  await ch.assertQueue(q, { exclusive: true });
  await ch.bindQueue(q, ex, key);
  return { ex, q };
}

const delay = (ms: number, extra: Record<string, unknown> = {}): amqplib.Options.Publish => ({ headers: { 'x-delay': ms, ...extra } });

describe('x-delayed-message', () => {
  it('a message arrives after its x-delay, not before', async () => {
    const ch = await channel(await b.connect());
    const { ex, q } = await delayedExchange(ch, 'direct');
    const { got } = await collect(ch, q, { noAck: true });
    const sent = Date.now();
    ch.publish(ex, 'k', Buffer.from('later'), delay(120, { app: 'x' }));
    await sleep(60);
    expect(got).toHaveLength(0);
    expect(await messageCount(ch, q)).toBe(0);
    await waitFor(() => got.length === 1, 1000);
    const elapsed = got[0]!.at - sent;
    expect(elapsed).toBeGreaterThanOrEqual(115);
    expect(elapsed).toBeLessThan(600);
    expect(got[0]!.body).toBe('later');
    expect(got[0]!.msg.fields.exchange).toBe(ex);
    expect(got[0]!.msg.fields.routingKey).toBe('k');
    expect(got[0]!.msg.properties.headers?.['app']).toBe('x');
  });

  it('messages with different delays come out in due order (manual clock)', async () => {
    const ch = await channel(await manual.connect());
    const { ex, q } = await delayedExchange(ch, 'direct');
    ch.publish(ex, 'k', Buffer.from('150'), delay(150));
    ch.publish(ex, 'k', Buffer.from('50'), delay(50));
    ch.publish(ex, 'k', Buffer.from('100'), delay(100));
    ch.publish(ex, 'k', Buffer.from('75'), delay(75));
    await ch.checkQueue(q);
    const out: string[] = [];
    for (const step of [49, 2, 25, 25, 50]) {
      clock.advance(step);
      out.push(`${step}:${(await drain(ch, q)).join(',')}`);
    }
    // Released when the clock passes each due time (the timer fires 1 ms after it), never before.
    expect(out).toEqual(['49:', '2:50', '25:75', '25:100', '50:150']);
  });

  it('without x-delay (or with x-delay 0 / negative) the message is routed at once', async () => {
    const ch = await channel(await b.connect());
    const { ex, q } = await delayedExchange(ch, 'direct');
    ch.publish(ex, 'k', Buffer.from('none'));
    ch.publish(ex, 'k', Buffer.from('zero'), delay(0));
    ch.publish(ex, 'k', Buffer.from('negative'), delay(-500));
    await ch.checkQueue(q);
    expect(await drain(ch, q)).toEqual(['none', 'zero', 'negative']);
  });

  it('x-delayed-type topic routes by pattern when the delay passes', async () => {
    const ch = await channel(await manual.connect());
    const { ex, q } = await delayedExchange(ch, 'topic', 'orders.*');
    const other = uniq('delayed-other');
    await ch.assertQueue(other, { exclusive: true });
    await ch.bindQueue(other, ex, 'invoices.#');
    ch.publish(ex, 'orders.new', Buffer.from('o'), delay(150));
    ch.publish(ex, 'invoices.a.b', Buffer.from('i'), delay(150));
    ch.publish(ex, 'nothing', Buffer.from('n'), delay(150));
    expect(await messageCount(ch, q)).toBe(0);
    expect(await messageCount(ch, other)).toBe(0);
    clock.advance(151);
    expect(await drain(ch, q)).toEqual(['o']);
    expect(await drain(ch, other)).toEqual(['i']);
  });

  it('x-delayed-type fanout ignores the routing key', async () => {
    const ch = await channel(await manual.connect());
    const { ex, q } = await delayedExchange(ch, 'fanout', 'whatever');
    ch.publish(ex, 'unrelated', Buffer.from('f'), delay(30));
    await ch.checkQueue(q);
    clock.advance(31);
    expect(await drain(ch, q)).toEqual(['f']);
  });

  it('publisher confirms come at publish time, not at release', async () => {
    const ch = await confirmChannel(await manual.connect());
    const { ex, q } = await delayedExchange(ch, 'direct');
    // The clock does not move: the ack cannot be waiting for the release.
    expect(await publishConfirmed(ch, ex, 'k', 'x', delay(300))).toBe('ack');
    expect(await messageCount(ch, q)).toBe(0);
    clock.advance(301);
    expect(await messageCount(ch, q)).toBe(1);
  });

  it('a per-message expiration counts from the release into the queue', async () => {
    const ch = await channel(await manual.connect());
    const { ex, q } = await delayedExchange(ch, 'direct');
    ch.publish(ex, 'k', Buffer.from('x'), { ...delay(80), expiration: '60' });
    await ch.checkQueue(q);
    // At 81 ms they enter the queue with 60 ms to live: still there 59 ms later, gone after 61.
    clock.advance(81);
    clock.advance(59);
    expect(await messageCount(ch, q)).toBe(1);
    clock.advance(2);
    expect(await messageCount(ch, q)).toBe(0);
  });

  it('deleting the exchange discards its pending messages', async () => {
    const ch = await channel(await manual.connect());
    const ex = uniq('delayed-del');
    const q = uniq('delayed-del-q');
    await ch.assertExchange(ex, 'x-delayed-message', { arguments: { 'x-delayed-type': 'direct' } });
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindQueue(q, ex, 'k');
    ch.publish(ex, 'k', Buffer.from('x'), delay(250));
    await ch.checkQueue(q);
    await ch.deleteExchange(ex);
    await ch.assertExchange(ex, 'x-delayed-message', { arguments: { 'x-delayed-type': 'direct' } });
    await ch.bindQueue(q, ex, 'k');
    expect(await messageCount(ch, q)).toBe(0); // still before the due time
    clock.advance(300);
    expect(await messageCount(ch, q)).toBe(0);
    await ch.deleteExchange(ex);
  });

  it('a missing x-delayed-type is refused with 406', async () => {
    const ch = await (await b.connect()).createChannel();
    const closed = channelClosed(ch);
    await ch.assertExchange(uniq('delayed-bad'), 'x-delayed-message', { autoDelete: true }).catch(() => undefined);
    const c = await closed;
    expect(c.code).toBe(406);
    expect(replyText(c.message)).toBe("PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type");
  });

  it('a non-string x-delayed-type is refused with 406', async () => {
    const ch = await (await b.connect()).createChannel();
    const closed = channelClosed(ch);
    await ch.assertExchange(uniq('delayed-bad'), 'x-delayed-message', { autoDelete: true, arguments: { 'x-delayed-type': 5 } }).catch(() => undefined);
    const c = await closed;
    expect(c.code).toBe(406);
    expect(replyText(c.message)).toBe("PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type");
  });

  it('x-delayed-type x-delayed-message is refused with 406 and the plugin text', async () => {
    const ch = await (await b.connect()).createChannel();
    const closed = channelClosed(ch);
    await ch
      .assertExchange(uniq('delayed-rec'), 'x-delayed-message', { autoDelete: true, arguments: { 'x-delayed-type': 'x-delayed-message' } })
      .catch(() => undefined);
    const c = await closed;
    expect(c.code).toBe(406);
    expect(replyText(c.message)).toBe("PRECONDITION_FAILED - Invalid argument, 'x-delayed-message' can't be used for 'x-delayed-type'");
  });

  it('an unknown x-delayed-type is an unknown exchange type: connection closed with 503', async () => {
    const conn = await b.connect();
    const connClosed = new Promise<Error & { code?: number }>((resolve) => {
      conn.once('error', resolve);
      setTimeout(() => resolve(Object.assign(new Error('connection was not closed'), { code: 0 })), 1500);
    });
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.assertExchange(uniq('delayed-unknown'), 'x-delayed-message', { autoDelete: true, arguments: { 'x-delayed-type': 'nope' } }).catch(() => undefined);
    const err = await connClosed;
    // The plugin validates the inner type with rabbit_exchange:check_type/1 (a connection error).
    expect(err.code).toBe(503);
    expect(replyText(err.message)).toBe("COMMAND_INVALID - unknown exchange type 'nope'");
  });

  it('a mandatory delayed message is returned at publish time (the plugin routes it nowhere then)', async () => {
    const ch = await confirmChannel(await manual.connect());
    const { ex, q } = await delayedExchange(ch, 'direct');
    const returned: amqplib.Message[] = [];
    ch.on('return', (m: amqplib.Message) => returned.push(m));
    expect(await publishConfirmed(ch, ex, 'k', 'm', { ...delay(200), mandatory: true })).toBe('ack');
    expect(returned.map((m) => { const f = m.fields as unknown as { replyCode: number; replyText: string }; return [f.replyCode, f.replyText]; })).toEqual([[312, 'NO_ROUTE']]);
    // ...and still delivered when the delay passes.
    clock.advance(201);
    expect(await messageCount(ch, q)).toBe(1);
  });

  it('rabbitmq-client: delayed publish with confirms', async () => {
    const rc = new RcConnection({ url: b.url, retryLow: 10, retryHigh: 50 });
    try {
      const ch = await rc.acquire();
      const ex = uniq('rc-delayed');
      const q = uniq('rc-delayed-q');
      await ch.exchangeDeclare({ exchange: ex, type: 'x-delayed-message', autoDelete: true, arguments: { 'x-delayed-type': 'direct' } });
      await ch.queueDeclare({ queue: q, exclusive: true });
      await ch.queueBind({ queue: q, exchange: ex, routingKey: 'r' });
      await ch.confirmSelect();
      const sent = Date.now();
      await ch.basicPublish({ exchange: ex, routingKey: 'r', headers: { 'x-delay': 70 } }, 'rc');
      expect(await ch.basicGet({ queue: q })).toBeUndefined();
      const m = await waitFor(() => ch.basicGet({ queue: q, noAck: true }), 1000);
      expect(Date.now() - sent).toBeGreaterThanOrEqual(65);
      expect(String(m.body)).toBe('rc');
      await ch.close();
    } finally {
      await rc.close();
    }
  });
});

describe('x-delayed-message with a manual clock', () => {
  it('long delays are released exactly when the clock reaches them', async () => {
    const ch = await channel(await manual.connect());
    const { ex, q } = await delayedExchange(ch, 'direct');
    ch.publish(ex, 'k', Buffer.from('hour'), delay(3_600_000));
    ch.publish(ex, 'k', Buffer.from('minute'), delay(60_000));
    await ch.checkQueue(q);
    clock.advance(59_999);
    expect(await messageCount(ch, q)).toBe(0);
    clock.advance(2);
    expect(await drain(ch, q)).toEqual(['minute']);
    clock.advance(3_540_000);
    expect(await drain(ch, q)).toEqual(['hour']);
  });

  it('an x-delay beyond 2^31-1 ms (30 days) is waited out in full, without a timer storm', async () => {
    const ch = await channel(await manual.connect());
    const { ex, q } = await delayedExchange(ch, 'direct');
    const day = 86_400_000;
    ch.publish(ex, 'k', Buffer.from('month'), delay(30 * day));
    await ch.checkQueue(q);
    const fired = clock.fired;
    clock.advance(25 * day);
    expect(await messageCount(ch, q)).toBe(0);
    clock.advance(5 * day + 1);
    expect(await drain(ch, q)).toEqual(['month']);
    // The release timer fired once; the rest are the broker's periodic checks (one per advance each).
    expect(clock.fired - fired).toBeLessThan(10);
  });
});
