// The object routes over HTTP with real amqplib clients whose effects show in the API: queues,
// exchanges, bindings, connections, channels, consumers; status codes and texts as RabbitMQ
// 3.10.8 answers them (checked live with the same requests).

import { describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { useApi } from './api.js';

const api = useApi();

async function amqp(name?: string): Promise<{ conn: amqplib.ChannelModel; ch: amqplib.ConfirmChannel }> {
  const conn = await amqplib.connect(api.url, name === undefined ? {} : { clientProperties: { connection_name: name } });
  conn.on('error', () => undefined);
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => undefined);
  return { conn, ch };
}

describe('queues', () => {
  it('PUT creates (201), repeats (204), refuses an inequivalent redeclare (400 with the AMQP text)', async () => {
    expect((await api.call('PUT', '/api/queues/%2F/o-q1', { body: { durable: true } })).status).toBe(201);
    expect((await api.call('PUT', '/api/queues/%2F/o-q1', { body: { durable: 'true' } })).status).toBe(204);
    const bad = await api.call('PUT', '/api/queues/%2F/o-q1', { body: { durable: false } });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: 'bad_request', reason: "inequivalent arg 'durable' for queue 'o-q1' in vhost '/': received 'false' but current is 'true'" });
    const reserved = await api.call('PUT', '/api/queues/%2F/amq.foo', { body: { durable: true } });
    expect([reserved.status, reserved.json]).toEqual([401, { error: 'not_authorised', reason: 'Access refused.' }]);
    expect((await api.call('PUT', '/api/queues/nohost/x', { body: {} })).status).toBe(404);
  });

  it('lists with the fields strict readers need, counts from real clients, paged and filtered', async () => {
    const { conn, ch } = await amqp();
    await ch.assertQueue('o-list-a', { durable: false });
    await ch.assertQueue('o-list-b', { durable: true, arguments: { 'x-max-length': 10 } });
    for (let i = 0; i < 3; i++) ch.sendToQueue('o-list-b', Buffer.from('x'));
    await ch.waitForConfirms();
    await ch.consume('o-list-a', () => undefined);
    const one = await api.get('/api/queues/%2F/o-list-b');
    expect(one.json).toMatchObject({
      name: 'o-list-b', vhost: '/', type: 'classic', durable: true, auto_delete: false, exclusive: false, arguments: { 'x-max-length': 10 },
      messages: 3, messages_ready: 3, messages_unacknowledged: 0, consumers: 0, state: 'running', policy: null, consumer_details: [],
      message_stats: { publish: 3 },
    });
    const paged = await api.get('/api/queues/%2F?page=1&page_size=1&name=o-list&sort=name&sort_reverse=true');
    expect(paged.json).toMatchObject({ filtered_count: 2, item_count: 1, page: 1, page_count: 2, page_size: 1, items: [{ name: 'o-list-b' }] });
    const a = await api.get('/api/queues/%2F/o-list-a');
    expect(a.json).toMatchObject({ consumers: 1, consumer_details: [{ queue: { name: 'o-list-a', vhost: '/' }, ack_required: true, consumer_timeout: expect.any(Number) }] });
    const lean = await api.get('/api/queues/%2F?disable_stats=true&enable_queue_totals=true');
    const b = (lean.json as Record<string, unknown>[]).find((q) => q['name'] === 'o-list-b');
    expect(b).toMatchObject({ messages: 3, messages_ready: 3, messages_unacknowledged: 0 });
    expect(b).not.toHaveProperty('message_stats');
    const detailed = await api.get('/api/queues/detailed');
    expect(detailed.status).toBe(200);
    expect((detailed.json as Record<string, unknown>[]).find((q) => q['name'] === 'o-list-b')).toMatchObject({ vhost: '/', messages: 3, type: 'classic', arguments: { 'x-max-length': 10 } });
    await conn.close();
  });

  it('delete with if-empty, purge, get over HTTP; a missing queue is 404', async () => {
    const { conn, ch } = await amqp();
    await ch.assertQueue('o-del', { durable: true });
    ch.sendToQueue('o-del', Buffer.from('hello'), { persistent: true });
    await ch.waitForConfirms();
    const notEmpty = await api.call('DELETE', '/api/queues/%2F/o-del?if-empty=true');
    expect([notEmpty.status, notEmpty.json]).toEqual([400, { error: 'bad_request', reason: "queue 'o-del' in vhost '/' not empty" }]);
    const got = await api.call('POST', '/api/queues/%2F/o-del/get', { body: { count: '1', ackmode: 'ack_requeue_true', encoding: 'auto' } });
    expect(got.json).toEqual([{ payload_bytes: 5, redelivered: false, exchange: '', routing_key: 'o-del', message_count: 0, properties: { delivery_mode: 2, headers: {} }, payload: 'hello', payload_encoding: 'string' }]);
    expect((await ch.checkQueue('o-del')).messageCount).toBe(1);
    expect((await api.call('DELETE', '/api/queues/%2F/o-del/contents')).status).toBe(204);
    expect((await ch.checkQueue('o-del')).messageCount).toBe(0);
    expect((await api.call('DELETE', '/api/queues/%2F/o-del?if-empty=true')).status).toBe(204);
    expect((await api.call('DELETE', '/api/queues/%2F/o-del')).json).toEqual({ error: 'Object Not Found', reason: 'Not Found' });
    const missing = await api.call('POST', '/api/queues/%2F/o-del/get', { body: { count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' } });
    expect([missing.status, missing.json]).toEqual([404, { error: 'not_found', reason: "NOT_FOUND - no queue 'o-del' in vhost '/'" }]);
    await conn.close();
  });
});

describe('exchanges and publish', () => {
  it('declare, list (default exchange included), publish routed/unroutable, delete if-unused', async () => {
    expect((await api.call('PUT', '/api/exchanges/%2F/o-x', { body: { type: 'topic', durable: true } })).status).toBe(201);
    const other = await api.call('PUT', '/api/exchanges/%2F/o-x', { body: { type: 'direct' } });
    expect(other.json).toEqual({ error: 'bad_request', reason: "inequivalent arg 'type' for exchange 'o-x' in vhost '/': received 'direct' but current is 'topic'" });
    expect((await api.call('PUT', '/api/exchanges/%2F/o-bad', { body: { type: 'nope' } })).json).toEqual({ error: 'bad_request', reason: "unknown exchange type 'nope'" });
    expect((await api.call('DELETE', '/api/exchanges/%2F/amq.topic')).status).toBe(401);
    const list = (await api.get('/api/exchanges/%2F')).json as { name: string; type: string }[];
    expect(list[0]).toMatchObject({ name: '', type: 'direct', durable: true, arguments: {} });
    expect(list.map((e) => e.name)).toContain('o-x');

    expect((await api.call('PUT', '/api/queues/%2F/o-pub', { body: {} })).status).toBe(201);
    expect((await api.call('POST', '/api/bindings/%2F/e/o-x/q/o-pub', { body: { routing_key: 'a.#' } })).status).toBe(201);
    const pub = (key: string): Promise<{ json: unknown }> => api.call('POST', '/api/exchanges/%2F/o-x/publish', { body: { routing_key: key, payload: 'hi', payload_encoding: 'string', properties: {} } });
    expect((await pub('a.b')).json).toEqual({ routed: true });
    expect((await pub('b')).json).toEqual({ routed: false });
    const nope = await api.call('POST', '/api/exchanges/%2F/o-none/publish', { body: { routing_key: '', payload: 'x', payload_encoding: 'string', properties: {} } });
    expect(nope.json).toEqual({ error: 'bad_request', reason: "404 NOT_FOUND - no exchange 'o-none' in vhost '/'" });
    const inUse = await api.call('DELETE', '/api/exchanges/%2F/o-x?if-unused=true');
    expect([inUse.status, inUse.json]).toEqual([400, { error: 'bad_request', reason: "exchange 'o-x' in vhost '/' in use" }]);
    const { conn, ch } = await amqp();
    expect((await ch.checkQueue('o-pub')).messageCount).toBe(1);
    await conn.close();
  });
});

describe('bindings', () => {
  it('POST → 201 + Location with the properties_key; listed, read and deleted by it', async () => {
    await api.call('PUT', '/api/exchanges/%2F/o-bx', { body: { type: 'direct' } });
    await api.call('PUT', '/api/queues/%2F/o-bq', { body: {} });
    const r1 = await api.call('POST', '/api/bindings/%2F/e/o-bx/q/o-bq', { body: { routing_key: 'a.b', arguments: {} } });
    expect([r1.status, r1.headers.get('location')]).toEqual([201, 'o-bq/a.b']);
    const r2 = await api.call('POST', '/api/bindings/%2F/e/o-bx/q/o-bq', { body: { routing_key: '' } });
    expect(r2.headers.get('location')).toBe('o-bq/~');
    const r3 = await api.call('POST', '/api/bindings/%2F/e/o-bx/q/o-bq', { body: { routing_key: 'k~1 x', arguments: { 'x-match': 'any' } } });
    const key3 = (r3.headers.get('location') ?? '').split('/').pop() as string;
    expect(key3).toMatch(/^k%7E1%20x~/);
    const between = (await api.get('/api/bindings/%2F/e/o-bx/q/o-bq')).json as { properties_key: string }[];
    expect(between.map((b) => b.properties_key).sort()).toEqual(['a.b', key3, '~'].sort());
    const one = await api.get(`/api/bindings/%2F/e/o-bx/q/o-bq/${encodeURIComponent(decodeURIComponent(key3))}`);
    expect(one.json).toMatchObject({ source: 'o-bx', destination: 'o-bq', destination_type: 'queue', routing_key: 'k~1 x', arguments: { 'x-match': 'any' } });
    expect((await api.call('DELETE', `/api/bindings/%2F/e/o-bx/q/o-bq/${key3}`)).status).toBe(204);
    expect((await api.call('DELETE', '/api/bindings/%2F/e/o-bx/q/o-bq/~')).status).toBe(204);
    expect((await api.call('DELETE', '/api/bindings/%2F/e/o-bx/q/o-bq/~')).status).toBe(404);
    // The default exchange's bindings are listed; binding to it is refused as over AMQP.
    const all = (await api.get('/api/bindings/%2F')).json as { source: string; destination: string; properties_key: string }[];
    expect(all).toContainEqual({ source: '', vhost: '/', destination: 'o-bq', destination_type: 'queue', routing_key: 'o-bq', arguments: {}, properties_key: 'o-bq' });
    expect((await api.call('POST', '/api/bindings/%2F/e/amq.default/q/o-bq', { body: { routing_key: 'x' } })).status).toBe(401);
    const noX = await api.call('POST', '/api/bindings/%2F/e/o-none/q/o-bq', { body: { routing_key: '' } });
    expect([noX.status, noX.json]).toEqual([404, { error: 'not_found', reason: "no exchange 'o-none' in vhost '/'" }]);
    const qb = (await api.get('/api/queues/%2F/o-bq/bindings')).json as { source: string }[];
    expect(qb.map((b) => b.source)).toEqual(['', 'o-bx']);
  });
});

describe('connections, channels, consumers', () => {
  it('show real clients with the fields strict readers need; DELETE with X-Reason closes with 320 and that text', async () => {
    const { conn, ch } = await amqp('o-app');
    await ch.prefetch(5);
    await ch.assertQueue('o-cq', { durable: false });
    await ch.consume('o-cq', () => undefined, { consumerTag: 'o-tag' });
    const conns = (await api.get('/api/connections')).json as Record<string, unknown>[];
    const c = conns.find((x) => x['user_provided_name'] === 'o-app') as Record<string, unknown>;
    expect(c).toMatchObject({ node: expect.any(String), protocol: 'AMQP 0-9-1', user: 'guest', vhost: '/', type: 'network', state: 'running', channels: 1, client_properties: { product: 'amqplib' }, connected_at: expect.any(Number) });
    const name = c['name'] as string;
    const chans = (await api.get(`/api/connections/${encodeURIComponent(name)}/channels`)).json as Record<string, unknown>[];
    expect(chans).toEqual([expect.objectContaining({ number: 1, name: `${name} (1)`, connection_details: { name, peer_host: '127.0.0.1', peer_port: c['peer_port'] }, vhost: '/', state: 'running', consumer_count: 1, confirm: true, prefetch_count: 5, messages_unacknowledged: 0, messages_unconfirmed: 0 })]);
    const one = await api.get(`/api/channels/${encodeURIComponent(`${name} (1)`)}`);
    expect(one.json).toMatchObject({ number: 1, consumer_details: [{ consumer_tag: 'o-tag' }] });
    const consumers = (await api.get('/api/consumers/%2F')).json as Record<string, unknown>[];
    expect(consumers.find((x) => x['consumer_tag'] === 'o-tag')).toMatchObject({ active: true, ack_required: true, prefetch_count: 5, exclusive: false, arguments: {}, consumer_timeout: expect.any(Number), queue: { name: 'o-cq', vhost: '/' }, channel_details: { number: 1, connection_name: name, user: 'guest' } });
    expect(((await api.get('/api/connections/username/guest')).json as unknown[]).length).toBeGreaterThan(0);

    // amqplib reports a server-initiated close on 'close', with the error.
    const closed = new Promise<Error>((resolve) => conn.once('close', (e: Error) => resolve(e)));
    const del = await api.call('DELETE', `/api/connections/${encodeURIComponent(name)}`, { headers: { 'x-reason': 'maintenance window' } });
    expect(del.status).toBe(204);
    const err = await closed;
    expect(err.message).toContain('CONNECTION_FORCED - maintenance window');
    expect((await api.get(`/api/connections/${encodeURIComponent(name)}`)).status).toBe(404);
  });
});

describe('permissions', () => {
  it('API writes are checked as the same AMQP operations: refused ones are 401 "Access refused."', async () => {
    const broker = api.running.broker;
    broker.users.put({ name: 'o-reader', password: 'pw', tags: ['management'] });
    broker.permissions.set('o-reader', '/', { configure: '^$', write: '^$', read: '.*' });
    const as: [string, string] = ['o-reader', 'pw'];
    await api.call('PUT', '/api/queues/%2F/o-perm', { body: {} });
    const refused = { error: 'not_authorised', reason: 'Access refused.' };
    const put = await api.call('PUT', '/api/queues/%2F/o-perm2', { body: {}, auth: as });
    expect([put.status, put.json]).toEqual([401, refused]);
    const pub = await api.call('POST', '/api/exchanges/%2F/amq.default/publish', { body: { routing_key: 'o-perm', payload: 'x', payload_encoding: 'string', properties: {} }, auth: as });
    expect([pub.status, pub.json]).toEqual([401, refused]);
    expect((await api.call('DELETE', '/api/queues/%2F/o-perm', { auth: as })).status).toBe(401);
    // Reading is allowed: get and the list work.
    expect((await api.call('POST', '/api/queues/%2F/o-perm/get', { body: { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' }, auth: as })).status).toBe(200);
    expect((await api.call('GET', '/api/queues/%2F/o-perm', { auth: as })).status).toBe(200);
  });
});
