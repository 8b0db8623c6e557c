// What survives a broker restart on the same data directory: durable definitions, persistent
// messages (order, properties, redelivered flag), TTL deadlines, dedup keys and delayed messages.

import { describe, expect, it } from 'vitest';
import type * as amqplib from 'amqplib';
import { Connection as RcConnection } from 'rabbitmq-client';
import type { RunningBroker } from '../../src/index.js';
import { ManualClock, type Clock } from '../../src/util/clock.js';
import type { VHost } from '../../src/broker/vhost.js';
import { channel, collect, confirmChannel, drain, messageCount, publishConfirmed, sleep, uniq, waitFor, xDeath } from './helpers.js';
import { useDataDirBrokers } from './data-dir-brokers.js';

const { dataDir, start, stop, connect } = useDataDirBrokers('warren-lifecycle');

/** Stop `r` and start a new broker on the same directory (same clock if given). */
async function restart(r: RunningBroker, dir: string, clock?: Clock): Promise<RunningBroker> {
  await stop(r);
  return start(dir, clock === undefined ? {} : { clock });
}

const persistent = (extra: amqplib.Options.Publish = {}): amqplib.Options.Publish => ({ persistent: true, ...extra });

describe('durable queues and persistent messages', { timeout: 3000 }, () => {
  it('persistent messages come back in order with their properties', async () => {
    const dir = dataDir();
    let r = await start(dir);
    const q = uniq('durable');
    {
      const ch = await confirmChannel(await connect(r));
      await ch.assertQueue(q, { durable: true });
      for (let i = 0; i < 5; i++) {
        expect(
          await publishConfirmed(ch, '', q, `m${i}`, persistent({
            contentType: 'application/json',
            contentEncoding: 'utf-8',
            headers: { i, s: 'str', nested: { a: [1, 'two'] } },
            priority: i,
            correlationId: `corr-${i}`,
            replyTo: 'reply-q',
            messageId: `id-${i}`,
            timestamp: 1_700_000_000 + i,
            type: 'kind',
            appId: 'app',
          })),
        ).toBe('ack');
      }
    }
    r = await restart(r, dir);
    const ch = await channel(await connect(r));
    expect((await ch.checkQueue(q)).messageCount).toBe(5);
    for (let i = 0; i < 5; i++) {
      const m = await ch.get(q, { noAck: true });
      if (m === false) throw new Error(`message ${i} missing`);
      expect(m.content.toString()).toBe(`m${i}`);
      expect(m.fields.redelivered).toBe(false);
      expect(m.properties).toMatchObject({
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        headers: { i, s: 'str', nested: { a: [1, 'two'] } },
        deliveryMode: 2,
        priority: i,
        correlationId: `corr-${i}`,
        replyTo: 'reply-q',
        messageId: `id-${i}`,
        timestamp: 1_700_000_000 + i,
        type: 'kind',
        appId: 'app',
      });
    }
    expect(await ch.get(q)).toBe(false);
  });

  it('transient messages, non-durable queues and exchanges are gone; durable exchanges and bindings stay', async () => {
    const dir = dataDir();
    let r = await start(dir);
    const dq = uniq('durable');
    const tq = uniq('transient-q');
    const dx = uniq('durable-x');
    const tx = uniq('transient-x');
    {
      const ch = await confirmChannel(await connect(r));
      await ch.assertQueue(dq, { durable: true });
      await ch.assertQueue(tq, { durable: false });
      await ch.assertExchange(dx, 'topic', { durable: true });
      await ch.assertExchange(tx, 'fanout', { durable: false });
      await ch.bindQueue(dq, dx, 'a.*');
      await publishConfirmed(ch, '', dq, 'persistent', persistent());
      await publishConfirmed(ch, '', dq, 'transient', { persistent: false });
      await publishConfirmed(ch, '', tq, 'in-transient-queue', persistent());
    }
    r = await restart(r, dir);
    const conn = await connect(r);
    const ch = await channel(conn);
    expect(await drain(ch, dq)).toEqual(['persistent']);
    const probeQ = await channel(conn);
    expect(await probeQ.checkQueue(tq).then(() => 200, (e: { code: number }) => e.code)).toBe(404);
    const probeX = await channel(conn);
    expect(await probeX.checkExchange(tx).then(() => 200, (e: { code: number }) => e.code)).toBe(404);
    expect(await ch.checkExchange(dx).then(() => 200)).toBe(200);
    // The durable binding still routes.
    ch.publish(dx, 'a.b', Buffer.from('routed'));
    await waitFor(async () => (await messageCount(ch, dq)) === 1);
    expect(await drain(ch, dq)).toEqual(['routed']);
  });

  it('acked messages stay acked; delivered-but-unacked ones come back redelivered, in their place', async () => {
    const dir = dataDir();
    let r = await start(dir);
    const q = uniq('unacked');
    {
      const ch = await confirmChannel(await connect(r));
      await ch.assertQueue(q, { durable: true });
      for (const s of ['a', 'b', 'c', 'd']) await publishConfirmed(ch, '', q, s, persistent());
      const a = await ch.get(q);
      const b = await ch.get(q);
      if (a === false || b === false) throw new Error('empty');
      ch.ack(a);
      await ch.checkQueue(q); // the ack has been processed; 'b' stays unacked
    }
    r = await restart(r, dir);
    const ch = await channel(await connect(r));
    const got: [string, boolean][] = [];
    for (;;) {
      const m = await ch.get(q, { noAck: true });
      if (m === false) break;
      got.push([m.content.toString(), m.fields.redelivered]);
    }
    expect(got).toEqual([
      ['b', true],
      ['c', false],
      ['d', false],
    ]);
  });

  it('queue arguments survive: redeclaring with others is inequivalent, the limits still apply', async () => {
    const dir = dataDir();
    let r = await start(dir);
    const q = uniq('args');
    const args = { 'x-max-length': 2, 'x-overflow': 'reject-publish' };
    {
      const ch = await confirmChannel(await connect(r));
      await ch.assertQueue(q, { durable: true, arguments: args });
      await publishConfirmed(ch, '', q, 'one', persistent());
    }
    r = await restart(r, dir);
    const conn = await connect(r);
    const ch = await confirmChannel(conn);
    await ch.assertQueue(q, { durable: true, arguments: args });
    expect(await publishConfirmed(ch, '', q, 'two', persistent())).toBe('ack');
    expect(await publishConfirmed(ch, '', q, 'three', persistent())).toBe('nack');
    const other = await channel(conn);
    const err = await other.assertQueue(q, { durable: true, arguments: { 'x-max-length': 3 } }).then(() => null, (e: { code: number }) => e);
    expect(err?.code).toBe(406);
    expect(await drain(ch, q)).toEqual(['one', 'two']);
  });

  it('a dead-lettered persistent message lands durably in a durable DLQ with its x-death', async () => {
    const dir = dataDir();
    let r = await start(dir);
    const q = uniq('dl-src');
    const dlq = uniq('dl-dst');
    {
      const ch = await confirmChannel(await connect(r));
      await ch.assertQueue(dlq, { durable: true });
      await ch.assertQueue(q, { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } });
      await publishConfirmed(ch, '', q, 'dead', persistent({ expiration: '60000' }));
      const m = await ch.get(q);
      if (m === false) throw new Error('empty');
      ch.reject(m, false);
      await waitFor(async () => (await messageCount(ch, dlq)) === 1);
    }
    r = await restart(r, dir);
    const ch = await channel(await connect(r));
    expect(await messageCount(ch, q)).toBe(0);
    const dl = await ch.get(dlq, { noAck: true });
    if (dl === false) throw new Error('dead letter lost in the restart');
    expect(dl.properties.deliveryMode).toBe(2);
    expect(dl.properties.expiration).toBeUndefined();
    expect(xDeath(dl)[0]).toMatchObject({ queue: q, reason: 'rejected', count: 1, 'original-expiration': '60000' });
  });

  it('quorum queues keep every message, persistent or not, and the delivery count', async () => {
    const dir = dataDir();
    let r = await start(dir);
    const q = uniq('quorum');
    {
      const ch = await confirmChannel(await connect(r));
      await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await publishConfirmed(ch, '', q, 'persistent', persistent());
      await publishConfirmed(ch, '', q, 'transient', { persistent: false });
      const m = await ch.get(q);
      if (m === false) throw new Error('empty');
      ch.nack(m, false, true); // one return before the restart
      await ch.checkQueue(q);
    }
    r = await restart(r, dir);
    const ch = await channel(await connect(r));
    const first = await ch.get(q, { noAck: true });
    if (first === false) throw new Error('empty');
    expect(first.content.toString()).toBe('persistent');
    expect(first.fields.redelivered).toBe(true);
    expect(first.properties.headers?.['x-delivery-count']).toBe(1);
    // RabbitMQ quorum queues log every message (delivery mode is ignored).
    expect(await drain(ch, q)).toEqual(['transient']);
  });

  it('a deep quorum queue keeps the delivery count of messages recovered onto disk', async () => {
    const dir = dataDir();
    // Few in memory: most of the 40 are recovered straight into the paged tail.
    let r = await start(dir, { pageAfterMessages: 8 });
    const q = uniq('quorum-deep');
    const n = 40;
    {
      const ch = await confirmChannel(await connect(r));
      await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      for (let i = 0; i < n; i++) await publishConfirmed(ch, '', q, `m${i}`, persistent());
      // Every message is returned twice.
      for (let round = 0; round < 2; round++) {
        const held: amqplib.GetMessage[] = [];
        for (let i = 0; i < n; i++) {
          const m = await ch.get(q);
          if (m === false) throw new Error('empty');
          held.push(m);
        }
        for (const m of held) ch.nack(m, false, true);
        await ch.checkQueue(q);
      }
    }
    await stop(r);
    r = await start(dir, { pageAfterMessages: 8 });
    // Recovered straight onto disk beyond the 8 in memory (no message object built for them).
    expect(r.broker.vhost('/')?.queues.get(q)?.pagedCount).toBe(n - 8);
    const ch = await channel(await connect(r));
    const seen: string[] = [];
    for (let i = 0; i < n; i++) {
      const m = await ch.get(q, { noAck: true });
      if (m === false) throw new Error(`message ${i} missing`);
      seen.push(m.content.toString());
      expect(m.fields.redelivered, m.content.toString()).toBe(true);
      expect(m.properties.headers?.['x-delivery-count'], m.content.toString()).toBe(2);
    }
    expect(await ch.get(q)).toBe(false);
    expect(seen.sort()).toEqual([...Array(n).keys()].map((i) => `m${i}`).sort());
  });

  it('rabbitmq-client publisher with confirms: messages survive', async () => {
    const dir = dataDir();
    let r = await start(dir);
    const q = uniq('rc-durable');
    const rc = new RcConnection({ url: `amqp://guest:guest@127.0.0.1:${r.port}`, retryLow: 10, retryHigh: 50 });
    try {
      const ch = await rc.acquire();
      await ch.queueDeclare({ queue: q, durable: true });
      await ch.confirmSelect();
      for (let i = 0; i < 3; i++) await ch.basicPublish({ routingKey: q, durable: true, messageId: `rc${i}` }, `body${i}`);
      await ch.close();
    } finally {
      await rc.close();
    }
    r = await restart(r, dir);
    const ch = await channel(await connect(r));
    const ids: unknown[] = [];
    for (;;) {
      const m = await ch.get(q, { noAck: true });
      if (m === false) break;
      ids.push([m.content.toString(), m.properties.messageId]);
    }
    expect(ids).toEqual([
      ['body0', 'rc0'],
      ['body1', 'rc1'],
      ['body2', 'rc2'],
    ]);
  });
});

describe('TTL across a restart', { timeout: 3000 }, () => {
  it('x-message-ttl keeps counting from the original arrival (manual clock)', async () => {
    const dir = dataDir();
    const clock = new ManualClock();
    let r = await start(dir, { clock });
    const q = uniq('ttl-restart');
    {
      const ch = await confirmChannel(await connect(r));
      await ch.assertQueue(q, { durable: true, arguments: { 'x-message-ttl': 300 } });
      await publishConfirmed(ch, '', q, 'x', persistent());
      await publishConfirmed(ch, '', q, 'y', persistent({ expiration: '200' }));
    }
    clock.advance(150);
    r = await restart(r, dir, clock);
    const ch = await channel(await connect(r));
    expect(await messageCount(ch, q)).toBe(2);
    clock.advance(51); // 201 ms: 'y' (own expiration 200) is dead
    // 'x' is at the head and alive; 'y' behind it is skipped at delivery.
    clock.advance(98); // 299 ms
    expect(await messageCount(ch, q)).toBe(2);
    clock.advance(2); // 301 ms: 'x' is dead too, 150 ms after the restart (not 300)
    expect(await messageCount(ch, q)).toBe(0);
    expect(await ch.get(q)).toBe(false);
  });

  it('deep queue: messages recovered onto disk keep their deadlines, per message and per queue (manual clock)', async () => {
    const dir = dataDir();
    const clock = new ManualClock();
    // 8 in memory after the restart, the other 22 recovered into the paged tail.
    let r = await start(dir, { clock, pageAfterMessages: 8 });
    const q = uniq('ttl-deep');
    {
      const ch = await confirmChannel(await connect(r));
      await ch.assertQueue(q, { durable: true, arguments: { 'x-message-ttl': 300 } });
      // Every third message has its own, shorter expiration.
      for (let i = 0; i < 30; i++) await publishConfirmed(ch, '', q, `m${i}`, persistent(i % 3 === 0 ? { expiration: '200' } : {}));
    }
    clock.advance(150);
    await stop(r);
    r = await start(dir, { clock, pageAfterMessages: 8 });
    expect(r.broker.vhost('/')?.queues.get(q)?.pagedCount).toBeGreaterThan(0);
    const ch = await channel(await connect(r));
    clock.advance(51); // 201 ms: the messages with expiration 200 are dead, the others not
    const got: string[] = [];
    for (let k = 0; k < 12; k++) {
      const m = await ch.get(q, { noAck: true });
      if (m === false) break;
      got.push(m.content.toString());
    }
    // The first 12 live ones, from memory and then from disk, none with expiration 200.
    expect(got).toEqual([...Array(18).keys()].filter((i) => i % 3 !== 0).map((i) => `m${i}`));
    clock.advance(100); // 301 ms: x-message-ttl 300 has run out for the rest, on disk too
    expect(await ch.get(q)).toBe(false);
  });

  it('the expiry timer is re-armed on recovery: a message expires into its DLQ at the original deadline (real time)', async () => {
    const dir = dataDir();
    let r = await start(dir);
    const q = uniq('ttl-rt');
    const dlq = uniq('ttl-rt-dlq');
    let sent = 0;
    {
      const ch = await confirmChannel(await connect(r));
      await ch.assertQueue(dlq, { durable: true });
      await ch.assertQueue(q, { durable: true, arguments: { 'x-message-ttl': 300, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } });
      sent = Date.now();
      await publishConfirmed(ch, '', q, 'x', persistent());
    }
    await sleep(Math.max(0, 150 - (Date.now() - sent)));
    r = await restart(r, dir);
    const ch = await channel(await connect(r));
    const { got } = await collect(ch, dlq, { noAck: true });
    await waitFor(() => got.length === 1, 1000);
    const at = got[0]!.at - sent;
    expect(at).toBeGreaterThanOrEqual(290);
    expect(at).toBeLessThan(420); // well before 150 + 300
    expect(xDeath(got[0]!.msg)[0]).toMatchObject({ queue: q, reason: 'expired' });
  });
});

describe('deduplication across a restart', { timeout: 3000 }, () => {
  it('queue-level dedup keys are rebuilt from the stored messages', async () => {
    const dir = dataDir();
    let r = await start(dir);
    const q = uniq('dedup-restart');
    const k = (s: string): amqplib.Options.Publish => persistent({ headers: { 'x-deduplication-header': s } });
    {
      const ch = await confirmChannel(await connect(r));
      await ch.assertQueue(q, { durable: true, arguments: { 'x-message-deduplication': true } });
      await publishConfirmed(ch, '', q, 'k1', k('k1'));
      await publishConfirmed(ch, '', q, 'k2', k('k2'));
    }
    r = await restart(r, dir);
    const ch = await confirmChannel(await connect(r));
    expect(await publishConfirmed(ch, '', q, 'k1-dup', k('k1'))).toBe('ack');
    expect(await messageCount(ch, q)).toBe(2);
    const m = await ch.get(q);
    if (m === false) throw new Error('empty');
    expect(m.content.toString()).toBe('k1');
    ch.ack(m);
    await ch.checkQueue(q);
    expect(await publishConfirmed(ch, '', q, 'k1-again', k('k1'))).toBe('ack');
    expect(await publishConfirmed(ch, '', q, 'k2-dup', k('k2'))).toBe('ack');
    expect(await drain(ch, q)).toEqual(['k2', 'k1-again']);
  });
});

describe('delayed messages across a restart', { timeout: 3000 }, () => {
  it('a durable x-delayed-message exchange releases stored messages at their original due time (manual clock)', async () => {
    const dir = dataDir();
    const clock = new ManualClock();
    let r = await start(dir, { clock });
    const ex = uniq('delayed-restart');
    const q = uniq('delayed-restart-q');
    {
      const ch = await confirmChannel(await connect(r));
      await ch.assertExchange(ex, 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'direct' } });
      await ch.assertQueue(q, { durable: true });
      await ch.bindQueue(q, ex, 'k');
      expect(await publishConfirmed(ch, ex, 'k', 'later', persistent({ headers: { 'x-delay': 10_000 }, messageId: 'd1' }))).toBe('ack');
      expect(await publishConfirmed(ch, ex, 'k', 'sooner', persistent({ headers: { 'x-delay': 6_000 } }))).toBe('ack');
      expect(await publishConfirmed(ch, ex, 'k', 'transient', { headers: { 'x-delay': 5_000 } })).toBe('ack');
    }
    clock.advance(4_000);
    r = await restart(r, dir, clock);
    const vhost = r.broker.vhost('/') as VHost;
    const ch = await channel(await connect(r));
    clock.advance(1_999); // 5999 ms
    vhost.delayed.releaseDue();
    expect(await messageCount(ch, q)).toBe(0);
    clock.advance(1); // 6000 ms: 'sooner' is due; the transient one did not survive
    vhost.delayed.releaseDue();
    expect(await drain(ch, q)).toEqual(['sooner']);
    clock.advance(3_999);
    vhost.delayed.releaseDue();
    expect(await messageCount(ch, q)).toBe(0);
    clock.advance(1);
    vhost.delayed.releaseDue();
    const m = await ch.get(q, { noAck: true });
    if (m === false) throw new Error('delayed message lost');
    expect(m.content.toString()).toBe('later');
    expect(m.properties.messageId).toBe('d1');
    expect(m.fields.exchange).toBe(ex);
    expect(m.fields.routingKey).toBe('k');
  });

  it('released by the timer after recovery without any traffic (real time)', async () => {
    const dir = dataDir();
    let r = await start(dir);
    const ex = uniq('delayed-rt');
    const q = uniq('delayed-rt-q');
    let sent = 0;
    {
      const ch = await confirmChannel(await connect(r));
      await ch.assertExchange(ex, 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'fanout' } });
      await ch.assertQueue(q, { durable: true });
      await ch.bindQueue(q, ex, '');
      sent = Date.now();
      await publishConfirmed(ch, ex, '', 'd', persistent({ headers: { 'x-delay': 350 } }));
    }
    r = await restart(r, dir);
    const ch = await channel(await connect(r));
    const { got } = await collect(ch, q, { noAck: true });
    await waitFor(() => got.length === 1, 1500);
    expect(got[0]!.at - sent).toBeGreaterThanOrEqual(340);
    expect(got[0]!.at - sent).toBeLessThan(800);
  });

  it('a delayed message already released before the restart is not released again', async () => {
    const dir = dataDir();
    let r = await start(dir);
    const ex = uniq('delayed-once');
    const q = uniq('delayed-once-q');
    {
      const ch = await confirmChannel(await connect(r));
      await ch.assertExchange(ex, 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'direct' } });
      await ch.assertQueue(q, { durable: true });
      await ch.bindQueue(q, ex, 'k');
      await publishConfirmed(ch, ex, 'k', 'once', persistent({ headers: { 'x-delay': 20 } }));
      await waitFor(async () => (await messageCount(ch, q)) === 1, 1000);
      expect(await drain(ch, q)).toEqual(['once']);
    }
    r = await restart(r, dir);
    const ch = await channel(await connect(r));
    await sleep(60);
    expect(await messageCount(ch, q)).toBe(0);
  });
});
