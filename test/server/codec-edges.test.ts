// Frames and field tables at the edges RabbitMQ 3.10 accepts (checked live; interop/scenarios/codec.mjs):
// payloads of frame_max octets, field type L, keys that are not UTF-8, deep nesting, and headers a
// queue patches at delivery (x-delivery-count) that would not survive a decode/re-encode.

import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../src/index.js';
import { useBroker } from '../helpers/broker.js';
import { fresh, useBystander } from './raw-connections.js';
import { RawClient, rawFrame } from '../helpers/raw-client.js';
import { encodeMethodFrame } from '../../src/protocol/frame-writer.js';
import * as M from '../../src/protocol/generated/amqp.js';

const b = useBroker();
const bystander = useBystander(b);
let n = 0;

async function bystanderWorks(): Promise<void> {
  const ok = await bystander().call(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false }, M.BASIC_QOS_OK);
  expect(ok.id).toBe(M.BASIC_QOS_OK);
}

function declare(c: RawClient, queue: string, args: Partial<M.QueueDeclare> = {}): Promise<M.QueueDeclareOk> {
  return c.call(1, { id: M.QUEUE_DECLARE, ticket: 0, queue, passive: false, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: {}, ...args }, M.QUEUE_DECLARE_OK);
}

const u32 = (v: number): Buffer => {
  const x = Buffer.alloc(4);
  x.writeUInt32BE(v);
  return x;
};
const u64 = (v: bigint): Buffer => {
  const x = Buffer.alloc(8);
  x.writeBigUInt64BE(v);
  return x;
};
const len = (body: Buffer): Buffer => Buffer.concat([u32(body.length), body]);
const entry = (k: Buffer | string, tag: string, v: Buffer): Buffer => {
  const kb = Buffer.isBuffer(k) ? k : Buffer.from(k);
  return Buffer.concat([Buffer.from([kb.length]), kb, Buffer.from(tag, 'latin1'), v]);
};
/** Content-header payload: class 60, body size, flags, raw property bytes. */
function header(bodySize: number, flags: number, props: Buffer): Buffer {
  const h = Buffer.alloc(14);
  h.writeUInt16BE(60, 0);
  h.writeBigUInt64BE(BigInt(bodySize), 4);
  h.writeUInt16BE(flags, 12);
  return Buffer.concat([h, props]);
}
const F_CONTENT_TYPE = 1 << 15;
const F_HEADERS = 1 << 13;
const F_TIMESTAMP = 1 << 6;

function publishRaw(c: RawClient, queue: string, headerPayload: Buffer, body: Buffer): void {
  const frames = [encodeMethodFrame(1, { id: M.BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: queue, mandatory: false, immediate: false }), rawFrame(2, 1, headerPayload)];
  if (body.length > 0) frames.push(rawFrame(3, 1, body));
  c.send(Buffer.concat(frames));
}

/** basic.get no-ack: the raw content-header payload and body. */
async function getRaw(c: RawClient, queue: string): Promise<{ header: Buffer; body: Buffer }> {
  c.sendMethod(1, { id: M.BASIC_GET, ticket: 0, queue, noAck: true });
  await c.expect(M.BASIC_GET_OK);
  const h = await c.nextFrame();
  if (h.type !== 'header') throw new Error(`expected a content header, got ${h.type}`);
  const parts: Buffer[] = [];
  let size = Number(h.payload.readBigUInt64BE(4));
  while (size > 0) {
    const f = await c.nextFrame();
    if (f.type !== 'body') throw new Error(`expected a body frame, got ${f.type}`);
    parts.push(f.payload);
    size -= f.payload.length;
  }
  return { header: h.payload, body: Buffer.concat(parts) };
}

async function expectClose(c: RawClient, code: number, text: string | RegExp): Promise<void> {
  const close = await c.expectConnectionClose(3000);
  expect(close.replyCode, close.replyText).toBe(code);
  if (typeof text === 'string') expect(close.replyText).toBe(text);
  else expect(close.replyText).toMatch(text);
  await bystanderWorks();
}

describe('x-delivery-count on headers that do not survive a decode/re-encode (one message must not kill the broker)', () => {
  const DC = Buffer.from('x-delivery-count');
  /** The x-delivery-count entries of the headers table (after the content-type, which holds the key bytes too). */
  function counts(h: Buffer, tableAt: number): bigint[] {
    const out: bigint[] = [];
    for (let i = h.indexOf(DC, tableAt); i >= 0; i = h.indexOf(DC, i + 1)) {
      expect(String.fromCharCode(h[i + 16] as number)).toBe('l');
      out.push(h.readBigInt64BE(i + 17));
    }
    return out;
  }

  it('a quorum queue delivers and redelivers a 200-byte non-UTF-8 content-type holding "x-delivery-count" and a timestamp of 2^64-1, bytes intact', async () => {
    const c = await fresh(b.port);
    const queue = `quorum-ct-${++n}`;
    await declare(c, queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const ct = Buffer.alloc(200, 0xff);
    DC.copy(ct, 50);
    // A publisher-supplied x-delivery-count (a string) is replaced, not duplicated.
    publishRaw(c, queue, header(1, F_CONTENT_TYPE | F_TIMESTAMP, Buffer.concat([Buffer.from([200]), ct, u64(2n ** 64n - 1n)])), Buffer.from('x'));
    await c.call(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false }, M.BASIC_QOS_OK);
    await c.call(1, { id: M.BASIC_CONSUME, ticket: 0, queue, consumerTag: 'c', noLocal: false, noAck: false, exclusive: false, nowait: false, arguments: {} }, M.BASIC_CONSUME_OK);
    const seen: bigint[][] = [];
    for (let i = 0; i < 2; i++) {
      const d = await c.expect(M.BASIC_DELIVER, 3000);
      const h = await c.nextFrame();
      const body = await c.nextFrame();
      if (h.type !== 'header' || body.type !== 'body') throw new Error('expected header and body');
      expect(h.payload.subarray(15, 215).equals(ct)).toBe(true);
      expect(h.payload.readBigUInt64BE(h.payload.length - 8)).toBe(2n ** 64n - 1n);
      const tableLen = h.payload.readUInt32BE(215);
      expect(h.payload.length).toBe(215 + 4 + tableLen + 8);
      seen.push(counts(h.payload, 215));
      c.sendMethod(1, { id: M.BASIC_NACK, deliveryTag: d.deliveryTag, multiple: false, requeue: i === 0 });
    }
    expect(seen).toEqual([[0n], [1n]]);
    await bystanderWorks();
    await c.close();
  });

  it('the same content-type with a non-empty headers table is refused at publish with 501, never 541 (temporary: properties are decoded as strings)', async () => {
    const c = await fresh(b.port);
    const queue = `quorum-ct-${++n}`;
    await declare(c, queue, { exclusive: true });
    const ct = Buffer.alloc(200, 0xff);
    publishRaw(c, queue, header(1, F_CONTENT_TYPE | F_HEADERS, Buffer.concat([Buffer.from([200]), ct, len(entry('a', 'I', u32(1)))])), Buffer.from('x'));
    await expectClose(c, 501, /^FRAME_ERROR - cannot decode content header properties/);
  });
});

describe('frame sizes and malformed frames (as RabbitMQ 3.10 answers)', () => {
  it('a body frame whose payload is exactly frame_max is accepted; one octet more is 501 with RabbitMQ text', async () => {
    const c = await fresh(b.port, 4096);
    const queue = `frame-max-${++n}`;
    await declare(c, queue, { exclusive: true });
    const body = Buffer.alloc(4096, 0x61);
    publishRaw(c, queue, header(body.length, 0, Buffer.alloc(0)), body);
    expect((await getRaw(c, queue)).body.equals(body)).toBe(true);
    publishRaw(c, queue, header(4097, 0, Buffer.alloc(0)), Buffer.alloc(4097, 0x61));
    await expectClose(c, 501, 'FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,4097,4088}');
  });

  it('a heartbeat frame with a payload is 501 unknown_frame', async () => {
    const c = await fresh(b.port);
    c.send(rawFrame(8, 0, Buffer.from('abc')));
    await expectClose(c, 501, 'FRAME_ERROR - type 8, all octets = <<"abc">>: unknown_frame');
  });

  it('a content header shorter than its 12 fixed octets is 501 unknown_frame', async () => {
    const c = await fresh(b.port);
    c.send(Buffer.concat([encodeMethodFrame(1, { id: M.BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: 'x', mandatory: false, immediate: false }), rawFrame(2, 1, Buffer.from([0, 60, 0, 0, 0, 0]))]));
    await expectClose(c, 501, 'FRAME_ERROR - type 2, all octets = <<0,60,0,0,0,0>>: unknown_frame');
  });
});

describe('field tables RabbitMQ accepts', () => {
  it("field type 'L' in message headers is delivered byte for byte, and in queue arguments (x-max-length) is honoured", async () => {
    const c = await fresh(b.port);
    const queue = `type-L-${++n}`;
    const args = Buffer.concat([entry('x-max-length', 'L', u64(1n)), entry('x-custom', 'L', u64(2n ** 64n - 1n))]);
    // Declare with raw argument bytes (the typed encoder has no way to choose 'L').
    const declareFrame = encodeMethodFrame(1, { id: M.QUEUE_DECLARE, ticket: 0, queue, passive: false, durable: false, exclusive: true, autoDelete: false, nowait: false, arguments: { x: 1 } });
    const marker = Buffer.concat([len(entry('x', 'I', u32(1)))]);
    const at = declareFrame.indexOf(marker);
    const payload = Buffer.concat([declareFrame.subarray(7, at), len(args), declareFrame.subarray(at + marker.length, declareFrame.length - 1)]);
    c.send(rawFrame(1, 1, payload));
    await c.expect(M.QUEUE_DECLARE_OK);
    const table = Buffer.concat([entry('small', 'L', u64(7n)), entry('big', 'L', u64(2n ** 64n - 2n)), entry('nested', 'A', len(Buffer.concat([Buffer.from('L'), u64(2n ** 63n)])))]);
    const h = header(1, F_HEADERS, len(table));
    publishRaw(c, queue, h, Buffer.from('1'));
    publishRaw(c, queue, h, Buffer.from('2'));
    const got = await getRaw(c, queue);
    expect(got.header.equals(h)).toBe(true);
    // x-max-length 1 (drop-head): only the newer message is left.
    expect(got.body.toString()).toBe('2');
    await c.close();
  });

  it('a durable queue argument whose key is 100 bytes 0xFF is accepted, and a redeclare with the same bytes is equivalent', async () => {
    const c = await fresh(b.port);
    const queue = `raw-key-${++n}`;
    const declareRaw = (): void => {
      const frame = encodeMethodFrame(1, { id: M.QUEUE_DECLARE, ticket: 0, queue, passive: false, durable: true, exclusive: false, autoDelete: false, nowait: false, arguments: { x: 1 } });
      const marker = len(entry('x', 'I', u32(1)));
      const at = frame.indexOf(marker);
      const args = entry(Buffer.alloc(100, 0xff), 'S', len(Buffer.from('v')));
      c.send(rawFrame(1, 1, Buffer.concat([frame.subarray(7, at), len(args), frame.subarray(at + marker.length, frame.length - 1)])));
    };
    declareRaw();
    await c.expect(M.QUEUE_DECLARE_OK);
    declareRaw();
    await c.expect(M.QUEUE_DECLARE_OK);
    await c.call(1, { id: M.QUEUE_DELETE, ticket: 0, queue, ifUnused: false, ifEmpty: false, nowait: false }, M.QUEUE_DELETE_OK);
    await c.close();
  });

  /** Headers {deep: {a: {a: ...}}} nested `depth` levels. */
  function deepHeaders(depth: number): Buffer {
    let inner: Buffer = Buffer.alloc(0);
    for (let i = 1; i < depth; i++) inner = entry('a', 'F', len(inner));
    return header(1, F_HEADERS, len(entry('deep', 'F', len(inner))));
  }

  it('headers nested 5,000 deep (tables or arrays) are delivered byte for byte, as RabbitMQ does, also through a dead-letter exchange', async () => {
    const c = await fresh(b.port);
    const queue = `deep-${++n}`;
    const dlq = `deep-dlq-${n}`;
    await declare(c, dlq, { exclusive: true });
    await declare(c, queue, { exclusive: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } });
    for (const h of [deepHeaders(5000), deepArrayHeaders(5000)]) {
      publishRaw(c, queue, h, Buffer.from('x'));
      expect((await getRaw(c, queue)).header.equals(h)).toBe(true);
    }
    // Dead-lettering re-encodes the headers (x-death added): the deep value goes along unchanged.
    const h = deepHeaders(5000);
    publishRaw(c, queue, h, Buffer.from('y'));
    c.sendMethod(1, { id: M.BASIC_GET, ticket: 0, queue, noAck: false });
    const ok = await c.expect(M.BASIC_GET_OK);
    await c.nextFrame();
    await c.nextFrame();
    c.sendMethod(1, { id: M.BASIC_REJECT, deliveryTag: ok.deliveryTag, requeue: false });
    const dead = await getRaw(c, dlq);
    expect(dead.body.toString()).toBe('y');
    const deep = h.subarray(18 + 1 + 4);
    expect(dead.header.includes(deep)).toBe(true);
    await bystanderWorks();
    await c.close();
  });

  /** Headers {deep: [[[...]]]} nested `depth` levels. */
  function deepArrayHeaders(depth: number): Buffer {
    let inner: Buffer = Buffer.alloc(0);
    for (let i = 1; i < depth; i++) inner = Buffer.concat([Buffer.from('A'), len(inner)]);
    return header(1, F_HEADERS, len(entry('deep', 'A', len(inner))));
  }
});

describe('argument keys that are not UTF-8 survive storage', () => {
  /** queue.declare (or queue.bind) frame whose arguments table is `args` (raw bytes). */
  function withRawArgs(channel: number, m: M.Method, args: Buffer): Buffer {
    const frame = encodeMethodFrame(channel, m);
    const marker = len(entry('x', 'I', u32(1)));
    const at = frame.indexOf(marker);
    return rawFrame(1, channel, Buffer.concat([frame.subarray(7, at), len(args), frame.subarray(at + marker.length, frame.length - 1)]));
  }

  it('a durable queue whose argument key is 255 bytes 0xFF restarts with its message and stays equivalent; a headers binding with such a key works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-rawkey-'));
    const args = Buffer.concat([entry(Buffer.alloc(255, 0xff), 'S', len(Buffer.from('v'))), entry('x-custom', 'L', u64(2n ** 64n - 1n))]);
    const declare = (passive: boolean): M.Method => ({ id: M.QUEUE_DECLARE, ticket: 0, queue: 'raw-key-durable', passive, durable: true, exclusive: false, autoDelete: false, nowait: false, arguments: { x: 1 } });
    try {
      let running = await startBroker({ host: '127.0.0.1', port: 0, dataDir: dir, logLevel: 'silent' });
      let c = await RawClient.open(running.port);
      await c.openChannel(1);
      c.send(withRawArgs(1, declare(false), args));
      await c.expect(M.QUEUE_DECLARE_OK);
      c.send(withRawArgs(1, { id: M.QUEUE_BIND, ticket: 0, queue: 'raw-key-durable', exchange: 'amq.headers', routingKey: '', nowait: false, arguments: { x: 1 } }, args));
      await c.expect(M.QUEUE_BIND_OK);
      await c.call(1, { id: M.CONFIRM_SELECT, nowait: false }, M.CONFIRM_SELECT_OK);
      c.publish(1, '', 'raw-key-durable', Buffer.from('kept'), { deliveryMode: 2 });
      await c.expect(M.BASIC_ACK);
      await c.close();
      await running.close();

      running = await startBroker({ host: '127.0.0.1', port: 0, dataDir: dir, logLevel: 'silent' });
      c = await RawClient.open(running.port);
      await c.openChannel(1);
      c.send(withRawArgs(1, declare(false), args));
      const ok = await c.expect(M.QUEUE_DECLARE_OK);
      expect(ok.messageCount).toBe(1);
      await c.close();
      await running.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
