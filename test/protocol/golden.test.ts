// Golden bytes: a few frames as they must appear on the wire (checked by hand against
// the 0-9-1 spec's frame layout and RabbitMQ captures).

import { describe, expect, it } from 'vitest';
import {
  HEARTBEAT_FRAME,
  PROTOCOL_HEADER,
  encodeBodyFrame,
  encodeContentHeaderPayload,
  encodeHeaderFrame,
  encodeMethodFrame,
} from '../../src/protocol/frame-writer.js';
import * as M from '../../src/protocol/generated/amqp.js';

const hex = (s: string): string => s.replace(/\s+/g, '');

describe('golden frames', () => {
  it('protocol header', () => {
    expect(PROTOCOL_HEADER.toString('hex')).toBe(hex('414d5150 00000901'));
  });

  it('heartbeat', () => {
    expect(HEARTBEAT_FRAME.toString('hex')).toBe(hex('08 0000 00000000 ce'));
  });

  it('connection.tune 2047/131072/60', () => {
    const f = encodeMethodFrame(0, { id: M.CONNECTION_TUNE, channelMax: 2047, frameMax: 131072, heartbeat: 60 });
    expect(f.toString('hex')).toBe(hex('01 0000 0000000c 000a 001e 07ff 00020000 003c ce'));
  });

  it('basic.publish amq.direct/"rk" mandatory', () => {
    const f = encodeMethodFrame(1, { id: M.BASIC_PUBLISH, ticket: 0, exchange: 'amq.direct', routingKey: 'rk', mandatory: true, immediate: false });
    const exch = Buffer.from('amq.direct').toString('hex');
    expect(f.toString('hex')).toBe(hex(`01 0001 00000015 003c 0028 0000 0a ${exch} 02 726b 01 ce`));
  });

  it('basic.publish immediate sets bit 1 of the same octet', () => {
    const f = encodeMethodFrame(1, { id: M.BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: '', mandatory: true, immediate: true });
    expect(f.toString('hex')).toBe(hex('01 0001 00000009 003c 0028 0000 00 00 03 ce'));
  });

  it('queue.declare durable + auto-delete packs the bits into one octet', () => {
    const f = encodeMethodFrame(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: 'q', passive: false, durable: true, exclusive: false, autoDelete: true, nowait: false, arguments: {} });
    expect(f.toString('hex')).toBe(hex('01 0001 0000000d 0032 000a 0000 01 71 0a 00000000 ce'));
  });

  it('basic.ack tag 5 multiple', () => {
    const f = encodeMethodFrame(2, { id: M.BASIC_ACK, deliveryTag: 5, multiple: true });
    expect(f.toString('hex')).toBe(hex('01 0002 0000000d 003c 0050 0000000000000005 01 ce'));
  });

  it('connection.close 320 with text', () => {
    const f = encodeMethodFrame(0, { id: M.CONNECTION_CLOSE, replyCode: 320, replyText: 'X', classId: 0, methodId: 0 });
    expect(f.toString('hex')).toBe(hex('01 0000 0000000c 000a 0032 0140 01 58 0000 0000 ce'));
  });

  it('content header text/plain persistent, body size 5', () => {
    const payload = encodeContentHeaderPayload(60, 5, { contentType: 'text/plain', deliveryMode: 2 });
    const ct = Buffer.from('text/plain').toString('hex');
    expect(encodeHeaderFrame(1, payload).toString('hex')).toBe(
      hex(`02 0001 0000001a 003c 0000 00000000 00000005 9000 0a ${ct} 02 ce`),
    );
  });

  it('body frame', () => {
    expect(encodeBodyFrame(1, Buffer.from('hello')).toString('hex')).toBe(hex('03 0001 00000005 68656c6c6f ce'));
  });

  it('a header table argument is length-prefixed and tagged', () => {
    const f = encodeMethodFrame(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: '', passive: false, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: { 'x-max-length': 10 } });
    const key = Buffer.from('x-max-length').toString('hex');
    expect(f.toString('hex')).toBe(hex(`01 0001 0000001e 0032 000a 0000 00 00 00000012 0c ${key} 49 0000000a ce`));
  });
});
