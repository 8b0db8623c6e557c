// basic.* through amqplib (and the raw client where frame order matters): publish
// flags, CC/BCC, user-id, consumers, get, ack/nack/reject, qos, recover.

import { describe, expect, it } from 'vitest';
import type * as amqplib from 'amqplib';
import { useBroker, delay } from '../helpers/broker.js';
import { bodies, channel, channelClosed, confirmChannel, drain, expectAmqpError, sync, take, uniq } from '../helpers/amqp.js';
import { RawClient } from '../helpers/raw-client.js';
import * as M from '../../src/protocol/generated/amqp.js';

const b = useBroker();

async function queueWith(ch: amqplib.Channel, messages: string[]): Promise<string> {
  const { queue } = await ch.assertQueue('', { exclusive: true });
  for (const m of messages) ch.sendToQueue(queue, Buffer.from(m));
  await sync(ch);
  return queue;
}

/** Collect deliveries into an array; `until(n)` waits for n of them. */
function collector(): { got: amqplib.ConsumeMessage[]; onMessage: (m: amqplib.ConsumeMessage | null) => void; until: (n: number, ms?: number) => Promise<void> } {
  const got: amqplib.ConsumeMessage[] = [];
  const waiters: (() => void)[] = [];
  return {
    got,
    onMessage: (m) => {
      if (m !== null) got.push(m);
      for (const w of waiters.splice(0)) w();
    },
    until: async (n, ms = 1500) => {
      const deadline = Date.now() + ms;
      while (got.length < n) {
        if (Date.now() > deadline) throw new Error(`got ${got.length} of ${n} deliveries`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
  };
}

describe('publish flags', () => {
  it('mandatory + unroutable: basic.return 312 NO_ROUTE arrives before the confirm ack', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    await c.call(1, { id: M.CONFIRM_SELECT, nowait: false }, M.CONFIRM_SELECT_OK);
    c.publish(1, 'amq.direct', 'no-such-route', Buffer.from('bounce'), { messageId: 'm1' }, { mandatory: true });
    const ret = await c.expect(M.BASIC_RETURN);
    expect(ret).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', exchange: 'amq.direct', routingKey: 'no-such-route' });
    const content = await c.readContent();
    expect(content.body.toString()).toBe('bounce');
    expect(content.props.messageId).toBe('m1');
    const ack = await c.expect(M.BASIC_ACK);
    expect(ack).toMatchObject({ deliveryTag: 1, multiple: false });
    await c.close();
  });

  it('mandatory + unroutable through amqplib emits "return"; non-mandatory is dropped silently', async () => {
    const ch = await confirmChannel(await b.connect());
    const returned: string[] = [];
    ch.on('return', (m: amqplib.Message) => returned.push(`${(m.fields as unknown as { replyCode: number }).replyCode}:${m.content.toString()}`));
    ch.publish('amq.direct', uniq('nowhere'), Buffer.from('dropped'));
    ch.publish('amq.direct', uniq('nowhere'), Buffer.from('returned'), { mandatory: true });
    await ch.waitForConfirms();
    await delay(20);
    expect(returned).toEqual(['312:returned']);
  });

  it('immediate=true is a 540 NOT_IMPLEMENTED connection error', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.publish(1, '', 'q', Buffer.from('x'), {}, { immediate: true });
    const close = await c.expectConnectionClose();
    expect(close).toMatchObject({ replyCode: 540, replyText: 'NOT_IMPLEMENTED - immediate=true', classId: 60, methodId: 40 });
    expect(await c.waitClosed()).toBe(true);
  });
});

describe('sender-selected distribution and user-id', () => {
  it('CC and BCC add routing keys; BCC is removed before delivery, CC kept', async () => {
    const ch = await channel(await b.connect());
    const keys = { main: uniq('main'), cc: uniq('cc'), bcc: uniq('bcc') };
    const q: Record<string, string> = {};
    for (const [label, key] of Object.entries(keys)) {
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(queue, 'amq.direct', key);
      q[label] = queue;
    }
    ch.publish('amq.direct', keys.main, Buffer.from('m'), { headers: { CC: [keys.cc], BCC: [keys.bcc], other: 'kept' } });
    await sync(ch);
    for (const label of ['main', 'cc', 'bcc']) {
      const m = await ch.get(q[label] as string, { noAck: true });
      expect(m, label).not.toBe(false);
      if (m === false) continue;
      expect(m.fields.routingKey).toBe(keys.main);
      expect(m.properties.headers?.['CC']).toEqual([keys.cc]);
      expect(m.properties.headers?.['other']).toBe('kept');
      expect(m.properties.headers && 'BCC' in m.properties.headers).toBe(false);
    }
  });

  it('a queue matched by both the key and CC gets one copy', async () => {
    const ch = await channel(await b.connect());
    const key = uniq('both');
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, 'amq.direct', key);
    ch.publish('amq.direct', key, Buffer.from('once'), { headers: { CC: [key] } });
    await sync(ch);
    expect(await drain(ch, queue)).toEqual(['once']);
  });

  it('the alternate exchange is used only when no routing key (main or CC) matched (RabbitMQ 3.10.8)', async () => {
    const ch = await channel(await b.connect());
    const main = uniq('cc-main');
    const ae = uniq('cc-ae');
    await ch.assertExchange(main, 'direct', { durable: false, alternateExchange: ae });
    await ch.assertExchange(ae, 'fanout', { durable: false });
    const routed = await ch.assertQueue('', { exclusive: true });
    const caught = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(routed.queue, main, 'known');
    await ch.bindQueue(caught.queue, ae, '');
    // Main key matches, CC key does not: routed, so the AE is not consulted.
    ch.publish(main, 'known', Buffer.from('partly-routed'), { headers: { CC: ['unknown'] } });
    // Neither matches: the AE takes it.
    ch.publish(main, 'nope', Buffer.from('unrouted'), { headers: { CC: ['unknown'] } });
    await sync(ch);
    expect(await drain(ch, routed.queue)).toEqual(['partly-routed']);
    expect(await drain(ch, caught.queue)).toEqual(['unrouted']);
  });

  it('user-id equal to the login is accepted; any other is 406', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const queue = await queueWith(ch, []);
    ch.sendToQueue(queue, Buffer.from('ok'), { userId: 'guest' });
    await sync(ch);
    const m = await ch.get(queue, { noAck: true });
    expect(m !== false && m.properties.userId).toBe('guest');
    const ch2 = await channel(conn);
    ch2.sendToQueue(queue, Buffer.from('spoof'), { userId: 'admin' });
    await expectAmqpError(sync(ch2), 406, "PRECONDITION_FAILED - user_id property set to 'admin' but authenticated user was 'guest'");
  });
});

describe('consumers', () => {
  it('server-generated consumer tags are amq.ctag-…; client tags are kept', async () => {
    const ch = await channel(await b.connect());
    const queue = await queueWith(ch, []);
    const a = await ch.consume(queue, () => undefined);
    expect(a.consumerTag).toMatch(/^amq\.ctag-[A-Za-z0-9_-]{22}$/);
    const c = await ch.consume(queue, () => undefined, { consumerTag: 'my-tag' });
    expect(c.consumerTag).toBe('my-tag');
  });

  it('reusing a consumer tag on the channel is a 530 connection error', async () => {
    const conn = await b.connect();
    const closed = new Promise<Error & { code?: number }>((r) => conn.once('error', r));
    const ch = await channel(conn);
    const queue = await queueWith(ch, []);
    await ch.consume(queue, () => undefined, { consumerTag: 'dup' });
    ch.consume(queue, () => undefined, { consumerTag: 'dup' }).catch(() => undefined);
    const err = await closed;
    expect(err.code).toBe(530);
    expect(err.message).toContain("NOT_ALLOWED - attempt to reuse consumer tag 'dup'");
  });

  it('exclusive consume: a second consumer is 403; exclusive on a queue with consumers is 403', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const q1 = await queueWith(ch, []);
    await ch.consume(q1, () => undefined, { exclusive: true });
    await expectAmqpError((await channel(conn)).consume(q1, () => undefined), 403, `ACCESS_REFUSED - queue '${q1}' in vhost '/' in exclusive use`);
    const q2 = await queueWith(ch, []);
    await ch.consume(q2, () => undefined);
    await expectAmqpError((await channel(conn)).consume(q2, () => undefined, { exclusive: true }), 403, `ACCESS_REFUSED - queue '${q2}' in vhost '/' in exclusive use`);
  });

  it('cancel stops deliveries; cancelling an unknown tag still answers cancel-ok', async () => {
    const ch = await channel(await b.connect());
    const queue = await queueWith(ch, []);
    const col = collector();
    const { consumerTag } = await ch.consume(queue, col.onMessage, { noAck: true });
    ch.sendToQueue(queue, Buffer.from('before'));
    await col.until(1);
    expect(await ch.cancel(consumerTag)).toEqual({ consumerTag });
    ch.sendToQueue(queue, Buffer.from('after'));
    await sync(ch);
    await delay(20);
    expect(bodies(col.got)).toEqual(['before']);
    expect(await drain(ch, queue)).toEqual(['after']);
    expect(await ch.cancel('never-existed')).toEqual({ consumerTag: 'never-existed' });
  });

  it('deleting the queue sends basic.cancel to its consumers (consumer_cancel_notify)', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const q = uniq('cancelled');
    await ch.assertQueue(q, { durable: false });
    const cancelled = new Promise<null>((resolve) => {
      void ch.consume(q, (m) => {
        if (m === null) resolve(null);
      });
    });
    await sync(ch);
    await (await channel(conn)).deleteQueue(q);
    expect(await Promise.race([cancelled, delay(1000).then(() => 'timeout')])).toBeNull();
  });

  it('raw: basic.cancel from the server carries the consumer tag', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    const q = uniq('rawcancel');
    await c.call(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: q, passive: false, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: {} }, M.QUEUE_DECLARE_OK);
    await c.call(1, { id: M.BASIC_CONSUME, ticket: 0, queue: q, consumerTag: 'ctag-1', noLocal: false, noAck: false, exclusive: false, nowait: false, arguments: {} }, M.BASIC_CONSUME_OK);
    await c.openChannel(2);
    c.sendMethod(2, { id: M.QUEUE_DELETE, ticket: 0, queue: q, ifUnused: false, ifEmpty: false, nowait: false });
    // basic.cancel (channel 1) and queue.delete-ok (channel 2) may come in either order.
    const two = [await c.nextMethod(), await c.nextMethod()];
    const deleteOk = two.find((x) => x.method.id === M.QUEUE_DELETE_OK);
    expect(deleteOk?.channel).toBe(2);
    const cancel = two.find((x) => x.method.id === M.BASIC_CANCEL);
    expect(cancel).toBeDefined();
    const { channel: chId, method } = cancel as { channel: number; method: M.Method };
    expect(chId).toBe(1);
    expect(method).toMatchObject({ id: M.BASIC_CANCEL, consumerTag: 'ctag-1' });
    await c.close();
  });

  it('messages are spread round-robin across consumers', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const queue = await queueWith(ch, []);
    const a = collector();
    const c = collector();
    await ch.consume(queue, a.onMessage, { noAck: true });
    await ch.consume(queue, c.onMessage, { noAck: true });
    for (let i = 0; i < 10; i++) ch.sendToQueue(queue, Buffer.from(String(i)));
    await Promise.all([a.until(5), c.until(5)]);
    expect(bodies(a.got)).toEqual(['0', '2', '4', '6', '8']);
    expect(bodies(c.got)).toEqual(['1', '3', '5', '7', '9']);
  });
});

describe('basic.get', () => {
  it('get-ok carries the remaining count; an empty queue gives get-empty', async () => {
    const ch = await channel(await b.connect());
    const queue = await queueWith(ch, ['a', 'b', 'c']);
    const m = await ch.get(queue, { noAck: true });
    expect(m).not.toBe(false);
    if (m !== false) {
      expect(m.content.toString()).toBe('a');
      expect(m.fields.messageCount).toBe(2);
      expect(m.fields.redelivered).toBe(false);
      expect(m.fields.deliveryTag).toBe(1);
    }
    await drain(ch, queue);
    expect(await ch.get(queue)).toBe(false);
  });

  it('get of a missing queue is 404', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('noget');
    await expectAmqpError(ch.get(q), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`);
  });
});

describe('acknowledgements', () => {
  it('ack multiple settles everything up to the tag', async () => {
    const ch = await channel(await b.connect());
    const queue = await queueWith(ch, ['1', '2', '3', '4']);
    const ms: amqplib.GetMessage[] = [];
    for (let i = 0; i < 4; i++) {
      const m = await ch.get(queue);
      if (m !== false) ms.push(m);
    }
    expect(ms.map((m) => m.fields.deliveryTag)).toEqual([1, 2, 3, 4]);
    ch.ack(ms[2] as amqplib.GetMessage, true); // 1..3
    ch.nack(ms[3] as amqplib.GetMessage, false, true);
    await sync(ch);
    expect(await drain(ch, queue)).toEqual(['4']);
  });

  it('nack/reject with requeue put messages back at the front, redelivered=true, in original order', async () => {
    const ch = await channel(await b.connect());
    const queue = await queueWith(ch, ['a', 'b', 'c', 'd']);
    const got: amqplib.GetMessage[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await ch.get(queue);
      if (m !== false) got.push(m);
    }
    ch.reject(got[1] as amqplib.GetMessage, true); // b
    ch.nack(got[0] as amqplib.GetMessage, false, true); // a
    ch.nack(got[2] as amqplib.GetMessage, false, false); // c dropped
    await sync(ch);
    const again: [string, boolean][] = [];
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (m === false) break;
      again.push([m.content.toString(), m.fields.redelivered]);
    }
    expect(again).toEqual([
      ['a', true],
      ['b', true],
      ['d', false],
    ]);
  });

  it('nack multiple with requeue returns all earlier deliveries', async () => {
    const ch = await channel(await b.connect());
    const queue = await queueWith(ch, ['1', '2', '3']);
    const col = collector();
    await ch.consume(queue, col.onMessage);
    await col.until(3);
    const { consumerTag } = col.got[0]?.fields as amqplib.ConsumeMessageFields;
    await ch.cancel(consumerTag);
    ch.nack(col.got[2] as amqplib.ConsumeMessage, true, true);
    await sync(ch);
    const after = await take(ch, queue, 3);
    expect(after.map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([
      ['1', true],
      ['2', true],
      ['3', true],
    ]);
  });

  it('requeued messages come back before newer ones to a live consumer', async () => {
    const ch = await channel(await b.connect());
    const queue = await queueWith(ch, ['old']);
    const m = await ch.get(queue);
    ch.sendToQueue(queue, Buffer.from('new'));
    if (m !== false) ch.nack(m, false, true);
    await sync(ch);
    const got = await take(ch, queue, 2);
    expect(got.map((x) => [x.content.toString(), x.fields.redelivered])).toEqual([
      ['old', true],
      ['new', false],
    ]);
  });

  it('acking an unknown tag is a 406 channel error', async () => {
    const ch = await channel(await b.connect());
    const closed = channelClosed(ch);
    ch.ack({ fields: { deliveryTag: 42 } } as amqplib.Message);
    const err = await closed;
    expect(err.code).toBe(406);
    expect(err.message).toContain('PRECONDITION_FAILED - unknown delivery tag 42');
  });

  it('acking the same tag twice is a 406 channel error', async () => {
    const ch = await channel(await b.connect());
    const queue = await queueWith(ch, ['x']);
    const m = await ch.get(queue);
    const closed = channelClosed(ch);
    if (m !== false) {
      ch.ack(m);
      ch.ack(m);
    }
    const err = await closed;
    expect(err.code).toBe(406);
    expect(err.message).toContain('PRECONDITION_FAILED - unknown delivery tag 1');
  });

  it('unacked messages are requeued when the channel closes', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const q = uniq('requeue-on-close');
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('x'));
    await sync(ch);
    const ch2 = await channel(conn);
    const m = await ch2.get(q);
    expect(m).not.toBe(false);
    await ch2.close();
    const again = await ch.get(q, { noAck: true });
    expect(again !== false && again.fields.redelivered).toBe(true);
    await ch.deleteQueue(q);
  });

  it('delivery tags are per channel and start at 1', async () => {
    const conn = await b.connect();
    const ch1 = await channel(conn);
    const ch2 = await channel(conn);
    const queue = await queueWith(ch1, ['a', 'b']);
    const m1 = await ch1.get(queue, { noAck: true });
    const m2 = await ch2.get(queue, { noAck: true });
    expect(m1 !== false && m1.fields.deliveryTag).toBe(1);
    expect(m2 !== false && m2.fields.deliveryTag).toBe(1);
  });
});

describe('qos', () => {
  it('per-consumer prefetch (global=false) limits each consumer separately', async () => {
    const ch = await channel(await b.connect());
    const queue = await queueWith(ch, Array.from({ length: 10 }, (_, i) => String(i)));
    await ch.prefetch(2, false);
    const a = collector();
    const c = collector();
    await ch.consume(queue, a.onMessage);
    await ch.consume(queue, c.onMessage);
    await Promise.all([a.until(2), c.until(2)]);
    await delay(50);
    expect([a.got.length, c.got.length]).toEqual([2, 2]);
    ch.ack(a.got[1] as amqplib.ConsumeMessage, true);
    await a.until(4);
    await delay(50);
    expect([a.got.length, c.got.length]).toEqual([4, 2]);
  });

  it('global prefetch (global=true) is shared by all consumers on the channel', async () => {
    const ch = await channel(await b.connect());
    const queue = await queueWith(ch, Array.from({ length: 10 }, (_, i) => String(i)));
    await ch.prefetch(3, true);
    const a = collector();
    const c = collector();
    await ch.consume(queue, a.onMessage);
    await ch.consume(queue, c.onMessage);
    await delay(80);
    expect(a.got.length + c.got.length).toBe(3);
    ch.ackAll();
    await delay(80);
    expect(a.got.length + c.got.length).toBe(6);
  });

  it('per-consumer prefetch applies only to consumers created after basic.qos', async () => {
    const ch = await channel(await b.connect());
    const queue = await queueWith(ch, Array.from({ length: 6 }, (_, i) => String(i)));
    const early = collector();
    await ch.consume(queue, early.onMessage); // unlimited
    await early.until(6);
    expect(early.got.length).toBe(6);
    await ch.prefetch(1, false);
    const q2 = await queueWith(ch, ['a', 'b', 'c']);
    const late = collector();
    await ch.consume(q2, late.onMessage);
    await late.until(1);
    await delay(50);
    expect(late.got.length).toBe(1);
  });

  it('prefetch counts in-flight messages: acking one lets exactly one more through', async () => {
    const ch = await channel(await b.connect());
    const queue = await queueWith(ch, ['1', '2', '3', '4']);
    await ch.prefetch(1);
    const col = collector();
    await ch.consume(queue, col.onMessage);
    for (let i = 1; i <= 4; i++) {
      await col.until(i);
      await delay(20);
      expect(col.got.length).toBe(i);
      ch.ack(col.got[i - 1] as amqplib.ConsumeMessage);
    }
    expect(bodies(col.got)).toEqual(['1', '2', '3', '4']);
  });

  it('prefetch_size != 0 is a 540 NOT_IMPLEMENTED connection error', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, { id: M.BASIC_QOS, prefetchSize: 1024, prefetchCount: 0, global: false });
    const close = await c.expectConnectionClose();
    expect(close).toMatchObject({ replyCode: 540, replyText: 'NOT_IMPLEMENTED - prefetch_size!=0 (1024)', classId: 60, methodId: 10 });
  });
});

describe('recover', () => {
  it('basic.recover(requeue=true) redelivers unacked messages with redelivered=true', async () => {
    const ch = await channel(await b.connect());
    const queue = await queueWith(ch, ['a', 'b']);
    const col = collector();
    await ch.consume(queue, col.onMessage);
    await col.until(2);
    await ch.recover();
    await col.until(4);
    expect(col.got.slice(2).map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([
      ['a', true],
      ['b', true],
    ]);
  });

  it('basic.recover(requeue=false) is 540 NOT_IMPLEMENTED', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, { id: M.BASIC_RECOVER, requeue: false });
    const close = await c.expectConnectionClose();
    expect(close).toMatchObject({ replyCode: 540, replyText: 'NOT_IMPLEMENTED - requeue=false' });
  });

  it('channel.flow(active=false) from a client is 540 NOT_IMPLEMENTED', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, { id: M.CHANNEL_FLOW, active: false });
    const close = await c.expectConnectionClose();
    expect(close).toMatchObject({ replyCode: 540, replyText: 'NOT_IMPLEMENTED - active=false' });
  });
});

describe('content', () => {
  it('properties and a large multi-frame body arrive intact', async () => {
    const ch = await channel(await b.connect());
    const queue = await queueWith(ch, []);
    const body = Buffer.alloc(300_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    ch.sendToQueue(queue, body, {
      contentType: 'application/octet-stream',
      contentEncoding: 'identity',
      headers: { a: 1, nested: { x: 'y' }, list: [1, 'two'] },
      deliveryMode: 2,
      priority: 3,
      correlationId: 'corr',
      replyTo: 'reply',
      expiration: '60000',
      messageId: 'mid',
      timestamp: 1_700_000_000,
      type: 'kind',
      appId: 'app',
    });
    const [m] = await take(ch, queue, 1);
    expect(m?.content.equals(body)).toBe(true);
    expect(m?.properties).toMatchObject({
      contentType: 'application/octet-stream',
      contentEncoding: 'identity',
      headers: { a: 1, nested: { x: 'y' }, list: [1, 'two'] },
      deliveryMode: 2,
      priority: 3,
      correlationId: 'corr',
      replyTo: 'reply',
      expiration: '60000',
      messageId: 'mid',
      timestamp: 1_700_000_000,
      type: 'kind',
      appId: 'app',
    });
  });
});

describe('large bodies', () => {
  it('bodies from 4 KiB to several frames arrive byte for byte, interleaved with small ones (they span socket reads)', async () => {
    const conn = await b.connect();
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const sizes = [4096, 16, 65_536, 100, 131_064, 300_000, 5000, 1];
    const sent = sizes.map((n, i) => {
      const body = Buffer.allocUnsafe(n);
      for (let j = 0; j < n; j++) body[j] = (j * 31 + i) & 0xff;
      return body;
    });
    for (let round = 0; round < 5; round++) for (const body of sent) ch.sendToQueue(queue, body);
    await sync(ch);
    const c = collector();
    await ch.consume(queue, c.onMessage, { noAck: true });
    await c.until(sent.length * 5, 5000);
    c.got.forEach((m, i) => expect(m.content.equals(sent[i % sent.length] as Buffer)).toBe(true));
  });
});
