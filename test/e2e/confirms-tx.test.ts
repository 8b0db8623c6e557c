// Publisher confirms (sequence numbers, coalesced acks under load) and transactions
// (publishes and acks held until commit, dropped on rollback), plus their exclusion.

import { describe, expect, it } from 'vitest';
import { Connection as RmqConnection } from 'rabbitmq-client';
import { useBroker } from '../helpers/broker.js';
import { channel, confirmChannel, drain, sync, uniq } from '../helpers/amqp.js';
import { RawClient } from '../helpers/raw-client.js';
import { encodeBodyFrame, encodeContentHeaderPayload, encodeHeaderFrame, encodeMethodFrame } from '../../src/protocol/frame-writer.js';
import * as M from '../../src/protocol/generated/amqp.js';
import { ManualClock } from '../../src/util/clock.js';

const b = useBroker();
// Batch fsync on a manual clock: the store commits only when a test advances the clock.
const clock = new ManualClock();
const batched = useBroker({ clock, sync: 'batch', syncIntervalMs: 10, heartbeat: 0 });

function declare(c: RawClient, ch: number, queue: string, durable = false): Promise<M.QueueDeclareOk> {
  return c.call(ch, { id: M.QUEUE_DECLARE, ticket: 0, queue, passive: false, durable, exclusive: !durable, autoDelete: false, nowait: false, arguments: {} }, M.QUEUE_DECLARE_OK);
}

function passiveCount(c: RawClient, ch: number, queue: string): Promise<number> {
  return c
    .call(ch, { id: M.QUEUE_DECLARE, ticket: 0, queue, passive: true, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: {} }, M.QUEUE_DECLARE_OK)
    .then((ok) => ok.messageCount);
}

/** Bytes of n publishes to the default exchange. */
function publishes(ch: number, routingKey: string, n: number, props: M.BasicProperties = {}): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const body = Buffer.from(`m${i}`);
    parts.push(
      encodeMethodFrame(ch, { id: M.BASIC_PUBLISH, ticket: 0, exchange: '', routingKey, mandatory: false, immediate: false }),
      encodeHeaderFrame(ch, encodeContentHeaderPayload(60, body.length, props)),
      encodeBodyFrame(ch, body),
    );
  }
  return Buffer.concat(parts);
}

/** Tags an ack covers, given the tags acked before it (multiple covers every earlier unacked tag). */
function covered(a: M.BasicAck, seen: Set<number>): number[] {
  if (!a.multiple) return [a.deliveryTag];
  const out: number[] = [];
  for (let t = 1; t <= a.deliveryTag; t++) if (!seen.has(t)) out.push(t);
  return out;
}

/** Read basic.ack frames until every tag 1..last is covered; returns them. Acks may come out of order. */
async function acksUpTo(c: RawClient, last: number, ms = 5000, already: M.BasicAck[] = []): Promise<M.BasicAck[]> {
  const acks: M.BasicAck[] = [...already];
  const seen = new Set<number>();
  for (const a of already) for (const t of covered(a, seen)) seen.add(t);
  const deadline = Date.now() + ms;
  while (seen.size < last) {
    const { method } = await c.nextMethod(Math.max(1, deadline - Date.now()));
    if (method.id === M.BASIC_NACK) throw new Error(`unexpected nack ${method.deliveryTag}`);
    if (method.id !== M.BASIC_ACK) throw new Error(`unexpected ${M.METHOD_INFO.get(method.id)?.name}`);
    acks.push(method);
    for (const t of covered(method, seen)) seen.add(t);
  }
  return acks;
}

/** The acks cover exactly 1..last, no tag twice, none beyond. */
function checkCoverage(acks: M.BasicAck[], last: number): void {
  const seen = new Set<number>();
  for (const a of acks) {
    expect(a.deliveryTag).toBeGreaterThanOrEqual(1);
    expect(a.deliveryTag).toBeLessThanOrEqual(last);
    const tags = covered(a, seen);
    expect(tags.length, `ack ${a.deliveryTag} covers nothing new`).toBeGreaterThan(0);
    for (const t of tags) {
      expect(seen.has(t)).toBe(false);
      seen.add(t);
    }
  }
  expect(seen.size).toBe(last);
}

describe('publisher confirms', () => {
  it('sequence numbers start at 1 per channel and every publish is confirmed', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    await c.openChannel(2);
    const q = uniq('confirm-seq');
    await declare(c, 1, q);
    await c.call(1, { id: M.CONFIRM_SELECT, nowait: false }, M.CONFIRM_SELECT_OK);
    c.publish(1, '', q, Buffer.from('one'));
    const first = await c.expect(M.BASIC_ACK);
    expect(first).toMatchObject({ deliveryTag: 1, multiple: false });
    c.publish(1, '', q, Buffer.from('two'));
    c.publish(1, '', 'unroutable-but-acked', Buffer.from('three'));
    checkCoverage(await acksUpTo(c, 3, 5000, [first]), 3);
    // A second channel counts from 1 again.
    await c.call(2, { id: M.CONFIRM_SELECT, nowait: false }, M.CONFIRM_SELECT_OK);
    c.publish(2, '', q, Buffer.from('other'));
    const { channel: ackCh, method } = await c.nextMethod();
    expect(ackCh).toBe(2);
    expect(method).toMatchObject({ id: M.BASIC_ACK, deliveryTag: 1 });
    await c.close();
  });

  it('confirm.select nowait does not answer, but confirms still flow', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, { id: M.CONFIRM_SELECT, nowait: true });
    c.publish(1, '', 'nowhere', Buffer.from('x'));
    const { method } = await c.nextMethod();
    expect(method).toMatchObject({ id: M.BASIC_ACK, deliveryTag: 1 });
    await c.close();
  });

  it('acks are coalesced with multiple=true under load (10k publishes in one burst)', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    const q = uniq('confirm-burst');
    await declare(c, 1, q);
    await c.call(1, { id: M.CONFIRM_SELECT, nowait: false }, M.CONFIRM_SELECT_OK);
    const n = 10_000;
    c.send(publishes(1, q, n));
    const acks = await acksUpTo(c, n, 8000);
    checkCoverage(acks, n);
    expect(acks.some((a) => a.multiple)).toBe(true);
    expect(acks.length).toBeLessThan(n);
    expect(await passiveCount(c, 1, q)).toBe(n);
    await c.close();
  }, 15_000);

  it('persistent messages to a durable queue are confirmed only once a group commit has stored them (manual clock)', async () => {
    const c = await RawClient.open(batched.port);
    await c.openChannel(1);
    const q = uniq('confirm-durable');
    await declare(c, 1, q, true);
    await c.call(1, { id: M.CONFIRM_SELECT, nowait: false }, M.CONFIRM_SELECT_OK);
    c.send(publishes(1, q, 200, { deliveryMode: 2 }));
    // A round trip after the publishes: every one has been handled and queued, yet none may be
    // confirmed before the store's next group commit (batch mode: when the clock reaches it). An ack
    // arriving first would make this call fail on an unexpected basic.ack.
    expect(await passiveCount(c, 1, q)).toBe(200);
    expect(c.pending()).toEqual([]);
    // The batch timer is armed once the store's write completes, asynchronously: keep the clock
    // moving until the group commit has run.
    const ticker = setInterval(() => clock.advance(10), 5);
    try {
      checkCoverage(await acksUpTo(c, 200), 200);
    } finally {
      clearInterval(ticker);
    }
    await c.call(1, { id: M.QUEUE_DELETE, ticket: 0, queue: q, ifUnused: false, ifEmpty: false, nowait: false }, M.QUEUE_DELETE_OK);
    await c.close();
  });

  it('amqplib confirm channel: waitForConfirms resolves for 1000 publishes, each callback gets no error', async () => {
    const ch = await confirmChannel(await b.connect());
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const results: (Error | null | undefined)[] = [];
    for (let i = 0; i < 1000; i++) {
      ch.sendToQueue(queue, Buffer.from(String(i)), {}, (err: Error | null | undefined) => results.push(err));
    }
    await ch.waitForConfirms();
    expect(results).toHaveLength(1000);
    expect(results.every((e) => e === null || e === undefined)).toBe(true);
    expect((await ch.checkQueue(queue)).messageCount).toBe(1000);
  });

  it('rabbitmq-client publisher with confirms: 2000 concurrent publishes all resolve', async () => {
    const rabbit = new RmqConnection({ url: b.url, retryLow: 50, retryHigh: 100, connectionTimeout: 2000 });
    rabbit.on('error', () => undefined);
    try {
      const q = uniq('rmq-confirm');
      await rabbit.queueDeclare({ queue: q, exclusive: true });
      const pub = rabbit.createPublisher({ confirm: true, maxAttempts: 1 });
      await Promise.all(Array.from({ length: 2000 }, (_, i) => pub.send(q, `m${i}`)));
      const ok = await rabbit.queueDeclare({ queue: q, passive: true });
      expect(ok.messageCount).toBe(2000);
      await pub.close();
    } finally {
      await rabbit.close();
    }
  });
});

describe('transactions', () => {
  it('publishes are invisible until commit and discarded by rollback', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    await c.openChannel(2);
    const q = uniq('tx-pub');
    await declare(c, 1, q);
    await c.call(1, { id: M.TX_SELECT }, M.TX_SELECT_OK);
    c.publish(1, '', q, Buffer.from('a'));
    c.publish(1, '', q, Buffer.from('b'));
    expect(await passiveCount(c, 2, q)).toBe(0);
    await c.call(1, { id: M.TX_COMMIT }, M.TX_COMMIT_OK);
    expect(await passiveCount(c, 2, q)).toBe(2);
    c.publish(1, '', q, Buffer.from('c'));
    await c.call(1, { id: M.TX_ROLLBACK }, M.TX_ROLLBACK_OK);
    await c.call(1, { id: M.TX_COMMIT }, M.TX_COMMIT_OK);
    expect(await passiveCount(c, 2, q)).toBe(2);
    await c.close();
  });

  it('acks are held until commit and forgotten by rollback', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    const q = uniq('tx-ack');
    const ok = await c.call(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: q, passive: false, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: {} }, M.QUEUE_DECLARE_OK);
    expect(ok.queue).toBe(q);
    c.publish(1, '', q, Buffer.from('a'));
    c.publish(1, '', q, Buffer.from('b'));
    await c.call(1, { id: M.TX_SELECT }, M.TX_SELECT_OK);
    for (let i = 0; i < 2; i++) {
      await c.call(1, { id: M.BASIC_GET, ticket: 0, queue: q, noAck: false }, M.BASIC_GET_OK);
      await c.readContent();
    }
    c.sendMethod(1, { id: M.BASIC_ACK, deliveryTag: 2, multiple: true });
    await c.call(1, { id: M.TX_ROLLBACK }, M.TX_ROLLBACK_OK);
    // Rolled-back acks leave the messages unacked: closing the channel requeues both.
    await c.call(1, { id: M.CHANNEL_CLOSE, replyCode: 200, replyText: '', classId: 0, methodId: 0 }, M.CHANNEL_CLOSE_OK);
    await c.openChannel(1);
    expect(await passiveCount(c, 1, q)).toBe(2);
    await c.call(1, { id: M.TX_SELECT }, M.TX_SELECT_OK);
    for (let i = 0; i < 2; i++) {
      const get = await c.call(1, { id: M.BASIC_GET, ticket: 0, queue: q, noAck: false }, M.BASIC_GET_OK);
      expect(get.redelivered).toBe(true);
      await c.readContent();
    }
    c.sendMethod(1, { id: M.BASIC_ACK, deliveryTag: 2, multiple: true });
    await c.call(1, { id: M.TX_COMMIT }, M.TX_COMMIT_OK);
    await c.call(1, { id: M.CHANNEL_CLOSE, replyCode: 200, replyText: '', classId: 0, methodId: 0 }, M.CHANNEL_CLOSE_OK);
    await c.openChannel(1);
    expect(await passiveCount(c, 1, q)).toBe(0);
    await c.call(1, { id: M.QUEUE_DELETE, ticket: 0, queue: q, ifUnused: false, ifEmpty: false, nowait: false }, M.QUEUE_DELETE_OK);
    await c.close();
  });

  it('after tx.rollback the rolled-back delivery tags can be acked again (they are still unacked)', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    const q = uniq('tx-reack');
    await declare(c, 1, q);
    c.publish(1, '', q, Buffer.from('a'));
    await c.call(1, { id: M.TX_SELECT }, M.TX_SELECT_OK);
    await c.call(1, { id: M.BASIC_GET, ticket: 0, queue: q, noAck: false }, M.BASIC_GET_OK);
    await c.readContent();
    c.sendMethod(1, { id: M.BASIC_ACK, deliveryTag: 1, multiple: false });
    await c.call(1, { id: M.TX_ROLLBACK }, M.TX_ROLLBACK_OK);
    // RabbitMQ 3.10.8 (checked live) accepts this ack: tag 1 is unacked again after the rollback.
    c.sendMethod(1, { id: M.BASIC_ACK, deliveryTag: 1, multiple: false });
    await c.call(1, { id: M.TX_COMMIT }, M.TX_COMMIT_OK);
    expect(await passiveCount(c, 1, q)).toBe(0);
    await c.close();
  });

  it('tx.commit / tx.rollback on a non-transactional channel: 406', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, { id: M.TX_COMMIT });
    const close = await c.expectChannelClose(1);
    expect(close).toMatchObject({ replyCode: 406, replyText: 'PRECONDITION_FAILED - channel is not transactional', classId: 90, methodId: 20 });
    await c.openChannel(1);
    c.sendMethod(1, { id: M.TX_ROLLBACK });
    const close2 = await c.expectChannelClose(1);
    expect(close2).toMatchObject({ replyCode: 406, replyText: 'PRECONDITION_FAILED - channel is not transactional', classId: 90, methodId: 30 });
    await c.close();
  });

  it('confirm then tx.select: 406; tx then confirm.select: 406', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    await c.call(1, { id: M.CONFIRM_SELECT, nowait: false }, M.CONFIRM_SELECT_OK);
    c.sendMethod(1, { id: M.TX_SELECT });
    expect(await c.expectChannelClose(1)).toMatchObject({
      replyCode: 406,
      replyText: 'PRECONDITION_FAILED - cannot switch from confirm to tx mode',
      classId: 90,
      methodId: 10,
    });
    await c.openChannel(1);
    await c.call(1, { id: M.TX_SELECT }, M.TX_SELECT_OK);
    c.sendMethod(1, { id: M.CONFIRM_SELECT, nowait: false });
    expect(await c.expectChannelClose(1)).toMatchObject({
      replyCode: 406,
      replyText: 'PRECONDITION_FAILED - cannot switch from tx to confirm mode',
      classId: 85,
      methodId: 10,
    });
    await c.close();
  });

  it('a mandatory unroutable publish in a transaction is returned at commit', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    await c.call(1, { id: M.TX_SELECT }, M.TX_SELECT_OK);
    c.publish(1, 'amq.direct', uniq('void'), Buffer.from('r'), {}, { mandatory: true });
    c.sendMethod(1, { id: M.TX_COMMIT });
    const ret = await c.expect(M.BASIC_RETURN);
    expect(ret.replyCode).toBe(312);
    expect((await c.readContent()).body.toString()).toBe('r');
    await c.expect(M.TX_COMMIT_OK);
    await c.close();
  });
});

describe('amqplib sanity for confirm channels', () => {
  it('a plain channel and a confirm channel coexist on one connection', async () => {
    const conn = await b.connect();
    const plain = await channel(conn);
    const conf = await confirmChannel(conn);
    const { queue } = await plain.assertQueue('', { exclusive: true });
    plain.sendToQueue(queue, Buffer.from('p'));
    conf.sendToQueue(queue, Buffer.from('c'));
    await conf.waitForConfirms();
    await sync(plain);
    expect((await drain(plain, queue)).sort()).toEqual(['c', 'p']);
  });
});
