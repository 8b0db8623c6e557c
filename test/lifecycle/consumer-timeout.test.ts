// Consumer timeout: a delivery left unacknowledged too long closes its channel with 406
// (RabbitMQ's text) and the message goes back to the queue for someone else.

import { describe, it, expect } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { ManualClock } from '../../src/util/clock.js';
import { channel, channelClosed, collect, messageCount, replyText, uniq, waitFor } from './helpers.js';

/** Broker-wide default stays at RabbitMQ's 30 minutes; queues set x-consumer-timeout. */
const b = useBroker({ consumerTimeoutCheckMs: 20 });
const clock = new ManualClock();
// Heartbeats off: the manual clock jumps past heartbeat windows while the client is idle.
const manual = useBroker({ consumerTimeoutCheckMs: 20, consumerTimeout: 5000, clock, heartbeat: 0 });
/** Past a deadline by enough for the next sweep to see it. */
const SWEEP = 20;

function timeoutText(channelId: number, ms: number): string {
  return `PRECONDITION_FAILED - delivery acknowledgement on channel ${channelId} timed out. Timeout value used: ${ms} ms. This timeout value can be configured, see consumers doc guide to learn more`;
}

describe('x-consumer-timeout', () => {
  it('closes the channel with 406 and RabbitMQ text; the message is redelivered to another consumer', async () => {
    const conn = await b.connect();
    const slow = await conn.createChannel(); // channel 1
    const closed = channelClosed(slow, 1500);
    const q = uniq('ctimeout');
    await slow.assertQueue(q, { arguments: { 'x-consumer-timeout': 100 } });
    const stuck = await collect(slow, q);
    const sent = Date.now();
    slow.sendToQueue(q, Buffer.from('job'));
    await waitFor(() => stuck.got.length === 1);
    const c = await closed;
    const waited = Date.now() - sent;
    expect(c.code).toBe(406);
    expect(replyText(c.message)).toBe(timeoutText(1, 100));
    expect(waited).toBeGreaterThanOrEqual(95);
    expect(waited).toBeLessThan(1000);

    const other = await channel(conn);
    const rescue = await collect(other, q);
    await waitFor(() => rescue.got.length === 1);
    expect(rescue.got[0]?.body).toBe('job');
    expect(rescue.got[0]?.msg.fields.redelivered).toBe(true);
    other.ack(rescue.got[0]!.msg);
    await other.deleteQueue(q);
  });

  it('the connection and its other channels survive', async () => {
    const conn = await b.connect();
    const keeper = await channel(conn); // channel 1
    const slow = await conn.createChannel(); // channel 2
    const closed = channelClosed(slow);
    const q = uniq('ctimeout-conn');
    await keeper.assertQueue(q, { exclusive: true, arguments: { 'x-consumer-timeout': 60 } });
    const stuck = await collect(slow, q);
    keeper.sendToQueue(q, Buffer.from('x'));
    await waitFor(() => stuck.got.length === 1);
    const c = await closed;
    expect(replyText(c.message)).toBe(timeoutText(2, 60));
    // Channel 1 still works and sees the message back in the queue.
    const m = await waitFor(() => keeper.get(q, { noAck: true }));
    expect(m.fields.redelivered).toBe(true);
  });

  it('a delivery acked in time keeps the channel open (manual clock)', async () => {
    const conn = await manual.connect();
    const ch = await channel(conn);
    let closedByServer = false;
    ch.on('error', () => {
      closedByServer = true;
    });
    const q = uniq('ctimeout-ok');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-consumer-timeout': 100 } });
    const { got } = await collect(ch, q);
    for (let i = 0; i < 5; i++) {
      ch.sendToQueue(q, Buffer.from(`m${i}`));
      await waitFor(() => got.length === i + 1);
      clock.advance(90); // 90 ms of the 100 allowed, then acked
      ch.ack(got[i]!.msg);
      await ch.checkQueue(q);
      clock.advance(SWEEP);
    }
    clock.advance(1000);
    expect(await messageCount(ch, q)).toBe(0);
    expect(closedByServer).toBe(false);
  });

  it('no-ack deliveries never time out (manual clock)', async () => {
    const conn = await manual.connect();
    const ch = await channel(conn);
    let closedByServer = false;
    ch.on('error', () => {
      closedByServer = true;
    });
    const q = uniq('ctimeout-noack');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-consumer-timeout': 30 } });
    const { got } = await collect(ch, q, { noAck: true });
    ch.sendToQueue(q, Buffer.from('x'));
    await waitFor(() => got.length === 1);
    clock.advance(10_000);
    await ch.checkQueue(q);
    expect(closedByServer).toBe(false);
  });

  it('an unacked basic.get delivery also times out (manual clock)', async () => {
    const conn = await manual.connect();
    const ch = await conn.createChannel();
    const closed = channelClosed(ch);
    const q = uniq('ctimeout-get');
    await ch.assertQueue(q, { arguments: { 'x-consumer-timeout': 60 } });
    ch.sendToQueue(q, Buffer.from('x'));
    const m = await waitFor(() => ch.get(q));
    expect(m.content.toString()).toBe('x');
    clock.advance(60 + SWEEP);
    const c = await closed;
    expect(c.code).toBe(406);
    const ch2 = await channel(conn);
    const back = await waitFor(() => ch2.get(q, { noAck: true }));
    expect(back.fields.redelivered).toBe(true);
    await ch2.deleteQueue(q);
  });
});

describe('broker-wide consumerTimeout (manual clock)', () => {
  it('applies when the queue sets none, measured on the broker clock', async () => {
    const conn = await manual.connect();
    const ch = await conn.createChannel();
    const closed = channelClosed(ch, 1500);
    const q = uniq('ctimeout-default');
    await ch.assertQueue(q);
    const { got } = await collect(ch, q);
    ch.sendToQueue(q, Buffer.from('x'));
    await waitFor(() => got.length === 1);
    clock.advance(4999); // sweeps run, the deadline is not yet passed
    await ch.checkQueue(q);
    clock.advance(1 + SWEEP);
    const c = await closed;
    expect(replyText(c.message)).toBe(timeoutText(1, 5000));
    const ch2 = await channel(conn);
    const back = await waitFor(() => ch2.get(q, { noAck: true }));
    expect(back.fields.redelivered).toBe(true);
    await ch2.deleteQueue(q);
  });

  it('the queue argument overrides the broker default', async () => {
    const conn = await manual.connect();
    const ch = await conn.createChannel();
    let closedWith: string | null = null;
    ch.on('error', (e: Error) => {
      closedWith = e.message;
    });
    const q = uniq('ctimeout-override');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-consumer-timeout': 60000 } });
    const { got } = await collect(ch, q);
    ch.sendToQueue(q, Buffer.from('x'));
    await waitFor(() => got.length === 1);
    clock.advance(5001 + SWEEP); // past the broker default, well within the queue's
    await ch.checkQueue(q);
    expect(closedWith).toBeNull();
    clock.advance(55000);
    await waitFor(() => closedWith !== null);
    expect(replyText(closedWith as unknown as string)).toBe(timeoutText(1, 60000));
  });
});
