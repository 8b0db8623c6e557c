// Dead-lettering: x-dead-letter-exchange / -routing-key, the reasons, the exact x-death
// history, x-first/last-death headers, CC handling, cycle detection, and broker counters.

import { describe, it, expect } from 'vitest';
import { Connection as RcConnection } from 'rabbitmq-client';
import { useBroker } from '../helpers/broker.js';
import { ManualClock } from '../../src/util/clock.js';
import { Message } from '../../src/broker/message.js';
import { channel, collect, drain, messageCount, sleep, uniq, waitFor, xDeath, type XDeath } from './helpers.js';

const b = useBroker();
const clock = new ManualClock();
const manual = useBroker({ clock });

function dlArgs(dlx: string, dlrk?: string): Record<string, unknown> {
  return dlrk === undefined ? { 'x-dead-letter-exchange': dlx } : { 'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': dlrk };
}

function deadLettered(reason: string): number {
  return b.running.broker.metrics.deadLettered.get(reason) ?? 0;
}

describe('reason rejected', () => {
  it('basic.reject requeue=false: dead-lettered with the exact x-death entry and x-first/last-death headers', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('src');
    const dlq = uniq('dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, { exclusive: true, arguments: dlArgs('', dlq) });
    ch.sendToQueue(q, Buffer.from('payload'), {
      contentType: 'text/plain',
      correlationId: 'c-1',
      messageId: 'm-1',
      priority: 3,
      headers: { app: 'x', n: 7 },
    });
    const m = await waitFor(() => ch.get(q));
    const before = Math.floor(Date.now() / 1000);
    ch.reject(m, false);
    const dl = await waitFor(() => ch.get(dlq, { noAck: true }));
    const after = Math.ceil(Date.now() / 1000);

    expect(dl.content.toString()).toBe('payload');
    expect(dl.fields.exchange).toBe('');
    expect(dl.fields.routingKey).toBe(dlq);
    expect(dl.fields.redelivered).toBe(false);
    expect(dl.properties).toMatchObject({ contentType: 'text/plain', correlationId: 'c-1', messageId: 'm-1', priority: 3 });
    const h = dl.properties.headers as Record<string, unknown>;
    expect(h['app']).toBe('x');
    expect(h['n']).toBe(7);
    const deaths = xDeath(dl);
    expect(deaths).toHaveLength(1);
    const d = deaths[0] as XDeath;
    expect(Object.keys(d).sort()).toEqual(['count', 'exchange', 'queue', 'reason', 'routing-keys', 'time']);
    expect(d).toMatchObject({ count: 1, reason: 'rejected', queue: q, exchange: '', 'routing-keys': [q] });
    expect(d.time['!']).toBe('timestamp');
    expect(d.time.value).toBeGreaterThanOrEqual(before - 1);
    expect(d.time.value).toBeLessThanOrEqual(after);
    expect(h['x-first-death-queue']).toBe(q);
    expect(h['x-first-death-reason']).toBe('rejected');
    expect(h['x-first-death-exchange']).toBe('');
    expect(h['x-last-death-queue']).toBe(q);
    expect(h['x-last-death-reason']).toBe('rejected');
    expect(h['x-last-death-exchange']).toBe('');
    expect(await messageCount(ch, q)).toBe(0);
  });

  it('basic.nack requeue=false multiple=true dead-letters every covered message, in order', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('src');
    const dlq = uniq('dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, { exclusive: true, arguments: dlArgs('', dlq) });
    for (const s of ['a', 'b', 'c']) ch.sendToQueue(q, Buffer.from(s));
    const { got } = await collect(ch, q);
    await waitFor(() => got.length === 3);
    ch.nack(got[2]!.msg, true, false);
    await waitFor(async () => (await messageCount(ch, dlq)) === 3);
    const out = [];
    for (let i = 0; i < 3; i++) {
      const m = await ch.get(dlq, { noAck: true });
      if (m === false) throw new Error('missing');
      out.push(m.content.toString());
      expect(xDeath(m)[0]).toMatchObject({ reason: 'rejected', queue: q, count: 1 });
    }
    expect(out).toEqual(['a', 'b', 'c']);
  });

  it('a message published to an exchange keeps that exchange in x-death and is routed by its own key when no DL routing key is set', async () => {
    const ch = await channel(await b.connect());
    const src = uniq('src-x');
    const dlx = uniq('dlx');
    const q = uniq('src');
    const dlq = uniq('dlq');
    await ch.assertExchange(src, 'direct', { autoDelete: true });
    await ch.assertExchange(dlx, 'topic', { autoDelete: true });
    await ch.assertQueue(q, { exclusive: true, arguments: dlArgs(dlx) });
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.bindQueue(q, src, 'orders.new');
    await ch.bindQueue(dlq, dlx, 'orders.#');
    ch.publish(src, 'orders.new', Buffer.from('o1'));
    const m = await waitFor(() => ch.get(q));
    ch.nack(m, false, false);
    const dl = await waitFor(() => ch.get(dlq, { noAck: true }));
    expect(dl.fields.exchange).toBe(dlx);
    expect(dl.fields.routingKey).toBe('orders.new');
    expect(xDeath(dl)[0]).toMatchObject({ exchange: src, 'routing-keys': ['orders.new'], queue: q, reason: 'rejected' });
    expect(dl.properties.headers?.['x-first-death-exchange']).toBe(src);
  });

  it('a reject with requeue=true is not dead-lettered', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('src');
    const dlq = uniq('dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, { exclusive: true, arguments: dlArgs('', dlq) });
    ch.sendToQueue(q, Buffer.from('a'));
    const m = await waitFor(() => ch.get(q));
    ch.reject(m, true);
    const again = await waitFor(() => ch.get(q, { noAck: true }));
    expect(again.fields.redelivered).toBe(true);
    expect(again.properties.headers?.['x-death']).toBeUndefined();
    expect(await messageCount(ch, dlq)).toBe(0);
  });

  it('purge and queue.delete do not dead-letter', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('src');
    const dlq = uniq('dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, { exclusive: true, arguments: dlArgs('', dlq) });
    ch.sendToQueue(q, Buffer.from('a'));
    ch.sendToQueue(q, Buffer.from('b'));
    await ch.checkQueue(q);
    expect((await ch.purgeQueue(q)).messageCount).toBe(2);
    ch.sendToQueue(q, Buffer.from('c'));
    await ch.checkQueue(q);
    await ch.deleteQueue(q);
    await sleep(10);
    expect(await messageCount(ch, dlq)).toBe(0);
  });

  it('a missing dead-letter exchange drops the message silently', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('src');
    await ch.assertQueue(q, { exclusive: true, arguments: dlArgs(uniq('no-such-dlx')) });
    const dropped = b.running.broker.metrics.deadLetterDropped;
    ch.sendToQueue(q, Buffer.from('a'));
    const m = await waitFor(() => ch.get(q));
    ch.reject(m, false);
    await waitFor(() => b.running.broker.metrics.deadLetterDropped === dropped + 1);
    expect(await messageCount(ch, q)).toBe(0);
  });

  it('x-dead-letter-routing-key without x-dead-letter-exchange is refused with 406', async () => {
    const conn = await b.connect();
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    const err = await ch.assertQueue(uniq('bad'), { arguments: { 'x-dead-letter-routing-key': 'k' } }).then(
      () => null,
      (e: { code: number; message: string }) => e,
    );
    expect(err?.code).toBe(406);
    expect(err?.message).toMatch(/x-dead-letter-routing-key/);
  });
});

describe('reason expired', () => {
  it('per-message expiration: x-death carries original-expiration and the expiration property is removed', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('src');
    const dlq = uniq('dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, { exclusive: true, arguments: dlArgs('', dlq) });
    ch.sendToQueue(q, Buffer.from('e'), { expiration: '30', messageId: 'exp' });
    const dl = await waitFor(() => ch.get(dlq, { noAck: true }), 1000);
    expect(dl.properties.expiration).toBeUndefined();
    expect(dl.properties.messageId).toBe('exp');
    const d = xDeath(dl);
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ reason: 'expired', queue: q, count: 1, exchange: '', 'routing-keys': [q], 'original-expiration': '30' });
    expect(dl.properties.headers?.['x-first-death-reason']).toBe('expired');
    expect(dl.properties.headers?.['x-last-death-reason']).toBe('expired');
  });

  it('queue x-message-ttl: dead-lettered without original-expiration, by the head timer (no traffic needed)', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('src');
    const dlq = uniq('dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, { exclusive: true, arguments: { ...dlArgs('', dlq), 'x-message-ttl': 30 } });
    const { got } = await collect(ch, dlq, { noAck: true });
    const sent = Date.now();
    ch.sendToQueue(q, Buffer.from('t'));
    await waitFor(() => got.length === 1, 1000);
    expect(got[0]!.at - sent).toBeGreaterThanOrEqual(25);
    const d = xDeath(got[0]!.msg);
    expect(d[0]).toMatchObject({ reason: 'expired', queue: q, count: 1 });
    expect(d[0]!['original-expiration']).toBeUndefined();
  });

  it('a rejected message that had an expiration also loses it and records original-expiration', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('src');
    const dlq = uniq('dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, { exclusive: true, arguments: dlArgs('', dlq) });
    ch.sendToQueue(q, Buffer.from('r'), { expiration: '60000' });
    const m = await waitFor(() => ch.get(q));
    ch.reject(m, false);
    const dl = await waitFor(() => ch.get(dlq, { noAck: true }));
    expect(dl.properties.expiration).toBeUndefined();
    expect(xDeath(dl)[0]).toMatchObject({ reason: 'rejected', 'original-expiration': '60000' });
  });

  it('expiry observed through basic.get with a manual clock dead-letters the head', async () => {
    const ch = await channel(await manual.connect());
    const q = uniq('src');
    const dlq = uniq('dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, { exclusive: true, arguments: { ...dlArgs('', dlq), 'x-message-ttl': 5000 } });
    ch.sendToQueue(q, Buffer.from('old'));
    await ch.checkQueue(q);
    clock.advance(5001);
    expect(await ch.get(q)).toBe(false);
    const dl = await ch.get(dlq, { noAck: true });
    if (dl === false) throw new Error('not dead-lettered');
    expect(xDeath(dl)[0]).toMatchObject({ reason: 'expired', queue: q });
  });
});

describe('CC and routing keys', () => {
  it('with a DL routing key: the message goes only there, CC is removed, x-death keeps the original keys', async () => {
    const ch = await channel(await b.connect());
    const ex = uniq('cc-x');
    const dlx = uniq('cc-dlx');
    const q = uniq('src');
    const dlq = uniq('dlq');
    const other = uniq('other');
    await ch.assertExchange(ex, 'direct', { autoDelete: true });
    await ch.assertExchange(dlx, 'direct', { autoDelete: true });
    await ch.assertQueue(q, { exclusive: true, arguments: dlArgs(dlx, 'dead') });
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(other, { exclusive: true });
    await ch.bindQueue(q, ex, 'main');
    await ch.bindQueue(dlq, dlx, 'dead');
    await ch.bindQueue(other, dlx, 'copy');
    await ch.bindQueue(other, dlx, 'main');
    ch.publish(ex, 'main', Buffer.from('x'), { headers: { CC: ['copy'], keep: 1 } });
    const m = await waitFor(() => ch.get(q));
    expect(m.properties.headers?.['CC']).toEqual(['copy']);
    ch.reject(m, false);
    const dl = await waitFor(() => ch.get(dlq, { noAck: true }));
    expect(dl.fields.routingKey).toBe('dead');
    expect(dl.properties.headers?.['CC']).toBeUndefined();
    expect(dl.properties.headers?.['keep']).toBe(1);
    expect(xDeath(dl)[0]?.['routing-keys']).toEqual(['main', 'copy']);
    await sleep(10);
    expect(await messageCount(ch, other)).toBe(0);
  });

  it('without a DL routing key: the original routing key and CC keys route the dead letter, CC stays', async () => {
    const ch = await channel(await b.connect());
    const ex = uniq('cc-x');
    const dlx = uniq('cc-dlx');
    const q = uniq('src');
    const byMain = uniq('by-main');
    const byCc = uniq('by-cc');
    await ch.assertExchange(ex, 'direct', { autoDelete: true });
    await ch.assertExchange(dlx, 'direct', { autoDelete: true });
    await ch.assertQueue(q, { exclusive: true, arguments: dlArgs(dlx) });
    await ch.assertQueue(byMain, { exclusive: true });
    await ch.assertQueue(byCc, { exclusive: true });
    await ch.bindQueue(q, ex, 'main');
    await ch.bindQueue(byMain, dlx, 'main');
    await ch.bindQueue(byCc, dlx, 'copy');
    ch.publish(ex, 'main', Buffer.from('x'), { headers: { CC: ['copy'] } });
    const m = await waitFor(() => ch.get(q));
    ch.reject(m, false);
    const a = await waitFor(() => ch.get(byMain, { noAck: true }));
    const c = await waitFor(() => ch.get(byCc, { noAck: true }));
    for (const dl of [a, c]) {
      expect(dl.fields.routingKey).toBe('main');
      expect(dl.properties.headers?.['CC']).toEqual(['copy']);
      expect(xDeath(dl)[0]?.['routing-keys']).toEqual(['main', 'copy']);
    }
  });

  it('BCC keys are not in x-death routing-keys (BCC never reaches the queue)', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('src');
    const dlq = uniq('dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, { exclusive: true, arguments: dlArgs('', dlq) });
    ch.sendToQueue(q, Buffer.from('x'), { headers: { CC: ['c1'], BCC: ['b1'] } });
    const m = await waitFor(() => ch.get(q));
    expect(m.properties.headers?.['BCC']).toBeUndefined();
    ch.reject(m, false);
    const dl = await waitFor(() => ch.get(dlq, { noAck: true }));
    expect(xDeath(dl)[0]?.['routing-keys']).toEqual([q, 'c1']);
  });
});

describe('x-death history across cycles', () => {
  it('retry loop (reject → wait queue → expire → back): one entry per queue+reason, counts incremented, newest first', async () => {
    const ch = await channel(await b.connect());
    const work = uniq('work');
    const wait = uniq('wait');
    await ch.assertQueue(wait, { exclusive: true, arguments: { ...dlArgs('', work), 'x-message-ttl': 10 } });
    await ch.assertQueue(work, { exclusive: true, arguments: dlArgs('', wait) });
    const seen: { deaths: XDeath[] | undefined; headers: Record<string, unknown> }[] = [];
    await ch.consume(work, (m) => {
      if (m === null) return;
      const h = (m.properties.headers ?? {}) as Record<string, unknown>;
      seen.push({ deaths: h['x-death'] as XDeath[] | undefined, headers: h });
      if (seen.length < 4) ch.reject(m, false);
      else ch.ack(m);
    });
    ch.sendToQueue(work, Buffer.from('job'), { expiration: '60000' });
    await waitFor(() => seen.length === 4, 1500);
    expect(seen[0]!.deaths).toBeUndefined();
    for (let n = 1; n <= 3; n++) {
      const d = seen[n]!.deaths as XDeath[];
      expect(d).toHaveLength(2);
      // Last death was the expiry in the wait queue: newest first.
      expect(d[0]).toMatchObject({ queue: wait, reason: 'expired', count: n, exchange: '', 'routing-keys': [wait] });
      expect(d[1]).toMatchObject({ queue: work, reason: 'rejected', count: n, exchange: '', 'routing-keys': [work] });
      expect(seen[n]!.headers['x-first-death-queue']).toBe(work);
      expect(seen[n]!.headers['x-first-death-reason']).toBe('rejected');
      expect(seen[n]!.headers['x-last-death-queue']).toBe(wait);
      expect(seen[n]!.headers['x-last-death-reason']).toBe('expired');
    }
  });

  it('an incremented x-death entry keeps the time and original-expiration of its first death (RabbitMQ 3.10)', async () => {
    const ch = await channel(await manual.connect());
    const q = uniq('self-reject-time');
    await ch.assertQueue(q, { exclusive: true, arguments: dlArgs('', q) });
    ch.sendToQueue(q, Buffer.from('x'), { expiration: '600000' });
    const firstDeath = Math.floor(clock.now() / 1000);
    const m1 = await waitFor(() => ch.get(q));
    ch.reject(m1, false);
    const m2 = await waitFor(() => ch.get(q));
    expect(xDeath(m2)).toEqual([
      { count: 1, reason: 'rejected', queue: q, time: { '!': 'timestamp', value: firstDeath }, exchange: '', 'routing-keys': [q], 'original-expiration': '600000' },
    ]);
    clock.advance(7000);
    ch.reject(m2, false);
    const m3 = await waitFor(() => ch.get(q, { noAck: true }));
    // Observed on RabbitMQ 3.10: only count changes; time and original-expiration stay from the first death.
    expect(xDeath(m3)).toEqual([
      { count: 2, reason: 'rejected', queue: q, time: { '!': 'timestamp', value: firstDeath }, exchange: '', 'routing-keys': [q], 'original-expiration': '600000' },
    ]);
  });

  it('x-death from another queue keeps its place below the newest entry', async () => {
    const ch = await channel(await b.connect());
    const first = uniq('first');
    const second = uniq('second');
    const dlq = uniq('dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(second, { exclusive: true, arguments: dlArgs('', dlq) });
    await ch.assertQueue(first, { exclusive: true, arguments: { ...dlArgs('', second), 'x-message-ttl': 10 } });
    ch.sendToQueue(first, Buffer.from('x'));
    const m = await waitFor(() => ch.get(second), 1000);
    ch.reject(m, false);
    const dl = await waitFor(() => ch.get(dlq, { noAck: true }));
    const d = xDeath(dl);
    expect(d.map((e) => [e.queue, e.reason, e.count])).toEqual([
      [second, 'rejected', 1],
      [first, 'expired', 1],
    ]);
    expect(dl.properties.headers?.['x-first-death-queue']).toBe(first);
    expect(dl.properties.headers?.['x-first-death-reason']).toBe('expired');
    expect(dl.properties.headers?.['x-last-death-queue']).toBe(second);
    expect(dl.properties.headers?.['x-last-death-reason']).toBe('rejected');
  });
});

describe('cycles', () => {
  it('a queue dead-lettering expired messages to itself drops them instead of looping (manual clock)', async () => {
    const ch = await channel(await manual.connect());
    const q = uniq('self');
    await ch.assertQueue(q, { exclusive: true, arguments: { ...dlArgs('', q), 'x-message-ttl': 10 } });
    const metrics = manual.running.broker.metrics;
    const expiredBefore = metrics.deadLettered.get('expired') ?? 0;
    const droppedBefore = metrics.deadLetterDropped;
    ch.sendToQueue(q, Buffer.from('loop'));
    await ch.checkQueue(q);
    clock.advance(11);
    expect(metrics.deadLetterDropped).toBe(droppedBefore + 1);
    clock.advance(100); // a loop would expire it again and again
    expect(metrics.deadLetterDropped).toBe(droppedBefore + 1);
    expect(metrics.deadLettered.get('expired') ?? 0).toBe(expiredBefore);
    expect(await messageCount(ch, q)).toBe(0);
  });

  it('a two-queue expiry cycle goes round once and is then dropped (manual clock)', async () => {
    const ch = await channel(await manual.connect());
    const a = uniq('ca');
    const bq = uniq('cb');
    await ch.assertQueue(a, { exclusive: true, arguments: { ...dlArgs('', bq), 'x-message-ttl': 10 } });
    await ch.assertQueue(bq, { exclusive: true, arguments: { ...dlArgs('', a), 'x-message-ttl': 10 } });
    const metrics = manual.running.broker.metrics;
    const droppedBefore = metrics.deadLetterDropped;
    const expiredBefore = metrics.deadLettered.get('expired') ?? 0;
    ch.sendToQueue(a, Buffer.from('loop'));
    await ch.checkQueue(a);
    clock.advance(11); // expires from a into b
    expect(await messageCount(ch, bq)).toBe(1);
    clock.advance(11); // expires from b: back to a would close the cycle, so dropped
    expect(metrics.deadLetterDropped).toBe(droppedBefore + 1);
    clock.advance(100);
    expect(metrics.deadLetterDropped).toBe(droppedBefore + 1);
    expect(metrics.deadLettered.get('expired') ?? 0).toBe(expiredBefore + 1); // a → b once
    expect(await messageCount(ch, a)).toBe(0);
    expect(await messageCount(ch, bq)).toBe(0);
  });

  it('a queue dead-lettering rejected messages to itself is not a cycle: the message comes back with count+1', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('self-reject');
    await ch.assertQueue(q, { exclusive: true, arguments: dlArgs('', q) });
    ch.sendToQueue(q, Buffer.from('again'));
    for (let n = 1; n <= 3; n++) {
      const m = await waitFor(() => ch.get(q));
      ch.reject(m, false);
      const back = await waitFor(() => ch.get(q));
      expect(back.fields.redelivered).toBe(false);
      expect(xDeath(back)).toEqual([expect.objectContaining({ queue: q, reason: 'rejected', count: n })]);
      ch.nack(back, false, true); // requeue for the next round
    }
  });
});

describe('broker counters', () => {
  it('metrics.deadLettered counts dead-lettered messages by reason', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('src');
    const dlq = uniq('dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, { exclusive: true, arguments: { ...dlArgs('', dlq), 'x-max-length': 2 } });
    const before = { rejected: deadLettered('rejected'), expired: deadLettered('expired'), maxlen: deadLettered('maxlen') };
    ch.sendToQueue(q, Buffer.from('r1'));
    ch.sendToQueue(q, Buffer.from('r2'));
    const m1 = await waitFor(() => ch.get(q));
    const m2 = await waitFor(() => ch.get(q));
    ch.reject(m1, false);
    ch.nack(m2, false, false);
    ch.sendToQueue(q, Buffer.from('e'), { expiration: '5' });
    await waitFor(async () => (await messageCount(ch, dlq)) === 3, 1000); // r1, r2, then e by the head timer
    for (const s of ['k1', 'k2', 'k3']) ch.sendToQueue(q, Buffer.from(s)); // k1 overflows
    await waitFor(async () => (await messageCount(ch, dlq)) === 4, 1000);
    expect(deadLettered('rejected')).toBe(before.rejected + 2);
    expect(deadLettered('expired')).toBe(before.expired + 1);
    expect(deadLettered('maxlen')).toBe(before.maxlen + 1);
    expect(await drain(ch, dlq)).toEqual(['r1', 'r2', 'e', 'k1']);
  });
});

describe('rabbitmq-client', () => {
  it('nack requeue=false dead-letters with x-death (rabbitmq-client decoding)', async () => {
    const rc = new RcConnection({ url: b.url, retryLow: 10, retryHigh: 50 });
    try {
      const ch = await rc.acquire();
      const q = uniq('rc-src');
      const dlq = uniq('rc-dlq');
      await ch.queueDeclare({ queue: dlq, exclusive: true });
      await ch.queueDeclare({ queue: q, exclusive: true, arguments: dlArgs('', dlq) });
      await ch.basicPublish({ routingKey: q, headers: { h: 'v' }, expiration: '60000' }, 'body');
      const m = await waitFor(() => ch.basicGet({ queue: q }));
      ch.basicNack({ deliveryTag: m.deliveryTag, requeue: false });
      const dl = await waitFor(() => ch.basicGet({ queue: dlq, noAck: true }));
      expect(dl.expiration).toBeUndefined();
      const h = dl.headers as Record<string, unknown>;
      expect(h['h']).toBe('v');
      const d = h['x-death'] as Record<string, unknown>[];
      expect(d).toHaveLength(1);
      expect(d[0]).toMatchObject({ count: 1, reason: 'rejected', queue: q, exchange: '', 'routing-keys': [q], 'original-expiration': '60000' });
      expect(h['x-first-death-queue']).toBe(q);
      await ch.close();
    } finally {
      await rc.close();
    }
  });
});

describe('a stored message whose header cannot be decoded', () => {
  it('is dropped and counted when it expires into a DLX, and the broker keeps serving', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('damaged-src');
    const dlq = uniq('damaged-dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, { exclusive: true, arguments: { ...dlArgs('', dlq), 'x-message-ttl': 20 } });
    // A headers table whose lengths fit but whose value tag is unknown: publish would refuse it, so
    // it is put in the queue directly, as a damaged stored message would be.
    const table = Buffer.from([1, 0x61, 0x5a, 0, 0, 0, 0]);
    const header = Buffer.concat([Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x20, 0x00, 0, 0, 0, table.length]), table]);
    const queue = b.running.broker.vhost('/')?.queues.get(q);
    expect(queue).toBeDefined();
    const dropped = b.running.broker.metrics.deadLetterDropped;
    queue?.enqueue(new Message('', q, header, [Buffer.from('x')], 1), undefined);
    await waitFor(async () => b.running.broker.metrics.deadLetterDropped === dropped + 1);
    expect(await messageCount(ch, q)).toBe(0);
    expect(await messageCount(ch, dlq)).toBe(0);
    ch.sendToQueue(dlq, Buffer.from('still serving'));
    expect(await drain(ch, dlq)).toEqual(['still serving']);
  });
});
