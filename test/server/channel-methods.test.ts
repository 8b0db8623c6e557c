// Raw-socket checks of method placement and delivery-tag bookkeeping, with the reply
// codes and texts RabbitMQ 3.10.8 was observed to send for the same bytes.

import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import * as M from '../../src/protocol/generated/amqp.js';

const b = useBroker();

/** Open a connection with channel 1, a fresh exclusive queue holding n messages fetched unacked (tags 1..n). */
async function withUnacked(n: number): Promise<RawClient> {
  const c = await RawClient.open(b.port);
  await c.openChannel(1);
  const q = `unacked-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await c.call(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: q, passive: false, durable: false, exclusive: true, autoDelete: false, nowait: false, arguments: {} }, M.QUEUE_DECLARE_OK);
  for (let i = 0; i < n; i++) c.publish(1, '', q, Buffer.from(`m${i}`));
  for (let i = 0; i < n; i++) {
    const ok = await c.call(1, { id: M.BASIC_GET, ticket: 0, queue: q, noAck: false }, M.BASIC_GET_OK);
    expect(ok.deliveryTag).toBe(i + 1);
    await c.readContent();
  }
  return c;
}

const qos = { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false } as const;

describe('delivery tags', () => {
  it('ack multiple with a tag beyond the outstanding ones: 406 unknown delivery tag', async () => {
    const c = await withUnacked(3);
    c.sendMethod(1, { id: M.BASIC_ACK, deliveryTag: 5, multiple: true });
    expect(await c.expectChannelClose(1)).toMatchObject({ replyCode: 406, replyText: 'PRECONDITION_FAILED - unknown delivery tag 5', classId: 60, methodId: 80 });
    await c.close();
  });

  it('ack multiple at a tag that was already acked: 406 unknown delivery tag', async () => {
    const c = await withUnacked(3);
    c.sendMethod(1, { id: M.BASIC_ACK, deliveryTag: 2, multiple: false });
    c.sendMethod(1, { id: M.BASIC_ACK, deliveryTag: 2, multiple: true });
    expect(await c.expectChannelClose(1)).toMatchObject({ replyCode: 406, replyText: 'PRECONDITION_FAILED - unknown delivery tag 2', classId: 60, methodId: 80 });
    await c.close();
  });

  it('nack multiple with a tag beyond the outstanding ones: 406 (method 120)', async () => {
    const c = await withUnacked(2);
    c.sendMethod(1, { id: M.BASIC_NACK, deliveryTag: 9, multiple: true, requeue: true });
    expect(await c.expectChannelClose(1)).toMatchObject({ replyCode: 406, replyText: 'PRECONDITION_FAILED - unknown delivery tag 9', classId: 60, methodId: 120 });
    await c.close();
  });

  it('ack multiple with tag 0 acks everything outstanding (and is fine when nothing is)', async () => {
    const c = await withUnacked(3);
    c.sendMethod(1, { id: M.BASIC_ACK, deliveryTag: 0, multiple: true });
    c.sendMethod(1, { id: M.BASIC_ACK, deliveryTag: 0, multiple: true });
    await c.call(1, qos, M.BASIC_QOS_OK);
    // Nothing is left to ack: tag 1 is now unknown.
    c.sendMethod(1, { id: M.BASIC_ACK, deliveryTag: 1, multiple: false });
    expect((await c.expectChannelClose(1)).replyText).toBe('PRECONDITION_FAILED - unknown delivery tag 1');
    await c.close();
  });

  it('ack of tag 0 without multiple: 406 unknown delivery tag 0', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, { id: M.BASIC_ACK, deliveryTag: 0, multiple: false });
    expect(await c.expectChannelClose(1)).toMatchObject({ replyCode: 406, replyText: 'PRECONDITION_FAILED - unknown delivery tag 0' });
    await c.close();
  });
});

describe('method placement', () => {
  it('a channel-class or basic-class method on channel 0: 504 CHANNEL_ERROR', async () => {
    for (const m of [qos, { id: M.CHANNEL_OPEN, outOfBand: '' } as const]) {
      const c = await RawClient.open(b.port);
      c.sendMethod(0, m);
      const close = await c.expectConnectionClose();
      const info = M.METHOD_INFO.get(m.id);
      expect(close).toMatchObject({
        replyCode: 504,
        replyText: 'CHANNEL_ERROR - unexpected method in connection state running',
        classId: info?.classId,
        methodId: info?.methodId,
      });
      c.destroy();
    }
  });

  it('a second connection.open after the handshake: 504 CHANNEL_ERROR', async () => {
    const c = await RawClient.open(b.port);
    c.sendMethod(0, { id: M.CONNECTION_OPEN, virtualHost: '/', capabilities: '', insist: false });
    const close = await c.expectConnectionClose();
    expect(close).toMatchObject({ replyCode: 504, replyText: 'CHANNEL_ERROR - unexpected method in connection state running', classId: 10, methodId: 40 });
    c.destroy();
  });

  it('a connection-class method on a non-zero channel: 503 COMMAND_INVALID (connection error)', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, { id: M.CONNECTION_TUNE_OK, channelMax: 0, frameMax: 131072, heartbeat: 0 });
    const close = await c.expectConnectionClose();
    expect(close).toMatchObject({ replyCode: 503, replyText: 'COMMAND_INVALID - unimplemented method', classId: 10, methodId: 31 });
    c.destroy();
  });

  it('channel.close-ok on an open channel (no close pending): 503 COMMAND_INVALID', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, { id: M.CHANNEL_CLOSE_OK });
    const close = await c.expectConnectionClose();
    expect(close).toMatchObject({ replyCode: 503, replyText: 'COMMAND_INVALID - unimplemented method', classId: 20, methodId: 41 });
    c.destroy();
  });

  it('failed login with authentication_failure_close: close carries class/method 0/0', async () => {
    const c = await RawClient.open(b.port, { password: 'nope', stopAfterStartOk: true });
    const close = await c.expectConnectionClose();
    expect(close).toEqual({
      id: M.CONNECTION_CLOSE,
      replyCode: 403,
      replyText: 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.',
      classId: 0,
      methodId: 0,
    });
    c.destroy();
  });

  it('tune-ok frame_max above the server maximum: the connection never opens', async () => {
    const c = await RawClient.open(b.port, { tuneOk: { frameMax: 200_000 }, stopAfterTuneOk: true });
    c.sendMethod(0, { id: M.CONNECTION_OPEN, virtualHost: '/', capabilities: '', insist: false });
    // RabbitMQ 3.10 drops the socket after a delay without a method; a 530 close is also a refusal.
    let got: M.Method | null = null;
    try {
      got = (await c.nextMethod(3500)).method;
    } catch {
      got = null;
    }
    if (got !== null) {
      expect(got.id).toBe(M.CONNECTION_CLOSE);
      if (got.id === M.CONNECTION_CLOSE) expect(got.replyCode).toBe(530);
      c.sendMethod(0, { id: M.CONNECTION_CLOSE_OK });
    }
    expect(await c.waitClosed(3500)).toBe(true);
  }, 8000);
});

describe('delivery framing and notifications', () => {
  it('deliveries are cut into body frames of at most the negotiated frame_max', async () => {
    const c = await RawClient.open(b.port, { tuneOk: { frameMax: 4096 } });
    await c.openChannel(1);
    const q = `fm-${process.pid}`;
    await c.call(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: q, passive: false, durable: false, exclusive: true, autoDelete: false, nowait: false, arguments: {} }, M.QUEUE_DECLARE_OK);
    const body = Buffer.alloc(10_000);
    for (let i = 0; i < body.length; i++) body[i] = i & 0xff;
    c.sendMethod(1, { id: M.BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: q, mandatory: false, immediate: false });
    c.sendHeader(1, body.length);
    for (let i = 0; i < body.length; i += 4088) c.sendBody(1, body.subarray(i, i + 4088));
    await c.call(1, { id: M.BASIC_GET, ticket: 0, queue: q, noAck: true }, M.BASIC_GET_OK);
    const header = await c.nextFrame();
    expect(header.type).toBe('header');
    const sizes: number[] = [];
    const parts: Buffer[] = [];
    while (parts.reduce((n, p) => n + p.length, 0) < body.length) {
      const f = await c.nextFrame();
      if (f.type !== 'body') throw new Error(`unexpected ${f.type} frame`);
      sizes.push(f.payload.length);
      parts.push(f.payload);
    }
    // Same cut as RabbitMQ 3.10.8: frame_max minus the 8 bytes of frame overhead.
    expect(sizes).toEqual([4088, 4088, 1824]);
    expect(Buffer.concat(parts).equals(body)).toBe(true);
    await c.close();
  });

  it('without consumer_cancel_notify, deleting the queue sends no basic.cancel; a later cancel is still answered', async () => {
    const c = await RawClient.open(b.port, { capabilities: {} });
    await c.openChannel(1);
    await c.openChannel(2);
    const q = `nocancel-${process.pid}`;
    await c.call(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: q, passive: false, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: {} }, M.QUEUE_DECLARE_OK);
    await c.call(1, { id: M.BASIC_CONSUME, ticket: 0, queue: q, consumerTag: 't1', noLocal: false, noAck: false, exclusive: false, nowait: false, arguments: {} }, M.BASIC_CONSUME_OK);
    await c.call(2, { id: M.QUEUE_DELETE, ticket: 0, queue: q, ifUnused: false, ifEmpty: false, nowait: false }, M.QUEUE_DELETE_OK);
    await expect(c.nextMethod(300)).rejects.toThrow(/timed out/);
    const ok = await c.call(1, { id: M.BASIC_CANCEL, consumerTag: 't1', nowait: false }, M.BASIC_CANCEL_OK);
    expect(ok.consumerTag).toBe('t1');
    await c.close();
  });

  it('many channels on one connection work independently', async () => {
    const c = await RawClient.open(b.port);
    const ids = Array.from({ length: 100 }, (_, i) => i + 1);
    for (const id of ids) c.sendMethod(id, { id: M.CHANNEL_OPEN, outOfBand: '' });
    const opened = new Set<number>();
    for (const _ of ids) {
      const { channel, method } = await c.nextMethod();
      expect(method.id).toBe(M.CHANNEL_OPEN_OK);
      opened.add(channel);
    }
    expect(opened.size).toBe(100);
    for (const id of ids) c.sendMethod(id, qos);
    for (const _ of ids) expect((await c.nextMethod()).method.id).toBe(M.BASIC_QOS_OK);
    await c.close();
  });
});
