// The management API's message operations at the broker: get (RabbitMQ's four ackmodes), publish
// (mandatory, confirmed), and warren's peek, checked through real amqplib clients. The expected
// JSON renderings were read from RabbitMQ 3.10.8's management plugin with the same messages.

import { describe, expect, it } from 'vitest';
import { useBroker } from '../../helpers/broker.js';
import { channel, confirmChannel } from '../../helpers/amqp.js';
import { getMessages, parseGetRequest, peekMessages } from '../../../src/broker/ops/queue-get.js';
import { publishFromApi, PublishRejected } from '../../../src/broker/ops/api-publish.js';
import { ApiRequestError } from '../../../src/broker/ops/message-json.js';
import { AmqpError } from '../../../src/protocol/errors.js';
import type { VHost } from '../../../src/broker/vhost.js';
import type { User } from '../../../src/broker/auth/users.js';

const b = useBroker();
const vhost = (): VHost => b.running.broker.vhost('/') as VHost;
const owner = {};
const guestUser = (): User => b.running.broker.users.get('guest') as User;

async function fill(queue: string, bodies: (string | Buffer)[], opts: { durable?: boolean; args?: Record<string, unknown> } = {}): Promise<void> {
  const conn = await b.connect();
  const ch = await confirmChannel(conn);
  await ch.assertQueue(queue, { durable: opts.durable ?? false, arguments: opts.args });
  for (const body of bodies) ch.sendToQueue(queue, typeof body === 'string' ? Buffer.from(body) : body, { messageId: String(body) });
  await ch.waitForConfirms();
}

describe('get over the API', () => {
  it('renders properties and header values as RabbitMQ 3.10.8 does', async () => {
    const conn = await b.connect();
    const ch = await confirmChannel(conn);
    await ch.assertQueue('g-props', { durable: false });
    ch.sendToQueue('g-props', Buffer.from('hello'), {
      persistent: true, contentType: 'text/plain', timestamp: 1700000000, messageId: 'm1', priority: 3,
      headers: {
        s: 'str', i: 42, f: 1.5, b: true, big: 2 ** 40, arr: [1, 'a', { x: 1 }], tbl: { n: 1 }, nul: null,
        dec: { '!': 'decimal', value: { places: 2, digits: 12345 } }, ts: { '!': 'timestamp', value: 1700000000 },
        bytes: Buffer.from([0xff, 0x00, 0x41]),
      },
    });
    ch.sendToQueue('g-props', Buffer.from([0xff, 0xfe, 0x00]));
    await ch.waitForConfirms();
    const got = getMessages(vhost(), 'g-props', parseGetRequest({ count: '5', ackmode: 'ack_requeue_true', encoding: 'auto', truncate: 3 }), owner);
    expect(got).toEqual([
      {
        payload_bytes: 5, redelivered: false, exchange: '', routing_key: 'g-props', message_count: 1,
        properties: {
          timestamp: 1700000000, message_id: 'm1', priority: 3, delivery_mode: 2, content_type: 'text/plain',
          headers: { arr: [1, 'a', { x: 1 }], b: true, big: 1099511627776, bytes: 'Not UTF-8, base64 is: /wBB', dec: 2.12345, f: 1.5, i: 42, nul: 'undefined', s: 'str', tbl: { n: 1 }, ts: 1700000000 },
        },
        payload: 'hel', payload_encoding: 'string',
      },
      { payload_bytes: 3, redelivered: false, exchange: '', routing_key: 'g-props', message_count: 0, properties: { headers: {} }, payload: '//4A', payload_encoding: 'base64' },
    ]);
    // ack_requeue_true put both back, marked redelivered, in their places.
    const again = getMessages(vhost(), 'g-props', parseGetRequest({ count: 5, ackmode: 'ack_requeue_false', encoding: 'base64' }), owner);
    expect(again.map((m) => [m.redelivered, m.payload])).toEqual([[true, 'aGVsbG8='], [true, '//4A']]);
    expect(vhost().queues.get('g-props')?.messageCount).toBe(0);
  });

  it('reject_requeue_false dead-letters, requeue modes never show a message twice in one request', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    await ch.assertExchange('g-dlx', 'fanout', { durable: false });
    await ch.assertQueue('g-dlq', { durable: false });
    await ch.bindQueue('g-dlq', 'g-dlx', '');
    await fill('g-src', ['a', 'b', 'c'], { args: { 'x-dead-letter-exchange': 'g-dlx' } });
    const first = getMessages(vhost(), 'g-src', parseGetRequest({ count: 10, ackmode: 'reject_requeue_true', encoding: 'auto' }), owner);
    expect(first.map((m) => m.payload)).toEqual(['a', 'b', 'c']);
    const rejected = getMessages(vhost(), 'g-src', parseGetRequest({ count: 2, ackmode: 'reject_requeue_false', encoding: 'auto' }), owner);
    expect(rejected.map((m) => [m.payload, m.redelivered, m.message_count])).toEqual([['a', true, 2], ['b', true, 1]]);
    const dead = await ch.get('g-dlq', { noAck: true });
    expect(dead !== false && dead.content.toString()).toBe('a');
    expect(dead !== false && (dead.properties.headers?.['x-death'] as { reason: string }[])[0]?.reason).toBe('rejected');
    expect(vhost().queues.get('g-src')?.messageCount).toBe(1);
  });

  it('checks the request as RabbitMQ does', () => {
    expect(() => parseGetRequest({ ackmode: 'ack_requeue_false', encoding: 'auto' })).toThrow('[{key_missing,count}]');
    expect(() => parseGetRequest({ count: 1, ackmode: 'ack_requeue_false', encoding: 'bad' })).toThrow('Unsupported encoding. Please use auto or base64.');
    expect(() => parseGetRequest({ count: 1, ackmode: 'nope', encoding: 'auto' })).toThrow(ApiRequestError);
    expect(() => getMessages(vhost(), 'g-none', parseGetRequest({ count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' }), owner)).toThrow("NOT_FOUND - no queue 'g-none' in vhost '/'");
  });
});

describe('peek', () => {
  it('shows messages in delivery order without taking them or marking them', async () => {
    await fill('p-q', ['1', '2', '3', '4']);
    const conn = await b.connect();
    const ch = await channel(conn);
    const m1 = await ch.get('p-q');
    if (m1 === false) throw new Error('no message');
    ch.nack(m1, false, true); // '1' back at the head, redelivered
    await ch.checkQueue('p-q');
    const seen = peekMessages(vhost(), 'p-q', { count: 3, encoding: 'auto' }, owner);
    expect(seen.map((m) => [m.payload, m.redelivered])).toEqual([['1', true], ['2', false], ['3', false]]);
    expect((await ch.checkQueue('p-q')).messageCount).toBe(4);
    // Peeking counted no delivery: '2' still arrives as a first delivery.
    await ch.get('p-q', { noAck: true });
    const m2 = await ch.get('p-q', { noAck: true });
    expect(m2 !== false && [m2.content.toString(), m2.fields.redelivered]).toEqual(['2', false]);
  });

  it('follows priority order', async () => {
    const conn = await b.connect();
    const ch = await confirmChannel(conn);
    await ch.assertQueue('p-prio', { durable: false, arguments: { 'x-max-priority': 5 } });
    ch.sendToQueue('p-prio', Buffer.from('low'), { priority: 1 });
    ch.sendToQueue('p-prio', Buffer.from('high'), { priority: 5 });
    await ch.waitForConfirms();
    expect(peekMessages(vhost(), 'p-prio', { count: 10, encoding: 'auto' }, owner).map((m) => m.payload)).toEqual(['high', 'low']);
  });
});

describe('publish over the API', () => {
  it('routes, answers routed:false for nowhere, and a consumer sees the properties', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    await ch.assertQueue('pub-q', { durable: true });
    const opts = { user: guestUser(), access: null, maxMessageSize: 1 << 20 };
    const body = { routing_key: 'pub-q', payload: 'aGk=', payload_encoding: 'base64', properties: { delivery_mode: '2', priority: 4, headers: { a: 1, b: 'x', c: [1, 2], d: { e: true }, f: 1.5 }, content_type: 'text/plain', foo: 1 } };
    expect(await publishFromApi(vhost(), 'amq.default', body, opts)).toEqual({ routed: true });
    expect(await publishFromApi(vhost(), '', { ...body, routing_key: 'nowhere' }, opts)).toEqual({ routed: false });
    const m = await ch.get('pub-q', { noAck: true });
    if (m === false) throw new Error('no message');
    expect(m.content.toString()).toBe('hi');
    expect(m.properties).toMatchObject({ deliveryMode: 2, priority: 4, contentType: 'text/plain', headers: { a: 1, b: 'x', c: [1, 2], d: { e: true }, f: 1.5 } });
  });

  it('refuses bad bodies with RabbitMQ reasons, and AMQP refusals with their texts', async () => {
    const opts = { user: guestUser(), access: null, maxMessageSize: 1 << 20 };
    await expect(publishFromApi(vhost(), '', { routing_key: 'x', payload: 'hi' }, opts)).rejects.toThrow('[{key_missing,properties},{key_missing,payload_encoding}]');
    await expect(publishFromApi(vhost(), '', { routing_key: 'x', payload: '!!!', payload_encoding: 'base64', properties: {} }, opts)).rejects.toThrow('not_base64');
    await expect(publishFromApi(vhost(), '', { routing_key: 'x', payload: 'hi', payload_encoding: 'bad', properties: {} }, opts)).rejects.toThrow('unsupported_encoding');
    await expect(publishFromApi(vhost(), '', { routing_key: 'x', payload: 'hi', payload_encoding: 'string', properties: { delivery_mode: 'x' } }, opts)).rejects.toThrow('not_int: delivery_mode');
    const err = await publishFromApi(vhost(), 'nope', { routing_key: 'x', payload: 'hi', payload_encoding: 'string', properties: {} }, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmqpError);
    expect((err as AmqpError).replyText).toBe("NOT_FOUND - no exchange 'nope' in vhost '/'");
    await expect(publishFromApi(vhost(), '', { routing_key: 'x', payload: 'hi', payload_encoding: 'string', properties: { user_id: 'bob' } }, opts)).rejects.toThrow("user_id property set to 'bob' but authenticated user was 'guest'");
  });

  it('a queue refusing the message (reject-publish) is a 400 rejected', async () => {
    await fill('pub-full', ['x'], { args: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    const opts = { user: guestUser(), access: null, maxMessageSize: 1 << 20 };
    await expect(publishFromApi(vhost(), '', { routing_key: 'pub-full', payload: 'y', payload_encoding: 'string', properties: {} }, opts)).rejects.toBeInstanceOf(PublishRejected);
  });
});
