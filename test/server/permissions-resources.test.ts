// Permission checks of the exchange and queue methods, one block per row of RabbitMQ's table
// (configure / write / read per operation), allowed and refused, with 3.10.8's exact texts and the
// order it answers in (403 before 404; the default exchange; amq.*). Real amqplib clients.

import { describe, expect, it } from 'vitest';
import { Connection as RmqConnection } from 'rabbitmq-client';
import { channel, expectAmqpError, sync } from '../helpers/amqp.js';
import { adminChannel, connectionSurvives, expectRefused, refusedText, userChannel, userUrl, usePermissionBroker } from './permissions-fixture.js';

const b = usePermissionBroker({
  // Names say what they allow: c- configure, w- write, r- read.
  pu: { configure: '^c-', write: '^w-', read: '^r-' },
  // Configure anything: for the extra checks on new exchanges with an AE and new queues with a DLX.
  pany: { configure: '.*', write: '^w-', read: '^r-' },
  // Server-named queues only.
  pgen: { configure: '^amq\\.gen-', write: '', read: '' },
});

describe('exchange.declare: configure', () => {
  it('allowed on a matching name, refused otherwise (channel closed, connection kept)', async () => {
    const { conn, ch } = await userChannel(b, 'pu');
    await ch.assertExchange('c-x1', 'direct', { durable: false });
    await expectRefused(ch.assertExchange('w-x1', 'direct', { durable: false }), 'exchange', 'w-x1', 'pu');
    await connectionSurvives(conn);
  });

  it('redeclaring a predeclared amq.* exchange needs configure too', async () => {
    const { ch } = await userChannel(b, 'pu');
    await expectRefused(ch.assertExchange('amq.direct', 'direct'), 'exchange', 'amq.direct', 'pu');
    const { ch: any } = await userChannel(b, 'pany');
    await any.assertExchange('amq.direct', 'direct');
  });

  it('a new amq.* name: configure is checked before the reserved-prefix refusal', async () => {
    const { ch } = await userChannel(b, 'pu');
    await expectRefused(ch.assertExchange('amq.new', 'direct'), 'exchange', 'amq.new', 'pu');
    const { ch: any } = await userChannel(b, 'pany');
    await expectAmqpError(any.assertExchange('amq.new', 'direct'), 403, "ACCESS_REFUSED - exchange name 'amq.new' contains reserved prefix 'amq.*'");
  });

  it('the default exchange is refused before any permission', async () => {
    const { ch } = await userChannel(b, 'pu');
    await expectAmqpError(ch.assertExchange('', 'direct'), 403, 'ACCESS_REFUSED - operation not permitted on the default exchange');
  });

  it('an unknown type is a 503 connection error before the permission check', async () => {
    const { conn, ch } = await userChannel(b, 'pu');
    const closed = new Promise<Error>((resolve) => conn.once('error', resolve));
    await expect(ch.assertExchange('w-x2', 'no-such-type')).rejects.toThrow();
    expect((await closed).message).toContain("COMMAND_INVALID - unknown exchange type 'no-such-type'");
  });

  it('passive: no permission needed (3.10.8)', async () => {
    const admin = await adminChannel(b);
    await admin.assertExchange('w-passive', 'direct', { durable: false });
    const { ch } = await userChannel(b, 'pu');
    await ch.checkExchange('w-passive');
    await expectAmqpError(ch.checkExchange('w-missing'), 404, "NOT_FOUND - no exchange 'w-missing' in vhost 'pv'");
  });

  it('new with alternate-exchange: + read on itself, write on the AE', async () => {
    const { ch } = await userChannel(b, 'pany');
    await ch.assertExchange('r-ae1', 'direct', { durable: false, alternateExchange: 'w-ae' });
    await expectRefused(ch.assertExchange('r-ae2', 'direct', { durable: false, alternateExchange: 'c-ae' }), 'exchange', 'c-ae', 'pany');
    const { ch: ch2 } = await userChannel(b, 'pany');
    await expectRefused(ch2.assertExchange('c-ae3', 'direct', { durable: false, alternateExchange: 'w-ae' }), 'exchange', 'c-ae3', 'pany');
  });

  it('redeclaring an existing exchange with an AE checks configure only', async () => {
    const admin = await adminChannel(b);
    await admin.assertExchange('c-ae-exists', 'direct', { durable: false, alternateExchange: 'c-other' });
    const { ch } = await userChannel(b, 'pany');
    await ch.assertExchange('c-ae-exists', 'direct', { durable: false, alternateExchange: 'c-other' });
  });
});

describe('exchange.delete: configure', () => {
  it('allowed / refused, also for an exchange that does not exist', async () => {
    const admin = await adminChannel(b);
    await admin.assertExchange('c-del', 'direct', { durable: false });
    await admin.assertExchange('w-del', 'direct', { durable: false });
    const { ch } = await userChannel(b, 'pu');
    await ch.deleteExchange('c-del');
    expect(await admin.checkExchange('c-del').then(() => 'there', () => 'gone')).toBe('gone');
    await expectRefused(ch.deleteExchange('w-del'), 'exchange', 'w-del', 'pu');
    const { ch: ch2 } = await userChannel(b, 'pu');
    await expectRefused(ch2.deleteExchange('w-never'), 'exchange', 'w-never', 'pu');
  });

  it('system and default exchanges are refused before the permission check', async () => {
    const { ch } = await userChannel(b, 'pu');
    await expectAmqpError(ch.deleteExchange('amq.direct'), 403, "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost 'pv' not allowed");
    const { ch: ch2 } = await userChannel(b, 'pu');
    await expectAmqpError(ch2.deleteExchange(''), 403, 'ACCESS_REFUSED - operation not permitted on the default exchange');
  });
});

describe('queue.declare: configure', () => {
  it('allowed / refused, for new and existing queues', async () => {
    const admin = await adminChannel(b);
    await admin.assertQueue('w-existing', { durable: false });
    const { conn, ch } = await userChannel(b, 'pu');
    await ch.assertQueue('c-q1', { durable: false });
    await expectRefused(ch.assertQueue('w-q1', { durable: false }), 'queue', 'w-q1', 'pu');
    const ch2 = await channel(conn);
    await expectRefused(ch2.assertQueue('w-existing', { durable: false }), 'queue', 'w-existing', 'pu');
    await connectionSurvives(conn);
  });

  it('server-named: checked on the generated amq.gen- name', async () => {
    const { ch } = await userChannel(b, 'pu');
    await expectAmqpError(ch.assertQueue('', { exclusive: true }), 403, /ACCESS_REFUSED - access to queue 'amq\.gen-[\w-]{22}' in vhost 'pv' refused for user 'pu'/);
    const { ch: gen } = await userChannel(b, 'pgen');
    const { queue } = await gen.assertQueue('', { exclusive: true });
    expect(queue).toMatch(/^amq\.gen-/);
  });

  it('an amq.* name is refused with the reserved-prefix text before the permission check', async () => {
    const { ch } = await userChannel(b, 'pu');
    await expectAmqpError(ch.assertQueue('amq.mine'), 403, "ACCESS_REFUSED - queue name 'amq.mine' contains reserved prefix 'amq.*'");
  });

  it('passive: no permission needed (3.10.8); a missing queue is 404', async () => {
    const admin = await adminChannel(b);
    await admin.assertQueue('w-passive', { durable: false });
    const { ch } = await userChannel(b, 'pu');
    expect(await ch.checkQueue('w-passive')).toMatchObject({ queue: 'w-passive', messageCount: 0 });
    await expectAmqpError(ch.checkQueue('w-nope'), 404, "NOT_FOUND - no queue 'w-nope' in vhost 'pv'");
  });

  it('new with x-dead-letter-exchange: + read on the queue, write on the DLX', async () => {
    const { ch } = await userChannel(b, 'pany');
    await ch.assertQueue('r-dlq1', { durable: false, deadLetterExchange: 'w-dlx' });
    await expectRefused(ch.assertQueue('r-dlq2', { durable: false, deadLetterExchange: 'c-dlx' }), 'exchange', 'c-dlx', 'pany');
    const { ch: ch2 } = await userChannel(b, 'pany');
    await expectRefused(ch2.assertQueue('c-dlq3', { durable: false, deadLetterExchange: 'w-dlx' }), 'queue', 'c-dlq3', 'pany');
    // An existing queue is not checked again for its DLX.
    const admin = await adminChannel(b);
    await admin.assertQueue('c-dlq4', { durable: false, deadLetterExchange: 'c-dlx' });
    const { ch: ch3 } = await userChannel(b, 'pany');
    await ch3.assertQueue('c-dlq4', { durable: false, deadLetterExchange: 'c-dlx' });
  });
});

describe('queue.delete: configure; queue.purge: read', () => {
  it('delete allowed / refused, also for a missing queue (403 before anything else)', async () => {
    const admin = await adminChannel(b);
    await admin.assertQueue('c-qdel', { durable: false });
    await admin.assertQueue('r-qdel', { durable: false });
    const { ch } = await userChannel(b, 'pu');
    await ch.deleteQueue('c-qdel');
    await expectRefused(ch.deleteQueue('r-qdel'), 'queue', 'r-qdel', 'pu');
    const { ch: ch2 } = await userChannel(b, 'pu');
    await expectRefused(ch2.deleteQueue('w-nothing'), 'queue', 'w-nothing', 'pu');
    expect(await admin.checkQueue('r-qdel')).toMatchObject({ queue: 'r-qdel' });
  });

  it('purge allowed / refused; a missing queue without read is 403, with read 404', async () => {
    const admin = await adminChannel(b);
    await admin.assertQueue('r-purge', { durable: false });
    await admin.assertQueue('c-purge', { durable: false });
    admin.sendToQueue('c-purge', Buffer.from('keep'));
    await sync(admin);
    const { ch } = await userChannel(b, 'pu');
    expect(await ch.purgeQueue('r-purge')).toMatchObject({ messageCount: 0 });
    await expectRefused(ch.purgeQueue('c-purge'), 'queue', 'c-purge', 'pu');
    expect(await admin.checkQueue('c-purge')).toMatchObject({ messageCount: 1 });
    const { ch: ch2 } = await userChannel(b, 'pu');
    await expectRefused(ch2.purgeQueue('w-missing'), 'queue', 'w-missing', 'pu');
    const { ch: ch3 } = await userChannel(b, 'pu');
    await expectAmqpError(ch3.purgeQueue('r-missing'), 404, "NOT_FOUND - no queue 'r-missing' in vhost 'pv'");
  });
});

describe('queue.bind / queue.unbind: write on the queue, read on the exchange', () => {
  it('allowed, and each side refused, in RabbitMQ order', async () => {
    const admin = await adminChannel(b);
    for (const q of ['w-bq', 'c-bq']) await admin.assertQueue(q, { durable: false });
    for (const x of ['r-bx', 'c-bx']) await admin.assertExchange(x, 'direct', { durable: false });
    const { ch } = await userChannel(b, 'pu');
    await ch.bindQueue('w-bq', 'r-bx', 'k');
    await ch.unbindQueue('w-bq', 'r-bx', 'k');
    await expectRefused(ch.bindQueue('c-bq', 'r-bx', 'k'), 'queue', 'c-bq', 'pu');
    const { ch: ch2 } = await userChannel(b, 'pu');
    await expectRefused(ch2.bindQueue('w-bq', 'c-bx', 'k'), 'exchange', 'c-bx', 'pu');
    const { ch: ch3 } = await userChannel(b, 'pu');
    await expectRefused(ch3.unbindQueue('c-bq', 'r-bx', 'k'), 'queue', 'c-bq', 'pu');
    const { ch: ch4 } = await userChannel(b, 'pu');
    await expectRefused(ch4.unbindQueue('w-bq', 'c-bx', 'k'), 'exchange', 'c-bx', 'pu');
  });

  it('write on the queue comes before the default-exchange refusal', async () => {
    const admin = await adminChannel(b);
    await admin.assertQueue('c-bq2', { durable: false });
    await admin.assertQueue('w-bq2', { durable: false });
    const { ch } = await userChannel(b, 'pu');
    await expectRefused(ch.bindQueue('c-bq2', '', 'k'), 'queue', 'c-bq2', 'pu');
    const { ch: ch2 } = await userChannel(b, 'pu');
    await expectAmqpError(ch2.bindQueue('w-bq2', '', 'k'), 403, 'ACCESS_REFUSED - operation not permitted on the default exchange');
  });

  it('403 before 404: a missing exchange without read is refused; with read it is not found', async () => {
    const admin = await adminChannel(b);
    await admin.assertQueue('w-bq3', { durable: false });
    const { ch } = await userChannel(b, 'pu');
    await expectRefused(ch.bindQueue('w-bq3', 'c-nowhere', 'k'), 'exchange', 'c-nowhere', 'pu');
    const { ch: ch2 } = await userChannel(b, 'pu');
    await expectAmqpError(ch2.bindQueue('w-bq3', 'r-nowhere', 'k'), 404, "NOT_FOUND - no exchange 'r-nowhere' in vhost 'pv'");
    const { ch: ch3 } = await userChannel(b, 'pu');
    await expectAmqpError(ch3.bindQueue('w-noqueue', 'amq.direct', 'k'), 403, refusedText('exchange', 'amq.direct', 'pu'));
  });
});

describe('exchange.bind / exchange.unbind: write on the destination, read on the source', () => {
  it('allowed, and each side refused', async () => {
    const admin = await adminChannel(b);
    for (const x of ['w-dst', 'r-src', 'c-other-x']) await admin.assertExchange(x, 'direct', { durable: false });
    const { ch } = await userChannel(b, 'pu');
    await ch.bindExchange('w-dst', 'r-src', 'k');
    await ch.unbindExchange('w-dst', 'r-src', 'k');
    await expectRefused(ch.bindExchange('c-other-x', 'r-src', 'k'), 'exchange', 'c-other-x', 'pu');
    const { ch: ch2 } = await userChannel(b, 'pu');
    await expectRefused(ch2.bindExchange('w-dst', 'c-other-x', 'k'), 'exchange', 'c-other-x', 'pu');
    const { ch: ch3 } = await userChannel(b, 'pu');
    await expectRefused(ch3.unbindExchange('w-dst', 'c-other-x', 'k'), 'exchange', 'c-other-x', 'pu');
  });

  it('the default exchange as destination is checked for write as amq.default', async () => {
    const { ch } = await userChannel(b, 'pu');
    await expectRefused(ch.bindExchange('', 'r-src', 'k'), 'exchange', 'amq.default', 'pu');
  });
});

describe('basic.consume / basic.get: read', () => {
  it('allowed / refused; 403 before 404 for a missing queue', async () => {
    const admin = await adminChannel(b);
    await admin.assertQueue('r-cq', { durable: false });
    await admin.assertQueue('w-cq', { durable: false });
    admin.sendToQueue('r-cq', Buffer.from('hello'));
    await sync(admin);
    const { conn, ch } = await userChannel(b, 'pu');
    const m = await ch.get('r-cq', { noAck: true });
    expect(m && m.content.toString()).toBe('hello');
    const { consumerTag } = await ch.consume('r-cq', () => undefined, { noAck: true });
    await ch.cancel(consumerTag);
    await expectRefused(ch.consume('w-cq', () => undefined), 'queue', 'w-cq', 'pu');
    const ch2 = await channel(conn);
    await expectRefused(ch2.get('w-cq'), 'queue', 'w-cq', 'pu');
    const ch3 = await channel(conn);
    await expectRefused(ch3.get('w-missing'), 'queue', 'w-missing', 'pu');
    const ch4 = await channel(conn);
    await expectAmqpError(ch4.get('r-missing'), 404, "NOT_FOUND - no queue 'r-missing' in vhost 'pv'");
  });

  it('direct reply-to needs no read permission (as in RabbitMQ)', async () => {
    const { ch } = await userChannel(b, 'pu');
    const { consumerTag } = await ch.consume('amq.rabbitmq.reply-to', () => undefined, { noAck: true });
    expect(consumerTag).toBeTruthy();
  });
});

describe('rabbitmq-client', () => {
  it('sees the refusals of declare, bind and get with their method names; allowed ones work', async () => {
    const admin = await adminChannel(b);
    await admin.assertQueue('w-rmq', { durable: false });
    const rmq = new RmqConnection({ url: userUrl(b, 'pu'), retryLow: 50, retryHigh: 50, connectionTimeout: 3000 });
    try {
      const failure = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: unknown) => `${(e as { code?: string }).code}: ${(e as Error).message}`);
      expect(await rmq.queueDeclare({ queue: 'c-rmq', durable: false })).toMatchObject({ queue: 'c-rmq' });
      expect(await failure(rmq.queueDeclare({ queue: 'w-rmq', durable: false }))).toBe(`ACCESS_REFUSED: QueueDeclare: ${refusedText('queue', 'w-rmq', 'pu')}`);
      expect(await failure(rmq.queueBind({ queue: 'w-rmq', exchange: 'c-nope', routingKey: 'k' }))).toBe(`ACCESS_REFUSED: QueueBind: ${refusedText('exchange', 'c-nope', 'pu')}`);
      expect(await failure(rmq.basicGet({ queue: 'w-rmq' }))).toBe(`ACCESS_REFUSED: BasicGet: ${refusedText('queue', 'w-rmq', 'pu')}`);
      await rmq.queueDelete({ queue: 'c-rmq' });
    } finally {
      await rmq.close();
    }
  });
});
