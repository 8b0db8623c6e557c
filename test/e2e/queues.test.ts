// Queues through amqplib: server-named queues, exclusivity, auto-delete, passive
// declare, argument equivalence (RabbitMQ's texts), bind/unbind, purge, delete.

import { describe, expect, it } from 'vitest';
import { useBroker, delay } from '../helpers/broker.js';
import { channel, drain, expectAmqpError, sync, uniq } from '../helpers/amqp.js';

const b = useBroker();

describe('declare', () => {
  it('a server-named queue is amq.gen- plus 22 url-safe base64 characters', async () => {
    const ch = await channel(await b.connect());
    const names = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const { queue, messageCount, consumerCount } = await ch.assertQueue('', { exclusive: true });
      expect(queue).toMatch(/^amq\.gen-[A-Za-z0-9_-]{22}$/);
      expect([messageCount, consumerCount]).toEqual([0, 0]);
      names.add(queue);
    }
    expect(names.size).toBe(5);
  });

  it('declare-ok carries the message and consumer counts', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const q = uniq('counts');
    await ch.assertQueue(q, { durable: false, autoDelete: false });
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(String(i)));
    await sync(ch);
    expect(await ch.assertQueue(q, { durable: false })).toEqual({ queue: q, messageCount: 3, consumerCount: 0 });
    const ch2 = await channel(conn);
    await ch2.prefetch(1);
    await ch2.consume(q, () => undefined);
    await ch2.consume(q, () => undefined);
    // One message is in flight to the consumers (prefetch 1 per consumer: two in flight), the rest ready.
    const ok = await ch.checkQueue(q);
    expect(ok.consumerCount).toBe(2);
    expect(ok.messageCount).toBe(1);
    await ch.deleteQueue(q);
  });

  it('passive declare of a missing queue is 404 with RabbitMQ\'s text', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('absent');
    await expectAmqpError(ch.checkQueue(q), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`);
  });

  it("a queue name starting with amq. is 403", async () => {
    const ch = await channel(await b.connect());
    await expectAmqpError(ch.assertQueue('amq.mine'), 403, "ACCESS_REFUSED - queue name 'amq.mine' contains reserved prefix 'amq.*'");
  });

  it('redeclare with a different x-arg value of the same type: 406 short form text', async () => {
    const conn = await b.connect();
    const q = uniq('args');
    await (await channel(conn)).assertQueue(q, { durable: false, exclusive: true, arguments: { 'x-max-length': 10 } });
    await expectAmqpError(
      (await channel(conn)).assertQueue(q, { durable: false, exclusive: true, arguments: { 'x-max-length': 20 } }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue '${q}' in vhost '/': received '20' but current is '10'`,
    );
  });

  it('redeclare with an x-arg missing or added: 406 long form text', async () => {
    const conn = await b.connect();
    const q = uniq('args2');
    await (await channel(conn)).assertQueue(q, { durable: false, exclusive: true, arguments: { 'x-max-length': 10 } });
    await expectAmqpError(
      (await channel(conn)).assertQueue(q, { durable: false, exclusive: true }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue '${q}' in vhost '/': received none but current is the value '10' of type 'byte'`,
    );
    await expectAmqpError(
      (await channel(conn)).assertQueue(q, { durable: false, exclusive: true, arguments: { 'x-max-length': 10, 'x-message-ttl': 5 } }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '${q}' in vhost '/': received the value '5' of type 'byte' but current is none`,
    );
    // Arguments RabbitMQ does not compare are ignored on redeclare.
    await (await channel(conn)).assertQueue(q, { durable: false, exclusive: true, arguments: { 'x-max-length': 10, 'x-custom': 'ignored' } });
  });

  it('redeclare with other durability: 406', async () => {
    const conn = await b.connect();
    const q = uniq('dur');
    const ch = await channel(conn);
    await ch.assertQueue(q, { durable: false });
    await expectAmqpError(
      (await channel(conn)).assertQueue(q, { durable: true }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'durable' for queue '${q}' in vhost '/': received 'true' but current is 'false'`,
    );
    await ch.deleteQueue(q);
  });
});

describe('exclusive queues', () => {
  const locked = (q: string): string =>
    `RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${q}' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`;

  it('are locked (405) for declare, passive declare, consume, get, bind, purge and delete from another connection', async () => {
    const owner = await b.connect();
    const other = await b.connect();
    const q = uniq('excl');
    await (await channel(owner)).assertQueue(q, { exclusive: true });
    await expectAmqpError((await channel(other)).assertQueue(q, { exclusive: true }), 405, locked(q));
    await expectAmqpError((await channel(other)).checkQueue(q), 405, locked(q));
    await expectAmqpError((await channel(other)).consume(q, () => undefined), 405, locked(q));
    await expectAmqpError((await channel(other)).get(q), 405, locked(q));
    await expectAmqpError((await channel(other)).bindQueue(q, 'amq.fanout', ''), 405, locked(q));
    await expectAmqpError((await channel(other)).purgeQueue(q), 405, locked(q));
    await expectAmqpError((await channel(other)).deleteQueue(q), 405, locked(q));
    // Another channel of the owning connection may use it.
    await (await channel(owner)).checkQueue(q);
  });

  it('vanish when their connection closes', async () => {
    const owner = await b.connect();
    const q = uniq('excl-gone');
    await (await channel(owner)).assertQueue(q, { exclusive: true });
    await owner.close();
    const ch = await channel(await b.connect());
    await expectAmqpError(ch.checkQueue(q), 404);
  });
});

describe('auto-delete', () => {
  it('is deleted when its last consumer is cancelled, not before it had one', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const q = uniq('autodel');
    await ch.assertQueue(q, { autoDelete: true, durable: false });
    await ch.checkQueue(q); // no consumer yet: still there
    const c1 = await ch.consume(q, () => undefined);
    const c2 = await ch.consume(q, () => undefined);
    await ch.cancel(c1.consumerTag);
    await ch.checkQueue(q);
    await ch.cancel(c2.consumerTag);
    await expectAmqpError(ch.checkQueue(q), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`);
  });

  it('is deleted when the consuming channel closes', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const q = uniq('autodel-ch');
    await ch.assertQueue(q, { autoDelete: true, durable: false });
    const ch2 = await channel(conn);
    await ch2.consume(q, () => undefined);
    await ch2.close();
    await expectAmqpError(ch.checkQueue(q), 404);
  });
});

describe('bind, unbind, purge, delete', () => {
  it('bind and unbind change routing; unbinding something absent succeeds', async () => {
    const ch = await channel(await b.connect());
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, 'amq.direct', 'k1');
    ch.publish('amq.direct', 'k1', Buffer.from('bound'));
    await sync(ch);
    expect(await drain(ch, queue)).toEqual(['bound']);
    await ch.unbindQueue(queue, 'amq.direct', 'k1');
    ch.publish('amq.direct', 'k1', Buffer.from('unbound'));
    await sync(ch);
    expect(await drain(ch, queue)).toEqual([]);
    await ch.unbindQueue(queue, 'amq.direct', 'never-bound');
    await ch.unbindQueue(queue, uniq('no-exchange'), 'k');
  });

  it('binding a missing queue or to a missing exchange is 404', async () => {
    const conn = await b.connect();
    const q = uniq('nq');
    const x = uniq('nx');
    await expectAmqpError((await channel(conn)).bindQueue(q, 'amq.direct', 'k'), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`);
    const ch = await channel(conn);
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await expectAmqpError(ch.bindQueue(queue, x, 'k'), 404, `NOT_FOUND - no exchange '${x}' in vhost '/'`);
  });

  it('purge returns the number of ready messages removed', async () => {
    const ch = await channel(await b.connect());
    const { queue } = await ch.assertQueue('', { exclusive: true });
    for (let i = 0; i < 7; i++) ch.sendToQueue(queue, Buffer.from('x'));
    await sync(ch);
    expect(await ch.purgeQueue(queue)).toEqual({ messageCount: 7 });
    expect(await ch.purgeQueue(queue)).toEqual({ messageCount: 0 });
    const q = uniq('nopurge');
    await expectAmqpError(ch.purgeQueue(q), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`);
  });

  it('purge does not touch unacknowledged messages', async () => {
    const ch = await channel(await b.connect());
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('a'));
    ch.sendToQueue(queue, Buffer.from('b'));
    await sync(ch);
    const m = await ch.get(queue);
    expect(m).not.toBe(false);
    expect(await ch.purgeQueue(queue)).toEqual({ messageCount: 1 });
    if (m !== false) ch.nack(m, false, true);
    await sync(ch);
    expect(await drain(ch, queue)).toEqual(['a']);
  });

  it('delete returns the message count; deleting an absent queue succeeds', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('del');
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('1'));
    ch.sendToQueue(q, Buffer.from('2'));
    await sync(ch);
    expect(await ch.deleteQueue(q)).toEqual({ messageCount: 2 });
    expect(await ch.deleteQueue(q)).toEqual({ messageCount: 0 });
  });

  it('delete if-unused of a queue with consumers: 406', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const q = uniq('inuse');
    await ch.assertQueue(q, { durable: false });
    await ch.consume(q, () => undefined);
    await expectAmqpError((await channel(conn)).deleteQueue(q, { ifUnused: true }), 406, `PRECONDITION_FAILED - queue '${q}' in vhost '/' in use`);
    await ch.deleteQueue(q);
  });

  it('delete if-empty of a non-empty queue: 406', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const q = uniq('notempty');
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('x'));
    await sync(ch);
    await expectAmqpError((await channel(conn)).deleteQueue(q, { ifEmpty: true }), 406, `PRECONDITION_FAILED - queue '${q}' in vhost '/' not empty`);
    await ch.deleteQueue(q);
  });

  it('deleting a queue removes its bindings', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('rebind');
    const rk = uniq('rk');
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, 'amq.direct', rk);
    await ch.deleteQueue(q);
    await ch.assertQueue(q, { durable: false });
    ch.publish('amq.direct', rk, Buffer.from('x'));
    await sync(ch);
    expect(await drain(ch, q)).toEqual([]);
    await ch.deleteQueue(q);
  });
});

describe('ordering', () => {
  it('messages are delivered in publish order', async () => {
    const ch = await channel(await b.connect());
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const sent = Array.from({ length: 200 }, (_, i) => String(i));
    for (const s of sent) ch.sendToQueue(queue, Buffer.from(s));
    await sync(ch);
    await delay(10);
    expect(await drain(ch, queue)).toEqual(sent);
  });
});

describe('more declare edge cases (checked against RabbitMQ 3.10.8)', () => {
  const locked = (q: string): string =>
    `RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${q}' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`;

  it('redeclaring an exclusive queue as non-exclusive on the owning connection: 405 RESOURCE_LOCKED', async () => {
    const conn = await b.connect();
    const q = uniq('excl-flag');
    await (await channel(conn)).assertQueue(q, { exclusive: true });
    await expectAmqpError((await channel(conn)).assertQueue(q, { exclusive: false }), 405, locked(q));
  });

  it('redeclaring a non-exclusive queue as exclusive: 405 RESOURCE_LOCKED (same or other connection)', async () => {
    const conn = await b.connect();
    const other = await b.connect();
    const q = uniq('nonexcl-flag');
    const ch = await channel(conn);
    await ch.assertQueue(q, { exclusive: false, durable: false });
    await expectAmqpError((await channel(conn)).assertQueue(q, { exclusive: true, durable: false }), 405, locked(q));
    await expectAmqpError((await channel(other)).assertQueue(q, { exclusive: true, durable: false }), 405, locked(q));
    await ch.deleteQueue(q);
  });

  it('redeclare with other auto-delete: 406', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('ad-flag');
    await ch.assertQueue(q, { durable: false });
    await expectAmqpError(
      (await channel(await b.connect())).assertQueue(q, { durable: false, autoDelete: true }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'auto_delete' for queue '${q}' in vhost '/': received 'true' but current is 'false'`,
    );
    await ch.deleteQueue(q);
  });

  it('an empty queue name with no queue declared on the channel: 404 no previously declared queue', async () => {
    const conn = await b.connect();
    const text = 'NOT_FOUND - no previously declared queue';
    await expectAmqpError((await channel(conn)).consume('', () => undefined), 404, text);
    await expectAmqpError((await channel(conn)).get(''), 404, text);
    await expectAmqpError((await channel(conn)).purgeQueue(''), 404, text);
    await expectAmqpError((await channel(conn)).deleteQueue(''), 404, text);
    await expectAmqpError((await channel(conn)).bindQueue('', 'amq.direct', 'k'), 404, text);
  });

  it("an empty queue name and key in queue.bind use the channel's last declared queue", async () => {
    const ch = await channel(await b.connect());
    const q = uniq('last');
    await ch.assertQueue(q, { exclusive: true });
    await ch.bindQueue('', 'amq.direct', '');
    ch.publish('amq.direct', q, Buffer.from('via-last'));
    await sync(ch);
    expect(await drain(ch, q)).toEqual(['via-last']);
  });

  it('invalid x-arguments: 406 with RabbitMQ 3.10 texts', async () => {
    const conn = await b.connect();
    const cases: [Record<string, unknown>, (q: string) => string][] = [
      [{ 'x-max-length': 'ten' }, (q) => `PRECONDITION_FAILED - invalid arg 'x-max-length' for queue '${q}' in vhost '/': "expected integer, got longstr"`],
      [{ 'x-queue-type': 'bogus' }, (q) => `PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue '${q}' in vhost '/': "unsupported queue type 'bogus'"`],
      [{ 'x-message-ttl': -1 }, (q) => `PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue '${q}' in vhost '/': {value_negative,-1}`],
      [{ 'x-overflow': 'bogus' }, (q) => `PRECONDITION_FAILED - invalid arg 'x-overflow' for queue '${q}' in vhost '/': invalid_overflow`],
    ];
    for (const [args, text] of cases) {
      const q = uniq('badarg');
      await expectAmqpError((await channel(conn)).assertQueue(q, { durable: false, arguments: args }), 406, text(q));
    }
  });
});

describe('check order (checked against RabbitMQ 3.10.8)', () => {
  it('queue.bind with both the queue and the exchange missing reports the exchange', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('missing-q');
    const x = uniq('missing-x');
    await expectAmqpError(ch.bindQueue(q, x, 'k'), 404, `NOT_FOUND - no exchange '${x}' in vhost '/'`);
  });
});

