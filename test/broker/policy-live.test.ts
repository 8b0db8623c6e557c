// Live re-application, end to end with amqplib: a policy put or deleted while queues and
// exchanges exist changes what they do now (RabbitMQ 3.10 checked live: a lower max-length drops
// under drop-head only; a new message-ttl applies to messages published after it). Time moves
// only on the ManualClock.

import { describe, expect, it } from 'vitest';
import type * as amqplib from 'amqplib';
import { useBroker } from '../helpers/broker.js';
import { channel, channelClosed, confirmChannel, drain, sync, uniq } from '../helpers/amqp.js';
import { policySpecFromJson } from '../../src/broker/policy/policy-json.js';
import type { VHost } from '../../src/broker/vhost.js';
import { ManualClock } from '../../src/util/clock.js';

const clock = new ManualClock();
const CHECK_MS = 1000;
const b = useBroker({ clock, heartbeat: 0, consumerTimeoutCheckMs: CHECK_MS });

function vhost(): VHost {
  const v = b.running.broker.vhost('/');
  if (v === undefined) throw new Error('no default vhost');
  return v;
}

const exact = (name: string): string => `^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;

function put(name: string, target: string, definition: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<'created' | 'updated'> {
  return vhost().policies.put(name, policySpecFromJson({ pattern: exact(target), definition, ...extra }));
}

async function publishAll(ch: amqplib.ConfirmChannel, queue: string, bodies: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const body of bodies) {
    out.push(await new Promise<string>((resolve) => ch.sendToQueue(queue, Buffer.from(body), {}, (err) => resolve(err === null || err === undefined ? 'ack' : 'nack'))));
  }
  return out;
}

/** A fanout exchange with one queue behind it, for dead-lettering and alternate exchanges. */
async function sink(ch: amqplib.Channel, prefix: string): Promise<{ exchange: string; queue: string }> {
  const exchange = uniq(`${prefix}-x`);
  const queue = uniq(`${prefix}-q`);
  await ch.assertExchange(exchange, 'fanout', { durable: false });
  await ch.assertQueue(queue, { durable: false });
  await ch.bindQueue(queue, exchange, '');
  return { exchange, queue };
}

describe('policies applied live', { timeout: 10_000 }, () => {
  it('a lower max-length drops the oldest at once under drop-head', async () => {
    const ch = await confirmChannel(await b.connect());
    const q = uniq('live-dh');
    await ch.assertQueue(q, { durable: false });
    await publishAll(ch, q, ['m1', 'm2', 'm3', 'm4', 'm5']);
    await put(q, q, { 'max-length': 2 });
    expect((await ch.checkQueue(q)).messageCount).toBe(2);
    expect(await drain(ch, q)).toEqual(['m4', 'm5']);
    await vhost().policies.delete(q);
  });

  it('... and dead-letters them when the policy also names a dead-letter exchange', async () => {
    const ch = await confirmChannel(await b.connect());
    const dl = await sink(ch, 'live-dlx');
    const q = uniq('live-dh-dlx');
    await ch.assertQueue(q, { durable: false });
    await publishAll(ch, q, ['a', 'b', 'c']);
    await put(q, q, { 'max-length': 1, 'dead-letter-exchange': dl.exchange });
    const dead = [];
    for (;;) {
      const m = await ch.get(dl.queue, { noAck: true });
      if (m === false) break;
      dead.push(m);
    }
    expect(dead.map((m) => m.content.toString())).toEqual(['a', 'b']);
    expect((dead[0]?.properties.headers?.['x-death'] as { reason: string }[])[0]?.reason).toBe('maxlen');
    expect(await drain(ch, q)).toEqual(['c']);
    await vhost().policies.delete(q);
  });

  it('under reject-publish a lower max-length keeps what is there and refuses new messages', async () => {
    const ch = await confirmChannel(await b.connect());
    const q = uniq('live-rp');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-overflow': 'reject-publish' } });
    expect(await publishAll(ch, q, ['1', '2', '3', '4', '5'])).toEqual(['ack', 'ack', 'ack', 'ack', 'ack']);
    await put(q, q, { 'max-length': 2 });
    expect((await ch.checkQueue(q)).messageCount).toBe(5);
    expect(await publishAll(ch, q, ['6'])).toEqual(['nack']);
    // The policy goes: the queue takes messages again.
    await vhost().policies.delete(q);
    expect(await publishAll(ch, q, ['7'])).toEqual(['ack']);
  });

  it('a dead-letter exchange added by a policy receives later rejections; removed, they are dropped again', async () => {
    const ch = await channel(await b.connect());
    const dl = await sink(ch, 'live-rej');
    const q = uniq('live-rej-src');
    await ch.assertQueue(q, { durable: false });
    const rejectOne = async (body: string): Promise<void> => {
      ch.sendToQueue(q, Buffer.from(body));
      await sync(ch);
      const m = await ch.get(q);
      if (m === false) throw new Error('no message');
      ch.nack(m, false, false);
      await sync(ch);
    };
    await rejectOne('before');
    expect((await ch.checkQueue(dl.queue)).messageCount).toBe(0);
    await put(q, q, { 'dead-letter-exchange': dl.exchange });
    await rejectOne('during');
    await vhost().policies.delete(q);
    await rejectOne('after');
    const got = await ch.get(dl.queue, { noAck: true });
    expect(got !== false && got.content.toString()).toBe('during');
    expect(got !== false && (got.properties.headers?.['x-death'] as { reason: string }[])[0]?.reason).toBe('rejected');
    expect(await ch.get(dl.queue, { noAck: true })).toBe(false);
  });

  it('a message-ttl policy expires messages published after it, on the clock, without traffic', async () => {
    const ch = await confirmChannel(await b.connect());
    const q = uniq('live-ttl');
    await ch.assertQueue(q, { durable: false });
    await publishAll(ch, q, ['old']);
    await put(q, q, { 'message-ttl': 1000 });
    await publishAll(ch, q, ['new1', 'new2']);
    const queue = vhost().queues.get(q);
    clock.advance(500);
    // The head has no deadline (published before the policy); expiry goes from the head only, as in RabbitMQ.
    const head = await ch.get(q, { noAck: true });
    expect(head !== false && head.content.toString()).toBe('old');
    expect(queue?.depth).toBe(2);
    clock.advance(499);
    expect(queue?.depth).toBe(2);
    clock.advance(2);
    // The expiry timer removed them: depth reads without expiring anything itself.
    expect(queue?.depth).toBe(0);
    await vhost().policies.delete(q);
    await publishAll(ch, q, ['kept']);
    clock.advance(5000);
    expect(await drain(ch, q)).toEqual(['kept']);
  });

  it('an expires policy restarts the idle countdown when it changes, and its removal cancels it', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('live-exp');
    await ch.assertQueue(q, { durable: false });
    clock.advance(3000);
    await put(q, q, { expires: 5000 });
    // Counted from the policy change, not from the declare.
    clock.advance(4000);
    expect(vhost().queues.has(q)).toBe(true);
    await put(q, q, { expires: 60_000 });
    clock.advance(4000);
    expect(vhost().queues.has(q)).toBe(true);
    await vhost().policies.delete(q);
    clock.advance(120_000);
    expect(vhost().queues.has(q)).toBe(true);
    await put(q, q, { expires: 1000 });
    clock.advance(999);
    expect(vhost().queues.has(q)).toBe(true);
    clock.advance(2);
    expect(vhost().queues.has(q)).toBe(false);
    await vhost().policies.delete(q);
  });

  it('the lower of x-expires and the policy wins, live', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('live-exp-arg');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 2000 } });
    await put(q, q, { expires: 50_000 });
    clock.advance(2001);
    expect(vhost().queues.has(q)).toBe(false);
    await vhost().policies.delete(q);
  });

  it('a consumer-timeout policy closes the channel of a consumer that holds a delivery too long', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const q = uniq('live-ct');
    await ch.assertQueue(q, { durable: false });
    await put(q, q, { 'consumer-timeout': 2000 });
    let delivered!: () => void;
    const got = new Promise<void>((r) => (delivered = r));
    await ch.consume(q, () => delivered(), { noAck: false });
    ch.sendToQueue(q, Buffer.from('held'));
    await got;
    const closed = channelClosed(ch, 3000);
    clock.advance(2000 + CHECK_MS + 1);
    const err = await closed;
    expect(err.code).toBe(406);
    expect(err.message).toContain('Timeout value used: 2000 ms');
    await vhost().policies.delete(q);
  });

  it('a delivery-limit policy dead-letters a message returned once too often', async () => {
    const ch = await channel(await b.connect());
    const dl = await sink(ch, 'live-dl');
    const q = uniq('live-dl-src');
    await ch.assertQueue(q, { durable: false });
    await put(q, q, { 'delivery-limit': 1, 'dead-letter-exchange': dl.exchange });
    ch.sendToQueue(q, Buffer.from('poison'));
    await sync(ch);
    for (let i = 0; i < 2; i++) {
      const m = await ch.get(q);
      if (m === false) throw new Error(`no delivery ${i + 1}`);
      ch.nack(m, false, true);
      await sync(ch);
    }
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
    const dead = await ch.get(dl.queue, { noAck: true });
    expect(dead !== false && (dead.properties.headers?.['x-death'] as { reason: string }[])[0]?.reason).toBe('delivery_limit');
    await vhost().policies.delete(q);
  });

  it('an alternate-exchange policy catches unroutable messages until it is deleted', async () => {
    const ch = await channel(await b.connect());
    const alt = await sink(ch, 'live-ae');
    const src = uniq('live-ae-src');
    await ch.assertExchange(src, 'direct', { durable: false });
    await put(src, src, { 'alternate-exchange': alt.exchange }, { 'apply-to': 'exchanges' });
    ch.publish(src, 'nowhere', Buffer.from('caught'));
    await sync(ch);
    await vhost().policies.delete(src);
    const returned = new Promise<string>((resolve) => ch.once('return', (m: amqplib.Message) => resolve(m.content.toString())));
    ch.publish(src, 'nowhere', Buffer.from('returned'), { mandatory: true });
    expect(await returned).toBe('returned');
    expect(await drain(ch, alt.queue)).toEqual(['caught']);
  });

  it('an operator policy caps what the user policy allows, live', async () => {
    const ch = await confirmChannel(await b.connect());
    const q = uniq('live-op');
    await ch.assertQueue(q, { durable: false });
    await put(q, q, { 'max-length': 10 });
    await publishAll(ch, q, ['1', '2', '3', '4', '5']);
    await vhost().operatorPolicies.put('cap', policySpecFromJson({ pattern: exact(q), definition: { 'max-length': 3 } }));
    expect((await ch.checkQueue(q)).messageCount).toBe(3);
    const queue = vhost().queues.get(q);
    expect([queue?.policyName, queue?.operatorPolicyName]).toEqual([q, 'cap']);
    expect(queue?.effectivePolicyDefinition()).toEqual({ 'max-length': 3 });
    await vhost().operatorPolicies.delete('cap');
    await vhost().policies.delete(q);
  });
});
