// One bad input per test over a raw socket: the exact reply code, and that other
// connections (and other channels) keep working afterwards.

import { describe, expect, it } from 'vitest';
import { connect as netConnect } from 'node:net';
import { useBroker } from '../helpers/broker.js';
import { fresh, useBystander } from './raw-connections.js';
import { RawClient, rawFrame } from '../helpers/raw-client.js';
import { PROTOCOL_HEADER, encodeMethodFrame } from '../../src/protocol/frame-writer.js';
import * as M from '../../src/protocol/generated/amqp.js';

const b = useBroker();
const bystander = useBystander(b);
let probeCount = 0;

/** The bystander connection still answers a synchronous method. */
async function bystanderWorks(): Promise<void> {
  const name = `bystander-${++probeCount}`;
  const ok = await bystander().call(
    1,
    { id: M.QUEUE_DECLARE, ticket: 0, queue: name, passive: false, durable: false, exclusive: true, autoDelete: false, nowait: false, arguments: {} },
    M.QUEUE_DECLARE_OK,
  );
  expect(ok.queue).toBe(name);
}

async function expectHardError(c: RawClient, code: number, text?: RegExp): Promise<M.ConnectionClose> {
  const close = await c.expectConnectionClose();
  expect(close.replyCode, close.replyText).toBe(code);
  if (text !== undefined) expect(close.replyText).toMatch(text);
  expect(await c.waitClosed()).toBe(true);
  await bystanderWorks();
  return close;
}

function publishMethod(channel: number, routingKey = 'x'): Buffer {
  return encodeMethodFrame(channel, { id: M.BASIC_PUBLISH, ticket: 0, exchange: '', routingKey, mandatory: false, immediate: false });
}

describe('frame-level errors', () => {
  it('bad frame-end octet: 501 FRAME_ERROR', async () => {
    const c = await fresh(b.port);
    const good = encodeMethodFrame(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false });
    good[good.length - 1] = 0xcd;
    c.send(good);
    await expectHardError(c, 501, /^FRAME_ERROR - /);
  });

  it('unknown frame type: 501 FRAME_ERROR', async () => {
    const c = await fresh(b.port);
    c.send(rawFrame(5, 1, Buffer.from([1, 2, 3])));
    await expectHardError(c, 501, /^FRAME_ERROR - /);
  });

  it('oversize frame: 501 as soon as the 7-byte header arrives, before its payload', async () => {
    const c = await fresh(b.port);
    const header = Buffer.alloc(7);
    header[0] = 1;
    header.writeUInt16BE(1, 1);
    header.writeUInt32BE(200_000, 3); // over frame_max 131072
    c.send(header); // no payload ever follows
    await expectHardError(c, 501, /^FRAME_ERROR - /);
  });

  it('heartbeat on a non-zero channel: connection closed with 505 (as RabbitMQ 3.10 does)', async () => {
    const c = await fresh(b.port);
    c.send(rawFrame(8, 1, Buffer.alloc(0)));
    // RabbitMQ 3.10 answers "UNEXPECTED_FRAME - type 8, all octets = <<>>".
    await expectHardError(c, 505, /^UNEXPECTED_FRAME - /);
  });

  it('a heartbeat on channel 0 is accepted silently', async () => {
    const c = await fresh(b.port);
    c.send(rawFrame(8, 0, Buffer.alloc(0)));
    await c.call(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 3, global: false }, M.BASIC_QOS_OK);
    await c.close();
  });
});

describe('method-level errors', () => {
  it('method on a channel that is not open: 504 CHANNEL_ERROR', async () => {
    const c = await fresh(b.port);
    c.sendMethod(3, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false });
    const close = await expectHardError(c, 504, /^CHANNEL_ERROR - expected 'channel.open'/);
    expect([close.classId, close.methodId]).toEqual([60, 10]);
  });

  it('second channel.open on an open channel: 504 CHANNEL_ERROR', async () => {
    const c = await fresh(b.port);
    c.sendMethod(1, { id: M.CHANNEL_OPEN, outOfBand: '' });
    const close = await expectHardError(c, 504, /^CHANNEL_ERROR - second 'channel.open' seen/);
    expect([close.classId, close.methodId]).toEqual([20, 10]);
  });

  // RabbitMQ 3.10 has no reply for these: it drops the socket without connection.close (checked live).
  it('unknown method of a known class: socket dropped without connection.close', async () => {
    const c = await fresh(b.port);
    c.send(rawFrame(1, 1, Buffer.from([0, 60, 0, 99])));
    expect(await c.waitClosed()).toBe(true);
    expect(c.pending()).toEqual([]);
  });

  it('unknown class: socket dropped without connection.close', async () => {
    const c = await fresh(b.port);
    c.send(rawFrame(1, 1, Buffer.from([0, 77, 0, 10])));
    expect(await c.waitClosed()).toBe(true);
    expect(c.pending()).toEqual([]);
  });

  it('bad field-table tag in queue.declare arguments: 502 SYNTAX_ERROR', async () => {
    const c = await fresh(b.port);
    // queue.declare: ticket 0, queue "q", bits 0, arguments {"k": 'Z' ...}
    const payload = Buffer.concat([
      Buffer.from([0, 50, 0, 10, 0, 0, 1, 0x71, 0]),
      Buffer.from([0, 0, 0, 6, 1, 0x6b, 0x5a, 0, 0, 0]),
    ]);
    c.send(rawFrame(1, 1, payload));
    await expectHardError(c, 502, /^SYNTAX_ERROR - /);
  });

  it('truncated method arguments: connection error, not a crash', async () => {
    const c = await fresh(b.port);
    c.send(rawFrame(1, 1, Buffer.from([0, 60, 0, 10, 0, 0])));
    const close = await c.expectConnectionClose();
    expect([502, 501]).toContain(close.replyCode);
    await bystanderWorks();
    c.destroy();
  });
});

describe('content framing errors', () => {
  it('content header with no method before it: 505 UNEXPECTED_FRAME', async () => {
    const c = await fresh(b.port);
    c.sendHeader(1, 3);
    await expectHardError(c, 505, /^UNEXPECTED_FRAME - expected method frame, got non method frame instead/);
  });

  it('body frame with no method before it: 505 UNEXPECTED_FRAME', async () => {
    const c = await fresh(b.port);
    c.sendBody(1, Buffer.from('abc'));
    await expectHardError(c, 505, /^UNEXPECTED_FRAME - /);
  });

  it('body frame right after basic.publish (header missing): 505 naming class 60', async () => {
    const c = await fresh(b.port);
    c.send(publishMethod(1));
    c.sendBody(1, Buffer.from('abc'));
    const close = await expectHardError(
      c,
      505,
      /^UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead/,
    );
    expect([close.classId, close.methodId]).toEqual([60, 40]);
  });

  it('a method between basic.publish and its content header: 505', async () => {
    const c = await fresh(b.port);
    c.send(publishMethod(1));
    c.sendMethod(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false });
    const close = await expectHardError(c, 505, /^UNEXPECTED_FRAME - expected content header for class 60/);
    expect([close.classId, close.methodId]).toEqual([60, 40]);
  });

  it('a method between content header and body: 505', async () => {
    const c = await fresh(b.port);
    c.send(publishMethod(1));
    c.sendHeader(1, 10);
    c.sendMethod(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false });
    await expectHardError(c, 505, /^UNEXPECTED_FRAME - expected content body/);
  });

  it('content header of the wrong class: 505', async () => {
    const c = await fresh(b.port);
    c.send(publishMethod(1));
    const hp = Buffer.alloc(14);
    hp.writeUInt16BE(50, 0); // class 50 instead of 60
    hp.writeUInt32BE(3, 8);
    c.send(rawFrame(2, 1, hp));
    const close = await expectHardError(c, 505, /^UNEXPECTED_FRAME - expected content header for class 60, got one for class 50 instead$/);
    expect([close.classId, close.methodId]).toEqual([60, 40]);
  });

  it('body longer than declared: the channel keeps expecting body; the next method is 505 (as RabbitMQ 3.10.8)', async () => {
    const c = await fresh(b.port);
    await c.openChannel(2);
    c.send(publishMethod(1));
    c.sendHeader(1, 2);
    c.sendBody(1, Buffer.from('abcdef'));
    // Other channels are unaffected...
    await c.call(2, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false }, M.BASIC_QOS_OK);
    // ...but the next method on channel 1 finds it still waiting for body frames.
    c.sendMethod(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false });
    await expectHardError(c, 505, /^UNEXPECTED_FRAME - expected content body, got non content body frame instead$/);
  });
});

describe('malformed content-header properties (502: RabbitMQ answers a bare 541, its decoder crashing; the message is not kept)', () => {
  /** Publish to a fresh durable queue with the given property flags and bytes; returns the queue. */
  async function publishRawProps(c: RawClient, props: number[]): Promise<string> {
    const queue = `malformed-props-${++probeCount}`;
    await c.call(
      1,
      { id: M.QUEUE_DECLARE, ticket: 0, queue, passive: false, durable: true, exclusive: false, autoDelete: false, nowait: false, arguments: {} },
      M.QUEUE_DECLARE_OK,
    );
    const header = Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, ...props]);
    c.send(Buffer.concat([publishMethod(1, queue), rawFrame(2, 1, header), rawFrame(3, 1, Buffer.from('x'))]));
    return queue;
  }

  async function depth(queue: string): Promise<number> {
    const ok = await bystander().call(
      1,
      { id: M.QUEUE_DECLARE, ticket: 0, queue, passive: true, durable: true, exclusive: false, autoDelete: false, nowait: false, arguments: {} },
      M.QUEUE_DECLARE_OK,
    );
    return ok.messageCount;
  }

  const cases: [string, number[], RegExp][] = [
    ['a shortstr after delivery-mode claims more bytes than the frame has', [0x14, 0x00, 2, 200, 0x41, 0x42], /correlation-id overruns the frame/],
    ['the headers table claims more bytes than the frame has', [0x30, 0x00, 0, 0, 0, 100, 1, 2, 3], /headers overruns the frame/],
    ['bytes are left after the last announced property', [0x10, 0x00, 2, 7, 7], /2 bytes after the last property/],
    ['a timestamp is cut short', [0x12, 0x40, 2, 0, 0, 0, 1], /timestamp overruns the frame/],
    ['the flags announce a second flags word', [0x10, 0x01, 2], /flags continue/],
  ];
  for (const [what, props, text] of cases) {
    it(`${what}: 502, and the durable queue stays empty`, async () => {
      const c = await fresh(b.port);
      const queue = await publishRawProps(c, props);
      await expectHardError(c, 502, text);
      expect(await depth(queue)).toBe(0);
    });
  }
});

describe('names that are not valid UTF-8', () => {
  it('a routing key whose lossy decoding no longer fits a shortstr is refused at publish (501); a consumer of the exchange keeps receiving', async () => {
    const consumer = await fresh(b.port);
    const queue = `utf8-consumer-${++probeCount}`;
    await consumer.call(
      1,
      { id: M.QUEUE_DECLARE, ticket: 0, queue, passive: false, durable: false, exclusive: true, autoDelete: false, nowait: false, arguments: {} },
      M.QUEUE_DECLARE_OK,
    );
    await consumer.call(1, { id: M.QUEUE_BIND, ticket: 0, queue, exchange: 'amq.fanout', routingKey: '', nowait: false, arguments: {} }, M.QUEUE_BIND_OK);
    await consumer.call(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false }, M.BASIC_QOS_OK);
    await consumer.call(1, { id: M.BASIC_CONSUME, ticket: 0, queue, consumerTag: 'c', noLocal: false, noAck: false, exclusive: false, nowait: false, arguments: {} }, M.BASIC_CONSUME_OK);

    const bad = await fresh(b.port);
    // basic.publish with exchange "amq.fanout" and a routing key of 100 bytes 0xFF.
    const exchange = Buffer.from('amq.fanout');
    const payload = Buffer.concat([Buffer.from([0, 60, 0, 40, 0, 0, exchange.length]), exchange, Buffer.from([100]), Buffer.alloc(100, 0xff), Buffer.from([0])]);
    const header = Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
    bad.send(Buffer.concat([rawFrame(1, 1, payload), rawFrame(2, 1, header), rawFrame(3, 1, Buffer.from('x'))]));
    await expectHardError(bad, 501, /cannot decode/);

    const good = await fresh(b.port);
    good.send(Buffer.concat([encodeMethodFrame(1, { id: M.BASIC_PUBLISH, ticket: 0, exchange: 'amq.fanout', routingKey: 'ok', mandatory: false, immediate: false }), rawFrame(2, 1, header), rawFrame(3, 1, Buffer.from('y'))]));
    const { method } = await consumer.nextMethod();
    expect(method.id).toBe(M.BASIC_DELIVER);
    expect((method as M.BasicDeliver).routingKey).toBe('ok');
    await good.close();
    await consumer.close();
  });
});

describe('protocol header', () => {
  async function expectHeaderAnswer(bytes: Buffer): Promise<void> {
    const c = await RawClient.connect(b.port, false);
    c.send(bytes);
    expect(await c.waitClosed()).toBe(true);
    expect(c.allReceived().equals(PROTOCOL_HEADER)).toBe(true);
    await bystanderWorks();
  }

  it('AMQP 0-9-0 header: answered with AMQP 0-9-1 header, then closed', async () => {
    await expectHeaderAnswer(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 0]));
  });

  it('an unknown protocol id: answered with AMQP 0-9-1 header, then closed', async () => {
    await expectHeaderAnswer(Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]));
  });

  it('the legacy AMQP 0-9 header (AMQP 1 1 0 9) is accepted like 0-9-1, as RabbitMQ 3.10.8 does', async () => {
    const c = await RawClient.connect(b.port);
    c.send(Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 9]));
    const start = await c.expect(M.CONNECTION_START);
    expect([start.versionMajor, start.versionMinor]).toEqual([0, 9]);
    c.destroy();
  });

  it('AMQP 1.0 header: answered with AMQP 0-9-1 header, then closed', async () => {
    await expectHeaderAnswer(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]));
  });

  it('HTTP GET on the AMQP port: answered with the protocol header, then closed', async () => {
    await expectHeaderAnswer(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
  });

  it('TLS ClientHello on the AMQP port: answered with the protocol header, then closed', async () => {
    // Record header (handshake, TLS 1.0 record version), then the start of a ClientHello.
    const hello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03, ...new Array(43).fill(0)]);
    await expectHeaderAnswer(hello);
  });

  it('protocol header split into single bytes still works', async () => {
    const c = await RawClient.connect(b.port);
    for (const byte of PROTOCOL_HEADER) {
      c.send(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    await c.expect(M.CONNECTION_START);
    c.destroy();
  });

  it('a connection that sends nothing does not disturb others', async () => {
    const s = netConnect({ host: '127.0.0.1', port: b.port });
    await new Promise((r) => s.once('connect', r));
    await bystanderWorks();
    s.destroy();
  });
});

describe('channels', () => {
  it('opening more channels than the negotiated channel_max: 530 NOT_ALLOWED with RabbitMQ\'s text', async () => {
    const c = await RawClient.open(b.port, { tuneOk: { channelMax: 2 } });
    await c.openChannel(1);
    await c.openChannel(2);
    c.sendMethod(3, { id: M.CHANNEL_OPEN, outOfBand: '' });
    // RabbitMQ 3.10.8 (checked live) limits the number of open channels, not their ids.
    await expectHardError(c, 530, /^NOT_ALLOWED - number of channels opened \(2\) has reached the negotiated channel_max \(2\)$/);
  });

  it('channel ids above channel_max open fine while the count of open channels is below it (RabbitMQ 3.10)', async () => {
    const c = await RawClient.open(b.port, { tuneOk: { channelMax: 5 } });
    await c.openChannel(6);
    await c.openChannel(2048);
    await c.openChannel(65535);
    await c.call(65535, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false }, M.BASIC_QOS_OK);
    await c.close();
  });

  it('a closed channel frees its slot under channel_max', async () => {
    const c = await RawClient.open(b.port, { tuneOk: { channelMax: 1 } });
    await c.openChannel(1);
    await c.call(1, { id: M.CHANNEL_CLOSE, replyCode: 200, replyText: '', classId: 0, methodId: 0 }, M.CHANNEL_CLOSE_OK);
    await c.openChannel(1);
    await c.close();
  });

  it('a channel error closes only that channel; the connection and its other channels keep working', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    await c.openChannel(2);
    c.sendMethod(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: 'does-not-exist', passive: true, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: {} });
    const close = await c.expectChannelClose(1);
    expect(close.replyCode).toBe(404);
    expect(close.replyText).toBe("NOT_FOUND - no queue 'does-not-exist' in vhost '/'");
    expect([close.classId, close.methodId]).toEqual([50, 10]);
    await c.call(2, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false }, M.BASIC_QOS_OK);
    // Channel 1 can be reopened after close-ok.
    await c.openChannel(1);
    await c.call(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false }, M.BASIC_QOS_OK);
    await c.close();
  });

  it('frames for a closing channel are discarded until close-ok', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    await c.openChannel(2);
    c.sendMethod(1, { id: M.EXCHANGE_DECLARE, ticket: 0, exchange: 'nope', type: 'direct', passive: true, durable: false, autoDelete: false, internal: false, nowait: false, arguments: {} });
    const { channel, method } = await c.nextMethod();
    expect(channel).toBe(1);
    expect(method.id).toBe(M.CHANNEL_CLOSE);
    // Before close-ok: a publish (with content), a synchronous method and junk content are all ignored.
    c.send(publishMethod(1, 'ignored'));
    c.sendHeader(1, 3);
    c.sendBody(1, Buffer.from('abc'));
    c.sendMethod(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false });
    c.sendMethod(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: 'x', passive: true, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: {} });
    // Channel 2 still answers, and nothing was sent for channel 1.
    await c.call(2, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false }, M.BASIC_QOS_OK);
    expect(c.pending()).toEqual([]);
    c.sendMethod(1, { id: M.CHANNEL_CLOSE_OK });
    await c.openChannel(1);
    await c.close();
  });

  it('channel.close from the client is answered with close-ok', async () => {
    const c = await fresh(b.port);
    await c.call(1, { id: M.CHANNEL_CLOSE, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 }, M.CHANNEL_CLOSE_OK);
    await c.close();
  });
});

describe('frame streams', () => {
  it('a publish delivered one byte at a time is assembled correctly', async () => {
    const c = await fresh(b.port);
    await c.call(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: 'bytewise', passive: false, durable: false, exclusive: true, autoDelete: false, nowait: false, arguments: {} }, M.QUEUE_DECLARE_OK);
    const body = Buffer.from('split at every byte');
    const { encodeContentHeaderPayload, encodeHeaderFrame, encodeBodyFrame } = await import('../../src/protocol/frame-writer.js');
    const bytes = Buffer.concat([
      publishMethod(1, 'bytewise'),
      encodeHeaderFrame(1, encodeContentHeaderPayload(60, body.length, { contentType: 'text/plain' })),
      encodeBodyFrame(1, body),
    ]);
    for (let i = 0; i < bytes.length; i++) {
      c.send(bytes.subarray(i, i + 1));
      if (i % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    const get = await c.call(1, { id: M.BASIC_GET, ticket: 0, queue: 'bytewise', noAck: true }, M.BASIC_GET_OK);
    expect(get.routingKey).toBe('bytewise');
    const content = await c.readContent();
    expect(content.body.equals(body)).toBe(true);
    expect(content.props.contentType).toBe('text/plain');
    await c.close();
  });

  it('thousands of frames in one write', async () => {
    const c = await fresh(b.port);
    await c.call(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: 'burst', passive: false, durable: false, exclusive: true, autoDelete: false, nowait: false, arguments: {} }, M.QUEUE_DECLARE_OK);
    await c.call(1, { id: M.CONFIRM_SELECT, nowait: false }, M.CONFIRM_SELECT_OK);
    const { encodeContentHeaderPayload, encodeHeaderFrame, encodeBodyFrame } = await import('../../src/protocol/frame-writer.js');
    const parts: Buffer[] = [];
    const n = 2000;
    for (let i = 0; i < n; i++) {
      parts.push(publishMethod(1, 'burst'));
      const body = Buffer.from(String(i));
      parts.push(encodeHeaderFrame(1, encodeContentHeaderPayload(60, body.length, {})), encodeBodyFrame(1, body));
    }
    c.send(Buffer.concat(parts));
    // Wait until every publish is confirmed, then count.
    const acked = new Set<number>();
    while (acked.size < n) {
      const { method } = await c.nextMethod();
      if (method.id !== M.BASIC_ACK) throw new Error(`unexpected method ${method.id}`);
      if (method.multiple) for (let t = 1; t <= method.deliveryTag; t++) acked.add(t);
      else acked.add(method.deliveryTag);
    }
    const ok = await c.call(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: 'burst', passive: true, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: {} }, M.QUEUE_DECLARE_OK);
    expect(ok.messageCount).toBe(n);
    await c.close();
  });

  it('a zero-length body needs no body frame', async () => {
    const c = await fresh(b.port);
    await c.call(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: 'empty-body', passive: false, durable: false, exclusive: true, autoDelete: false, nowait: false, arguments: {} }, M.QUEUE_DECLARE_OK);
    c.publish(1, '', 'empty-body', Buffer.alloc(0));
    await c.call(1, { id: M.BASIC_GET, ticket: 0, queue: 'empty-body', noAck: true }, M.BASIC_GET_OK);
    const content = await c.readContent();
    expect(content.body.length).toBe(0);
    await c.close();
  });
});
