// Message deduplication as the rabbitmq-message-deduplication plugin does it: per queue
// (x-message-deduplication queue argument) and per exchange (type x-message-deduplication).

import { describe, it, expect } from 'vitest';
import type * as amqplib from 'amqplib';
import { useBroker } from '../helpers/broker.js';
import { ManualClock } from '../../src/util/clock.js';
import { channel, channelClosed, confirmChannel, drain, messageCount, publishConfirmed, replyText, uniq, waitFor } from './helpers.js';

const b = useBroker();
const clock = new ManualClock();
const manual = useBroker({ clock });

const key = (k: string): amqplib.Options.Publish => ({ headers: { 'x-deduplication-header': k } });

describe('queue-level deduplication (x-message-deduplication: true)', () => {
  async function dedupQueue(ch: amqplib.Channel, extra: Record<string, unknown> = {}): Promise<string> {
    const q = uniq('dq');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-message-deduplication': true, ...extra } });
    return q;
  }

  it('a duplicate of a message still in the queue is confirmed but not enqueued', async () => {
    const ch = await confirmChannel(await b.connect());
    const q = await dedupQueue(ch);
    expect(await publishConfirmed(ch, '', q, 'first', key('k1'))).toBe('ack');
    expect(await publishConfirmed(ch, '', q, 'dup', key('k1'))).toBe('ack');
    expect(await publishConfirmed(ch, '', q, 'other', key('k2'))).toBe('ack');
    expect(await messageCount(ch, q)).toBe(2);
    expect(await drain(ch, q)).toEqual(['first', 'other']);
  });

  it('messages without the header are never duplicates', async () => {
    const ch = await confirmChannel(await b.connect());
    const q = await dedupQueue(ch);
    for (let i = 0; i < 3; i++) expect(await publishConfirmed(ch, '', q, 'same')).toBe('ack');
    expect(await messageCount(ch, q)).toBe(3);
  });

  it('while the first is delivered but unacked the key is still taken; after the ack it is free', async () => {
    const ch = await confirmChannel(await b.connect());
    const q = await dedupQueue(ch);
    await publishConfirmed(ch, '', q, 'v1', key('k'));
    const m = await ch.get(q);
    if (m === false) throw new Error('empty');
    expect(await publishConfirmed(ch, '', q, 'v2', key('k'))).toBe('ack');
    expect(await messageCount(ch, q)).toBe(0);
    ch.ack(m);
    await ch.checkQueue(q);
    expect(await publishConfirmed(ch, '', q, 'v3', key('k'))).toBe('ack');
    expect(await drain(ch, q)).toEqual(['v3']);
  });

  it('a no-ack get frees the key at once', async () => {
    const ch = await confirmChannel(await b.connect());
    const q = await dedupQueue(ch);
    await publishConfirmed(ch, '', q, 'v1', key('k'));
    expect(await drain(ch, q)).toEqual(['v1']);
    await publishConfirmed(ch, '', q, 'v2', key('k'));
    expect(await drain(ch, q)).toEqual(['v2']);
  });

  it('a requeued message still holds its key', async () => {
    const ch = await confirmChannel(await b.connect());
    const q = await dedupQueue(ch);
    await publishConfirmed(ch, '', q, 'v1', key('k'));
    const m = await ch.get(q);
    if (m === false) throw new Error('empty');
    ch.nack(m, false, true);
    await ch.checkQueue(q);
    await publishConfirmed(ch, '', q, 'v2', key('k'));
    expect(await drain(ch, q)).toEqual(['v1']);
  });

  it('a rejected (dropped) or expired message frees its key', async () => {
    const ch = await confirmChannel(await b.connect());
    const q = await dedupQueue(ch);
    await publishConfirmed(ch, '', q, 'v1', key('k'));
    const m = await ch.get(q);
    if (m === false) throw new Error('empty');
    ch.nack(m, false, false);
    await ch.checkQueue(q);
    await publishConfirmed(ch, '', q, 'v2', { ...key('k'), expiration: '10' });
    await waitFor(async () => (await messageCount(ch, q)) === 0, 1000);
    await publishConfirmed(ch, '', q, 'v3', key('k'));
    expect(await drain(ch, q)).toEqual(['v3']);
  });

  it('a message dropped by x-max-length frees its key', async () => {
    const ch = await confirmChannel(await b.connect());
    const q = await dedupQueue(ch, { 'x-max-length': 1 });
    await publishConfirmed(ch, '', q, 'a', key('ka'));
    await publishConfirmed(ch, '', q, 'b', key('kb')); // drops 'a'
    await publishConfirmed(ch, '', q, 'a2', key('ka'));
    expect(await drain(ch, q)).toEqual(['a2']);
  });

  it('purge frees every key', async () => {
    const ch = await confirmChannel(await b.connect());
    const q = await dedupQueue(ch);
    await publishConfirmed(ch, '', q, 'a', key('ka'));
    await publishConfirmed(ch, '', q, 'b', key('kb'));
    expect((await ch.purgeQueue(q)).messageCount).toBe(2);
    await publishConfirmed(ch, '', q, 'a2', key('ka'));
    await publishConfirmed(ch, '', q, 'b2', key('kb'));
    expect(await drain(ch, q)).toEqual(['a2', 'b2']);
  });

  it('a duplicate refused by the queue is not dead-lettered and does not count against x-max-length', async () => {
    const ch = await confirmChannel(await b.connect());
    const dlq = uniq('dq-dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    const q = await dedupQueue(ch, { 'x-max-length': 1, 'x-overflow': 'reject-publish', 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
    expect(await publishConfirmed(ch, '', q, 'a', key('k'))).toBe('ack');
    expect(await publishConfirmed(ch, '', q, 'a-dup', key('k'))).toBe('ack');
    expect(await publishConfirmed(ch, '', q, 'b', key('other'))).toBe('nack'); // full with 'a'
    expect(await messageCount(ch, dlq)).toBe(0);
    expect(await drain(ch, q)).toEqual(['a']);
  });
});

describe('exchange-level deduplication (type x-message-deduplication)', () => {
  async function dedupExchange(ch: amqplib.Channel, args: Record<string, unknown>): Promise<{ ex: string; q: string }> {
    const ex = uniq('dx');
    const q = uniq('dx-q');
    await ch.assertExchange(ex, 'x-message-deduplication', { autoDelete: true, arguments: args });
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindQueue(q, ex, 'ignored');
    return { ex, q };
  }

  it('duplicates are acked (not nacked) and routed nowhere; routes like fanout', async () => {
    const ch = await confirmChannel(await b.connect());
    const { ex, q } = await dedupExchange(ch, { 'x-cache-size': 10 });
    const q2 = uniq('dx-q2');
    await ch.assertQueue(q2, { exclusive: true });
    await ch.bindQueue(q2, ex, 'something-else');
    expect(await publishConfirmed(ch, ex, 'any-key', 'one', key('k1'))).toBe('ack');
    expect(await publishConfirmed(ch, ex, 'other-key', 'dup', key('k1'))).toBe('ack');
    expect(await publishConfirmed(ch, ex, 'x', 'two', key('k2'))).toBe('ack');
    expect(await publishConfirmed(ch, ex, 'x', 'plain')).toBe('ack');
    expect(await publishConfirmed(ch, ex, 'x', 'plain')).toBe('ack');
    expect(await drain(ch, q)).toEqual(['one', 'two', 'plain', 'plain']);
    expect(await drain(ch, q2)).toEqual(['one', 'two', 'plain', 'plain']);
  });

  it('unlike queue-level dedup, consuming the first does not free the key', async () => {
    const ch = await confirmChannel(await b.connect());
    const { ex, q } = await dedupExchange(ch, { 'x-cache-size': 10 });
    await publishConfirmed(ch, ex, '', 'one', key('k'));
    expect(await drain(ch, q)).toEqual(['one']);
    await publishConfirmed(ch, ex, '', 'again', key('k'));
    expect(await drain(ch, q)).toEqual([]);
  });

  it('the key header reaches consumers unchanged', async () => {
    const ch = await confirmChannel(await b.connect());
    const { ex, q } = await dedupExchange(ch, { 'x-cache-size': 10 });
    await publishConfirmed(ch, ex, '', 'one', { headers: { 'x-deduplication-header': 'k', other: 1 } });
    const m = await waitFor(() => ch.get(q, { noAck: true }));
    expect(m.properties.headers).toEqual({ 'x-deduplication-header': 'k', other: 1 });
  });

  it('x-cache-size bounds the cache: the oldest key is evicted', async () => {
    const ch = await confirmChannel(await b.connect());
    const { ex, q } = await dedupExchange(ch, { 'x-cache-size': 2 });
    for (const k of ['k1', 'k2', 'k3']) await publishConfirmed(ch, ex, '', k, key(k)); // k1 evicted
    await publishConfirmed(ch, ex, '', 'k3-dup', key('k3'));
    await publishConfirmed(ch, ex, '', 'k1-again', key('k1')); // accepted; now evicts k2
    await publishConfirmed(ch, ex, '', 'k2-again', key('k2')); // accepted; evicts k3
    await publishConfirmed(ch, ex, '', 'k1-dup', key('k1'));
    expect(await drain(ch, q)).toEqual(['k1', 'k2', 'k3', 'k1-again', 'k2-again']);
  });

  it('a mandatory duplicate is unroutable: basic.return NO_ROUTE, then ack', async () => {
    const conn = await b.connect();
    const ch = await confirmChannel(conn);
    const { ex, q } = await dedupExchange(ch, { 'x-cache-size': 10 });
    const returned: amqplib.Message[] = [];
    ch.on('return', (m: amqplib.Message) => returned.push(m));
    expect(await publishConfirmed(ch, ex, 'rk', 'one', { ...key('k'), mandatory: true })).toBe('ack');
    expect(returned).toHaveLength(0);
    expect(await publishConfirmed(ch, ex, 'rk', 'dup', { ...key('k'), mandatory: true })).toBe('ack');
    // The plugin's route/2 gives no destinations for a duplicate, so a mandatory one is returned.
    expect(returned.map((m) => { const f = m.fields as unknown as { replyCode: number; replyText: string }; return [f.replyCode, f.replyText, m.content.toString()]; })).toEqual([[312, 'NO_ROUTE', 'dup']]);
    expect(await drain(ch, q)).toEqual(['one']);
  });

  it('a missing x-cache-size is refused with 406', async () => {
    const ch = await (await b.connect()).createChannel();
    const closed = channelClosed(ch);
    await ch.assertExchange(uniq('dx-bad'), 'x-message-deduplication', { autoDelete: true }).catch(() => undefined);
    const c = await closed;
    expect(c.code).toBe(406);
    expect(replyText(c.message)).toMatch(/^PRECONDITION_FAILED - .*x-cache-size/);
  });

  it.each([0, -1, 'ten'])('an invalid x-cache-size (%j) is refused with 406', async (size) => {
    const ch = await (await b.connect()).createChannel();
    const closed = channelClosed(ch);
    await ch.assertExchange(uniq('dx-bad'), 'x-message-deduplication', { autoDelete: true, arguments: { 'x-cache-size': size } }).catch(() => undefined);
    expect((await closed).code).toBe(406);
  });

  it.each([0, -5])('x-cache-ttl %j is refused with 406 (the plugin wants an integer greater than 0)', async (ttl) => {
    const ch = await (await b.connect()).createChannel();
    const closed = channelClosed(ch);
    await ch
      .assertExchange(uniq('dx-badttl'), 'x-message-deduplication', { autoDelete: true, arguments: { 'x-cache-size': 5, 'x-cache-ttl': ttl } })
      .catch(() => undefined);
    const c = await closed;
    expect(c.code).toBe(406);
    expect(replyText(c.message)).toMatch(/x-cache-ttl/);
  });

  it('x-cache-ttl (exchange argument): a key is accepted again once its entry expired', async () => {
    const ch = await confirmChannel(await manual.connect());
    const { ex, q } = await dedupExchange(ch, { 'x-cache-size': 10, 'x-cache-ttl': 1000 });
    await publishConfirmed(ch, ex, '', 'one', key('k'));
    clock.advance(999);
    await publishConfirmed(ch, ex, '', 'dup', key('k'));
    clock.advance(2);
    await publishConfirmed(ch, ex, '', 'after-ttl', key('k'));
    await publishConfirmed(ch, ex, '', 'dup-again', key('k'));
    expect(await drain(ch, q)).toEqual(['one', 'after-ttl']);
  });

  it('x-cache-ttl message header overrides the exchange TTL', async () => {
    const ch = await confirmChannel(await manual.connect());
    const { ex, q } = await dedupExchange(ch, { 'x-cache-size': 10, 'x-cache-ttl': 100000 });
    await publishConfirmed(ch, ex, '', 'short', { headers: { 'x-deduplication-header': 's', 'x-cache-ttl': 500 } });
    await publishConfirmed(ch, ex, '', 'long', key('l'));
    clock.advance(501);
    await publishConfirmed(ch, ex, '', 'short-again', key('s'));
    await publishConfirmed(ch, ex, '', 'long-dup', key('l'));
    expect(await drain(ch, q)).toEqual(['short', 'long', 'short-again']);
  });

  it('x-cache-ttl header without an exchange TTL', async () => {
    const ch = await confirmChannel(await manual.connect());
    const { ex, q } = await dedupExchange(ch, { 'x-cache-size': 10 });
    await publishConfirmed(ch, ex, '', 'a', { headers: { 'x-deduplication-header': 'k', 'x-cache-ttl': 200 } });
    clock.advance(100);
    await publishConfirmed(ch, ex, '', 'dup', key('k'));
    clock.advance(101);
    await publishConfirmed(ch, ex, '', 'b', key('k'));
    expect(await drain(ch, q)).toEqual(['a', 'b']);
  });

  it('without confirms, duplicates are silently discarded', async () => {
    const ch = await channel(await b.connect());
    const ex = uniq('dx');
    const q = uniq('dx-q');
    await ch.assertExchange(ex, 'x-message-deduplication', { autoDelete: true, arguments: { 'x-cache-size': 5 } });
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindQueue(q, ex, '');
    for (let i = 0; i < 4; i++) ch.publish(ex, '', Buffer.from(`m${i}`), key('same'));
    await ch.checkQueue(q);
    expect(await drain(ch, q)).toEqual(['m0']);
  });
});
