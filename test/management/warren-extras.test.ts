// warren's queue extras over HTTP with real amqplib clients: peek, move (dead-lettered messages
// back home), pause/resume, unacked (who holds which delivery, for how long); and a 100k-queue
// list, paged, timed (measured and printed, not asserted).

import { describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { useApi } from './api.js';
import type { VHost } from '../../src/broker/vhost.js';

const api = useApi();

async function client(): Promise<{ conn: amqplib.ChannelModel; ch: amqplib.ConfirmChannel }> {
  const conn = await amqplib.connect(api.url);
  conn.on('error', () => undefined);
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => undefined);
  return { conn, ch };
}

describe('warren extras', () => {
  it('peek leaves messages in place; move sends dead-lettered ones home', async () => {
    const { conn, ch } = await client();
    await ch.assertExchange('x-dlx', 'fanout', { durable: true });
    await ch.assertQueue('x-dlq', { durable: true });
    await ch.bindQueue('x-dlq', 'x-dlx', '');
    await ch.assertQueue('x-work', { durable: true, arguments: { 'x-dead-letter-exchange': 'x-dlx' } });
    for (const s of ['a', 'b', 'c']) ch.sendToQueue('x-work', Buffer.from(s), { persistent: true });
    await ch.waitForConfirms();
    for (let i = 0; i < 3; i++) {
      const m = await ch.get('x-work');
      if (m === false) throw new Error('missing');
      ch.nack(m, false, false);
    }
    await ch.checkQueue('x-dlq');
    const peek = await api.get('/api/warren/queues/%2F/x-dlq/peek?count=2');
    expect((peek.json as { payload: string; redelivered: boolean }[]).map((m) => [m.payload, m.redelivered])).toEqual([['a', false], ['b', false]]);
    expect((await ch.checkQueue('x-dlq')).messageCount).toBe(3);
    const moved = await api.call('POST', '/api/warren/queues/%2F/x-dlq/move', { body: {} });
    expect([moved.status, moved.json]).toEqual([200, { moved: 3, stopped: null }]);
    expect((await ch.checkQueue('x-work')).messageCount).toBe(3);
    expect((await ch.checkQueue('x-dlq')).messageCount).toBe(0);
    const back = await ch.get('x-work', { noAck: true });
    expect(back !== false && (back.properties.headers?.['x-death'] as { queue: string }[])[0]?.queue).toBe('x-work');
    expect((await api.call('POST', '/api/warren/queues/%2F/x-none/move', { body: {} })).status).toBe(404);
    await conn.close();
  });

  it('pause stops deliveries until resume; unacked names the holder of each delivery', async () => {
    const { conn, ch } = await client();
    await ch.assertQueue('x-pz', { durable: false });
    const got: amqplib.ConsumeMessage[] = [];
    await ch.consume('x-pz', (m) => m !== null && got.push(m), { consumerTag: 'x-c1' });
    expect((await api.call('PUT', '/api/warren/queues/%2F/x-pz/pause')).status).toBe(204);
    expect((await api.get('/api/queues/%2F/x-pz')).json).toMatchObject({ state: 'paused' });
    for (const s of ['1', '2']) ch.sendToQueue('x-pz', Buffer.from(s));
    await ch.waitForConfirms();
    expect((await ch.checkQueue('x-pz')).messageCount).toBe(2);
    expect(got).toEqual([]);
    expect((await api.call('PUT', '/api/warren/queues/%2F/x-pz/resume')).status).toBe(204);
    await ch.checkQueue('x-pz');
    expect(got.map((m) => m.content.toString())).toEqual(['1', '2']);
    const unacked = (await api.get('/api/warren/queues/%2F/x-pz/unacked')).json as Record<string, unknown>[];
    expect(unacked).toEqual([
      expect.objectContaining({ queue: 'x-pz', delivery_tag: 1, consumer_tag: 'x-c1', channel: 1, user: 'guest', age_ms: expect.any(Number) }),
      expect.objectContaining({ queue: 'x-pz', delivery_tag: 2, consumer_tag: 'x-c1', channel: 1 }),
    ]);
    expect(String(unacked[0]?.['channel_name'])).toMatch(/ \(1\)$/);
    ch.ack(got[0] as amqplib.ConsumeMessage);
    await ch.checkQueue('x-pz');
    expect(((await api.get('/api/warren/queues/%2F/x-pz/unacked')).json as unknown[]).length).toBe(1);
    await conn.close();
  });
});

describe('a 100k-queue vhost', () => {
  it('lists a page quickly (measured)', { timeout: 120_000 }, async () => {
    const v = api.running.broker.vhost('/') as VHost;
    const N = 100_000;
    for (let i = 0; i < N; i++) v.declareQueue(`bulk-${String(i).padStart(6, '0')}`, { passive: false, durable: false, exclusive: false, autoDelete: false, args: {} }, {});
    const time = async (path: string): Promise<{ ms: number; body: unknown }> => {
      const t0 = performance.now();
      const r = await api.get(path);
      return { ms: performance.now() - t0, body: r.json };
    };
    const first = await time('/api/queues/%2F?page=500&page_size=100');
    const page = await time('/api/queues/%2F?page=500&page_size=100');
    const filtered = await time('/api/queues/%2F?page=1&page_size=100&name=bulk-0999');
    const sortedByMessages = await time('/api/queues/%2F?page=1&page_size=100&sort=messages&sort_reverse=true');
    const lean = await time('/api/queues/%2F?page=1&page_size=500&disable_stats=true&enable_queue_totals=true&columns=name,messages');
    const all = await time('/api/queues/%2F?disable_stats=true');
    console.log(`[100k queues] page 500: ${first.ms.toFixed(0)} ms first, ${page.ms.toFixed(0)} ms again; whole unpaged list (disable_stats): ${all.ms.toFixed(0)} ms; name filter: ${filtered.ms.toFixed(0)} ms; sort by messages: ${sortedByMessages.ms.toFixed(0)} ms; 500 lean rows: ${lean.ms.toFixed(0)} ms`);
    const p = page.body as { page: number; item_count: number; items: { name: string }[] };
    expect([p.page, p.item_count, p.items[0]?.name]).toEqual([500, 100, 'bulk-049900']);
    expect(filtered.body).toMatchObject({ filtered_count: 100 });
    expect((all.body as unknown[]).length).toBeGreaterThanOrEqual(N);
    expect((lean.body as { items: unknown[] }).items[0]).toEqual({ name: expect.any(String), messages: 0 });
  });
});
