// Message TTL (x-message-ttl, per-message expiration) and queue TTL (x-expires).

import { describe, it, expect } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { ManualClock } from '../../src/util/clock.js';
import { channel, channelClosed, collect, drain, messageCount, queueExists, replyText, sleep, uniq, waitFor } from './helpers.js';

const clock = new ManualClock();
/** Time only moves when a test says so: expiry is checked at get/deliver time against this clock. */
// Heartbeats off: tests jump the clock far past any heartbeat window while the client is idle.
const manual = useBroker({ clock, heartbeat: 0 });
/** Real time, for the end-to-end checks that the system clock's timers fire. */
const real = useBroker();
const DAY = 86_400_000;

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
    await ch.checkQueue(q);
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
    await ch.checkQueue(q);
    ch.ack(got[0]!.msg);
    await ch.checkQueue(q);
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
    // Long enough that a loaded machine still sees the queue right after declaring it.
    await ch.assertQueue(q, { arguments: { 'x-expires': 400 } });
    expect(await queueExists(conn, q)).toBe(true);
    await waitFor(async () => !(await queueExists(conn, q)), 4000, 20);
  });

  it('a 30-day x-expires (beyond 2^31-1 ms) does not fire at once on the system clock', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const conn = await real.connect();
      const ch = await channel(conn);
      const q = uniq('expires-30d');
      await ch.assertQueue(q, { arguments: { 'x-expires': 30 * DAY, 'x-message-ttl': 2 ** 32 - 1 } });
      ch.sendToQueue(q, Buffer.from('m'), { expiration: String(2 ** 32) });
      // Node turns an over-long timer into a 1 ms one: give such a timer ample time to fire.
      await sleep(50);
      expect(await queueExists(conn, q)).toBe(true);
      expect(await messageCount(ch, q)).toBe(1);
      expect(warnings).not.toContain('TimeoutOverflowWarning');
      await ch.deleteQueue(q);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('x-expires (manual clock)', () => {
  it('a queue with messages but no consumer still expires', async () => {
    const conn = await manual.connect();
    const ch = await channel(conn);
    const q = uniq('expires-msgs');
    await ch.assertQueue(q, { arguments: { 'x-expires': 60 } });
    ch.sendToQueue(q, Buffer.from('a'));
    await ch.checkQueue(q);
    clock.advance(59);
    expect(await queueExists(conn, q)).toBe(true);
    clock.advance(1);
    expect(await queueExists(conn, q)).toBe(false);
  });

  it('a consumer keeps the queue alive; after cancel it expires', async () => {
    const conn = await manual.connect();
    const ch = await channel(conn);
    const q = uniq('expires-consumed');
    await ch.assertQueue(q, { arguments: { 'x-expires': 60 } });
    const { tag } = await collect(ch, q);
    clock.advance(250);
    expect(await queueExists(conn, q)).toBe(true);
    await ch.cancel(tag);
    clock.advance(59);
    expect(await queueExists(conn, q)).toBe(true);
    clock.advance(1);
    expect(await queueExists(conn, q)).toBe(false);
  });

  it('redeclaring renews the lease', async () => {
    const conn = await manual.connect();
    const ch = await channel(conn);
    const q = uniq('expires-redeclare');
    await ch.assertQueue(q, { arguments: { 'x-expires': 100 } });
    for (let i = 0; i < 6; i++) {
      clock.advance(90);
      await ch.assertQueue(q, { arguments: { 'x-expires': 100 } });
    }
    expect(await queueExists(conn, q)).toBe(true);
    clock.advance(100);
    expect(await queueExists(conn, q)).toBe(false);
  });

  it('basic.get renews the lease (RabbitMQ: a queue polled with basic.get is in use)', async () => {
    const conn = await manual.connect();
    const ch = await channel(conn);
    const q = uniq('expires-get');
    await ch.assertQueue(q, { arguments: { 'x-expires': 100 } });
    for (let i = 0; i < 6; i++) {
      clock.advance(90);
      await ch.get(q, { noAck: true });
    }
    expect(await queueExists(conn, q)).toBe(true);
    await ch.deleteQueue(q);
  });

  it('a 30-day x-expires queue still exists after 25 days and is gone after 30, without a timer storm', async () => {
    const conn = await manual.connect();
    const ch = await channel(conn);
    const q = uniq('expires-30d');
    await ch.assertQueue(q, { arguments: { 'x-expires': 30 * DAY } });
    ch.sendToQueue(q, Buffer.from('kept'), { persistent: true });
    await ch.checkQueue(q);
    const fired = clock.fired;
    clock.advance(25 * DAY);
    expect(await queueExists(conn, q)).toBe(true);
    expect(await messageCount(ch, q)).toBe(1);
    clock.advance(5 * DAY);
    expect(await queueExists(conn, q)).toBe(false);
    // The expiry timer fired once; the rest are periodic checks, once per advance each.
    expect(clock.fired - fired).toBeLessThan(10);
  });

  it('x-message-ttl and expiration up to 2^32-1 ms and beyond hold the message the full time', async () => {
    const conn = await manual.connect();
    const ch = await channel(conn);
    const q = uniq('ttl-long');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-message-ttl': 2 ** 32 - 1 } });
    ch.sendToQueue(q, Buffer.from('queue-ttl'));
    ch.sendToQueue(q, Buffer.from('own'), { expiration: String(40 * DAY) });
    await ch.checkQueue(q);
    const fired = clock.fired;
    clock.advance(2 ** 32 - 2);
    expect(await messageCount(ch, q)).toBe(2);
    clock.advance(2);
    expect(await messageCount(ch, q)).toBe(0); // the 2^32-1 TTL caps the 40-day expiration
    expect(clock.fired - fired).toBeLessThan(10);
  });

  it.each([
    ['x-message-ttl', 315_360_000_001],
    ['x-expires', 315_360_000_001],
  ])('%s above ten years is refused with 406 value_too_large (RabbitMQ 3.10)', async (arg, value) => {
    const conn = await manual.connect();
    const ch = await conn.createChannel();
    const closed = channelClosed(ch);
    const q = uniq('too-long');
    await ch.assertQueue(q, { arguments: { [arg]: value } }).catch(() => undefined);
    const c = await closed;
    expect(c.code).toBe(406);
    expect(replyText(c.message)).toBe(`PRECONDITION_FAILED - invalid arg '${arg}' for queue '${q}' in vhost '/': {value_too_large,${value}}`);
  });

  it('an expiration above ten years is refused with 406 value_too_large; ten years is accepted', async () => {
    const conn = await manual.connect();
    const ok = await channel(conn);
    const q = uniq('exp-10y');
    await ok.assertQueue(q, { exclusive: true });
    ok.sendToQueue(q, Buffer.from('x'), { expiration: '315360000000' });
    expect(await messageCount(ok, q)).toBe(1);
    const ch = await conn.createChannel();
    const closed = channelClosed(ch);
    ch.sendToQueue(q, Buffer.from('x'), { expiration: '315360000001' });
    expect(replyText((await closed).message)).toBe("PRECONDITION_FAILED - invalid expiration '315360000001': {value_too_large,315360000001}");
  });

  it('x-expires 0 is refused with 406', async () => {
    const conn = await manual.connect();
    const ch = await conn.createChannel();
    const closed = channelClosed(ch);
    await ch.assertQueue(uniq('expires0'), { arguments: { 'x-expires': 0 } }).catch(() => undefined);
    const c = await closed;
    expect(c.code).toBe(406);
    expect(replyText(c.message)).toMatch(/invalid arg 'x-expires'/);
  });
});
