// Message TTL (x-message-ttl, per-message expiration) and queue TTL (x-expires).

import { describe, it, expect } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { ManualClock } from '../../src/util/clock.js';
import { channel, channelClosed, collect, drain, messageCount, queueExists, replyText, sleep, uniq, waitFor } from './helpers.js';

const clock = new ManualClock();
/** Time only moves when a test says so: expiry is checked at get/deliver time against this clock. */
const manual = useBroker({ clock });
/** Real time, for timers (x-expires, expiration "0"). */
const real = useBroker();

describe('x-message-ttl and expiration (manual clock)', () => {
  it('x-message-ttl: a message older than the TTL is not returned by basic.get', async () => {
    const conn = await manual.connect();
    const ch = await channel(conn);
    const q = uniq('ttl');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-message-ttl': 1000 } });
    ch.sendToQueue(q, Buffer.from('old'));
    await ch.checkQueue(q); // round trip: the publish has been handled
    clock.advance(600);
    ch.sendToQueue(q, Buffer.from('young'));
    await ch.checkQueue(q);
    clock.advance(401); // 'old' is now 1001 ms old, 'young' 401 ms
    expect(await drain(ch, q)).toEqual(['young']);
  });

  it('x-message-ttl: the message is still there just before its deadline', async () => {
    const conn = await manual.connect();
    const ch = await channel(conn);
    const q = uniq('ttl');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-message-ttl': 1000 } });
    ch.sendToQueue(q, Buffer.from('m'));
    await ch.checkQueue(q);
    clock.advance(999);
    expect(await messageCount(ch, q)).toBe(1);
    expect(await drain(ch, q)).toEqual(['m']);
  });

  it('per-message expiration (string of ms) expires the message', async () => {
    const conn = await manual.connect();
    const ch = await channel(conn);
    const q = uniq('exp');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, Buffer.from('short'), { expiration: '500' });
    ch.sendToQueue(q, Buffer.from('long'), { expiration: '5000' });
    ch.sendToQueue(q, Buffer.from('forever'));
    await ch.checkQueue(q);
    clock.advance(501);
    expect(await drain(ch, q)).toEqual(['long', 'forever']);
  });

  it('the lower of x-message-ttl and expiration wins (message lower)', async () => {
    const conn = await manual.connect();
    const ch = await channel(conn);
    const q = uniq('lower');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-message-ttl': 1000 } });
    ch.sendToQueue(q, Buffer.from('m200'), { expiration: '200' });
    ch.sendToQueue(q, Buffer.from('m5000'), { expiration: '5000' });
    await ch.checkQueue(q);
    clock.advance(201);
    expect(await messageCount(ch, q)).toBe(1);
    clock.advance(800); // 1001 ms: the queue TTL caps the 5000 ms expiration
    expect(await drain(ch, q)).toEqual([]);
  });

  it('the lower of x-message-ttl and expiration wins (queue lower)', async () => {
    const conn = await manual.connect();
    const ch = await channel(conn);
    const q = uniq('lower');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-message-ttl': 200 } });
    ch.sendToQueue(q, Buffer.from('a'), { expiration: '100000' });
    await ch.checkQueue(q);
    clock.advance(150);
    expect(await messageCount(ch, q)).toBe(1);
    clock.advance(51);
    expect(await ch.get(q)).toBe(false);
  });

  it('an expired message behind a live head is never delivered (basic.get), though only the head is dropped eagerly', async () => {
    const conn = await manual.connect();
    const ch = await channel(conn);
    const q = uniq('behind');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, Buffer.from('long'), { expiration: '60000' });
    ch.sendToQueue(q, Buffer.from('short'), { expiration: '100' });
    ch.sendToQueue(q, Buffer.from('none'));
    await ch.checkQueue(q);
    clock.advance(200);
    // RabbitMQ expires from the head only: the expired message behind 'long' is still counted.
    expect(await messageCount(ch, q)).toBe(3);
    expect(await drain(ch, q)).toEqual(['long', 'none']);
    expect(await messageCount(ch, q)).toBe(0);
  });

  it('an expired message behind a live head is never delivered to a consumer', async () => {
    const conn = await manual.connect();
    const ch = await channel(conn);
    const q = uniq('behind-c');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, Buffer.from('long'), { expiration: '60000' });
    ch.sendToQueue(q, Buffer.from('short'), { expiration: '100' });
    ch.sendToQueue(q, Buffer.from('tail'));
    await ch.checkQueue(q);
    clock.advance(200); // both deadlines known; only 'short' passed
    const { got } = await collect(ch, q, { noAck: true });
    await waitFor(() => got.length >= 2);
    await sleep(30);
    expect(got.map((g) => g.body)).toEqual(['long', 'tail']);
  });

  it('a requeued message keeps its original deadline', async () => {
    const conn = await manual.connect();
    const ch = await channel(conn);
    const q = uniq('requeue-ttl');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-message-ttl': 1000 } });
    ch.sendToQueue(q, Buffer.from('m'));
    await ch.checkQueue(q);
    clock.advance(700);
    const m = await ch.get(q);
    expect(m).not.toBe(false);
    ch.nack(m as never, false, true);
    await ch.checkQueue(q);
    clock.advance(400); // 1100 ms since publish
    expect(await ch.get(q)).toBe(false);
  });
});

describe('expiration "0" and invalid expirations (real time)', () => {
  it('expiration "0" with a consumer waiting: delivered', async () => {
    const conn = await real.connect();
    const ch = await channel(conn);
    const q = uniq('zero');
    await ch.assertQueue(q, { exclusive: true });
    const { got } = await collect(ch, q, { noAck: true });
    ch.sendToQueue(q, Buffer.from('now'), { expiration: '0' });
    await waitFor(() => got.length === 1);
    expect(got[0]?.body).toBe('now');
  });

  it('expiration "0" with no consumer: dropped', async () => {
    const conn = await real.connect();
    const ch = await channel(conn);
    const q = uniq('zero');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, Buffer.from('never'), { expiration: '0' });
    ch.sendToQueue(q, Buffer.from('kept'));
    await sleep(5);
    expect(await drain(ch, q)).toEqual(['kept']);
  });

  it('expiration "0" on a queue with a busy consumer (prefetch full): dropped', async () => {
    const conn = await real.connect();
    const ch = await channel(conn);
    const q = uniq('zero-busy');
    await ch.assertQueue(q, { exclusive: true });
    await ch.prefetch(1);
    const { got } = await collect(ch, q);
    ch.sendToQueue(q, Buffer.from('first'));
    await waitFor(() => got.length === 1);
    ch.sendToQueue(q, Buffer.from('instant'), { expiration: '0' });
    await sleep(20);
    ch.ack(got[0]!.msg);
    await sleep(30);
    expect(got.map((g) => g.body)).toEqual(['first']);
  });

  it.each(['abc', '-5', '1.5', ' 5'])('invalid expiration %j closes the channel with 406', async (exp) => {
    const conn = await real.connect();
    const ch = await conn.createChannel();
    const closed = channelClosed(ch);
    const q = uniq('badexp');
    await ch.assertQueue(q, { autoDelete: true });
    ch.sendToQueue(q, Buffer.from('x'), { expiration: exp });
    const c = await closed;
    expect(c.code).toBe(406);
    expect(replyText(c.message)).toMatch(/^PRECONDITION_FAILED - invalid expiration /);
  });

  // Reply texts as RabbitMQ 3.10 sends them (observed): the Erlang reason of string:to_integer/1.
  it.each([
    ['abc', "PRECONDITION_FAILED - invalid expiration 'abc': no_integer"],
    ['-5', "PRECONDITION_FAILED - invalid expiration '-5': {value_negative,-5}"],
    ['1.5', 'PRECONDITION_FAILED - invalid expiration \'1.5\': {leftover_string,".5"}'],
  ])('invalid expiration %j: RabbitMQ reply text', async (exp, text) => {
    const conn = await real.connect();
    const ch = await conn.createChannel();
    const closed = channelClosed(ch);
    ch.sendToQueue('amq.no-such-queue-needed', Buffer.from('x'), { expiration: exp });
    expect(replyText((await closed).message)).toBe(text);
  });
});

describe('x-expires (real time)', () => {
  it('an unused queue is deleted after x-expires', async () => {
    const conn = await real.connect();
    const ch = await channel(conn);
    const q = uniq('expires');
    await ch.assertQueue(q, { arguments: { 'x-expires': 60 } });
    expect(await queueExists(conn, q)).toBe(true);
    await waitFor(async () => !(await queueExists(conn, q)), 1000, 20);
  });

  it('a queue with messages but no consumer still expires', async () => {
    const conn = await real.connect();
    const ch = await channel(conn);
    const q = uniq('expires-msgs');
    await ch.assertQueue(q, { arguments: { 'x-expires': 60 } });
    ch.sendToQueue(q, Buffer.from('a'));
    await waitFor(async () => !(await queueExists(conn, q)), 1000, 20);
  });

  it('a consumer keeps the queue alive; after cancel it expires', async () => {
    const conn = await real.connect();
    const ch = await channel(conn);
    const q = uniq('expires-consumed');
    await ch.assertQueue(q, { arguments: { 'x-expires': 60 } });
    const { tag } = await collect(ch, q);
    await sleep(250);
    expect(await queueExists(conn, q)).toBe(true);
    await ch.cancel(tag);
    await waitFor(async () => !(await queueExists(conn, q)), 1000, 20);
  });

  it('redeclaring renews the lease', async () => {
    const conn = await real.connect();
    const ch = await channel(conn);
    const q = uniq('expires-redeclare');
    await ch.assertQueue(q, { arguments: { 'x-expires': 100 } });
    for (let i = 0; i < 6; i++) {
      await sleep(40);
      await ch.assertQueue(q, { arguments: { 'x-expires': 100 } });
    }
    expect(await queueExists(conn, q)).toBe(true);
    await ch.deleteQueue(q);
  });

  it('basic.get renews the lease (RabbitMQ: a queue polled with basic.get is in use)', async () => {
    const conn = await real.connect();
    const ch = await channel(conn);
    const q = uniq('expires-get');
    await ch.assertQueue(q, { arguments: { 'x-expires': 100 } });
    for (let i = 0; i < 6; i++) {
      await sleep(40);
      await ch.get(q, { noAck: true });
    }
    expect(await queueExists(conn, q)).toBe(true);
    await ch.deleteQueue(q);
  });

  it('x-expires 0 is refused with 406', async () => {
    const conn = await real.connect();
    const ch = await conn.createChannel();
    const closed = channelClosed(ch);
    await ch.assertQueue(uniq('expires0'), { arguments: { 'x-expires': 0 } }).catch(() => undefined);
    const c = await closed;
    expect(c.code).toBe(406);
    expect(replyText(c.message)).toMatch(/invalid arg 'x-expires'/);
  });
});
