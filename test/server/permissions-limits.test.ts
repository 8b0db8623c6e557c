// User max-channels (counted per user across connections, released once on every way a channel
// ends) and vhost max-queues (new queues only), with RabbitMQ 3.10.8's texts and close semantics.

import { afterEach, describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import * as M from '../../src/protocol/generated/amqp.js';
import { channel, expectAmqpError } from '../helpers/amqp.js';
import { RawClient } from '../helpers/raw-client.js';
import { adminChannel, PASSWORD, userChannel, userUrl, usePermissionBroker, VHOST } from './permissions-fixture.js';

const b = usePermissionBroker({
  lc: { configure: '.*', write: '.*', read: '.*' },
  lq: { configure: '.*', write: '.*', read: '.*' },
});

const channelsOf = (user: string): number => b.broker().connectionCounts.channelsOf(user);

/** Until `cond` holds (the server's side of a close is asynchronous to the client's). */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond(), what).toBe(true);
}

describe('user max-channels', () => {
  afterEach(() => {
    b.broker().limits.setUser('lc', {});
  });

  it('the channel over the limit closes the connection with 530 and RabbitMQ text (class/method 0)', async () => {
    b.broker().limits.setUser('lc', { 'max-channels': 2 });
    const c = await RawClient.open(b.port, { user: 'lc', password: PASSWORD, vhost: VHOST });
    try {
      await c.openChannel(1);
      await c.openChannel(2);
      c.sendMethod(3, { id: M.CHANNEL_OPEN, outOfBand: '' });
      const close = await c.expectConnectionClose();
      expect(close).toMatchObject({
        replyCode: 530,
        replyText: "NOT_ALLOWED - number of channels opened for user 'lc' has reached the maximum allowed user limit of (2)",
        classId: 0,
        methodId: 0,
      });
    } finally {
      c.destroy();
    }
    await until(() => channelsOf('lc') === 0, 'all channels released with the connection');
  });

  it('amqplib: the connection fails; a closed channel frees its place', async () => {
    b.broker().limits.setUser('lc', { 'max-channels': 2 });
    const conn = await b.connect(userUrl(b, 'lc'));
    const errors: Error[] = [];
    conn.on('error', (e: Error) => errors.push(e));
    const c1 = await channel(conn);
    await channel(conn);
    await c1.close();
    await until(() => channelsOf('lc') === 1, 'the closed channel released');
    await channel(conn);
    await expect(conn.createChannel()).rejects.toThrow();
    await until(() => errors.length > 0, 'connection error reported');
    expect(errors[0]?.message).toContain("NOT_ALLOWED - number of channels opened for user 'lc' has reached the maximum allowed user limit of (2)");
  });

  it('a channel closed by the server (channel error) frees its place once', async () => {
    b.broker().limits.setUser('lc', { 'max-channels': 2 });
    const { conn, ch } = await userChannel(b, 'lc');
    await expectAmqpError(ch.checkQueue('no-such-queue'), 404);
    // The server-closed channel is gone; its count too, once (not again at connection teardown).
    await until(() => channelsOf('lc') === 0, 'the server-closed channel released');
    await channel(conn);
    await channel(conn);
    expect(channelsOf('lc')).toBe(2);
    await conn.close();
    await until(() => channelsOf('lc') === 0, 'released at connection close, not below zero');
    const again = await b.connect(userUrl(b, 'lc'));
    await channel(again);
    await channel(again);
    expect(channelsOf('lc')).toBe(2);
  });

  it('counted per user across connections (3.10.8)', async () => {
    b.broker().limits.setUser('lc', { 'max-channels': 2 });
    const a = await b.connect(userUrl(b, 'lc'));
    await channel(a);
    await channel(a);
    const other = await b.connect(userUrl(b, 'lc'));
    const failed = new Promise<Error>((resolve) => other.once('error', resolve));
    await expect(other.createChannel()).rejects.toThrow();
    expect((await failed).message).toContain('user limit of (2)');
    // Another user is not affected.
    const { ch } = await userChannel(b, 'lq');
    await ch.checkExchange('amq.direct');
  });

  it('a channel closed by the server and then lost with its connection is released once', async () => {
    b.broker().limits.setUser('lc', { 'max-channels': 5 });
    const other = await b.connect(userUrl(b, 'lc'));
    await channel(other);
    const c = await RawClient.open(b.port, { user: 'lc', password: PASSWORD, vhost: VHOST });
    await c.openChannel(1);
    await c.openChannel(2);
    c.sendMethod(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: 'no-such-queue', passive: true, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: {} });
    const { channel: closedOn, method } = await c.nextMethod();
    expect(closedOn).toBe(1);
    expect(method).toMatchObject({ id: M.CHANNEL_CLOSE, replyCode: 404 });
    // No close-ok: the server still holds channel 1 (closing) when the socket goes.
    await until(() => channelsOf('lc') === 2, 'the server-closed channel released at once');
    c.destroy();
    await until(() => channelsOf('lc') === 1, 'the rest released with the connection');
    // Settled: the other connection's channel is still counted.
    await new Promise((r) => setTimeout(r, 50));
    expect(channelsOf('lc')).toBe(1);
  });

  it('a dropped socket releases its channels', async () => {
    b.broker().limits.setUser('lc', { 'max-channels': 3 });
    const c = await RawClient.open(b.port, { user: 'lc', password: PASSWORD, vhost: VHOST });
    await c.openChannel(1);
    await c.openChannel(2);
    await until(() => channelsOf('lc') === 2, 'two counted');
    c.destroy();
    await until(() => channelsOf('lc') === 0, 'released when the socket drops');
  });
});

describe('vhost max-queues', () => {
  afterEach(async () => {
    b.broker().limits.setVhost(VHOST, {});
    const admin = await adminChannel(b);
    for (const q of ['lq-1', 'lq-2', 'lq-3']) await admin.deleteQueue(q);
  });

  it('a new queue over the limit is 406 with RabbitMQ text; redeclaring and passive are fine', async () => {
    const baseline = b.broker().vhost(VHOST)?.queues.size ?? 0;
    b.broker().limits.setVhost(VHOST, { 'max-queues': baseline + 2 });
    const { conn, ch } = await userChannel(b, 'lq');
    await ch.assertQueue('lq-1', { durable: false });
    await ch.assertQueue('lq-2', { durable: false });
    await ch.assertQueue('lq-1', { durable: false });
    await ch.checkQueue('lq-2');
    await expectAmqpError(
      ch.assertQueue('lq-3', { durable: false }),
      406,
      `PRECONDITION_FAILED - cannot declare queue 'lq-3': queue limit in vhost '${VHOST}' (${baseline + 2}) is reached`,
    );
    const ch2 = await channel(conn);
    await expectAmqpError(
      ch2.assertQueue('', { exclusive: true }),
      406,
      new RegExp(`PRECONDITION_FAILED - cannot declare queue 'amq\\.gen-[\\w-]{22}': queue limit in vhost '${VHOST}' \\(${baseline + 2}\\) is reached`),
    );
    // Room again after a delete.
    const ch3 = await channel(conn);
    await ch3.deleteQueue('lq-2');
    await ch3.assertQueue('lq-3', { durable: false });
  });

  it('the limit comes before the dead-letter exchange permission checks (3.10.8 order)', async () => {
    const baseline = b.broker().vhost(VHOST)?.queues.size ?? 0;
    b.broker().limits.setVhost(VHOST, { 'max-queues': baseline });
    const broker = b.broker();
    broker.permissions.set('lq', VHOST, { configure: '.*', write: '^nothing$', read: '.*' });
    try {
      const { ch } = await userChannel(b, 'lq');
      await expectAmqpError(ch.assertQueue('lq-1', { durable: false, deadLetterExchange: 'dlx' }), 406, /queue limit in vhost/);
      broker.limits.setVhost(VHOST, {});
      const { ch: ch2 } = await userChannel(b, 'lq');
      await expectAmqpError(ch2.assertQueue('lq-1', { durable: false, deadLetterExchange: 'dlx' }), 403, `ACCESS_REFUSED - access to exchange 'dlx' in vhost '${VHOST}' refused for user 'lq'`);
    } finally {
      broker.permissions.set('lq', VHOST, { configure: '.*', write: '.*', read: '.*' });
    }
  });

  it('another vhost is not limited', async () => {
    b.broker().limits.setVhost(VHOST, { 'max-queues': 0 });
    const conn = await amqplib.connect(b.url);
    try {
      const ch = await channel(conn);
      const { queue } = await ch.assertQueue('', { exclusive: true });
      expect(queue).toMatch(/^amq\.gen-/);
    } finally {
      await conn.close();
    }
  });
});
