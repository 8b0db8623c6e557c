// Size-first frame encoding: every frame is measured, then written once into its buffer.

import {
  BASIC_DELIVER,
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  basicPropertiesSize,
  methodPayloadSize,
  writeBasicProperties,
  writeLonglong,
  writeMethodPayload,
  writeShortstr,
  type BasicProperties,
  type Method,
} from './generated/amqp.js';

/** Frame header (7) + frame-end (1). */
export const FRAME_OVERHEAD = 8;

export function writeFrameHeader(buf: Buffer, pos: number, type: number, channel: number, size: number): number {
  buf[pos] = type;
  buf.writeUInt16BE(channel, pos + 1);
  buf.writeUInt32BE(size, pos + 3);
  return pos + 7;
}

export function methodFrameSize(m: Method): number {
  return FRAME_OVERHEAD + methodPayloadSize(m);
}

/** Write a whole method frame at pos; returns the position after it. */
export function writeMethodFrame(buf: Buffer, pos: number, channel: number, m: Method, payloadSize: number): number {
  writeFrameHeader(buf, pos, FRAME_METHOD, channel, payloadSize);
  const end = writeMethodPayload(buf, pos + 7, m);
  buf[end] = FRAME_END;
  return end + 1;
}

/** Most bytes a basic.deliver frame can take: ids, three shortstrs of up to 255 bytes, tag and flag. */
export const MAX_DELIVER_FRAME = FRAME_OVERHEAD + 4 + 3 * 256 + 8 + 1;

/**
 * basic.deliver written straight into buf (the hottest frame: no method object, no separate sizing
 * pass; the size is patched in once the strings are written). Needs MAX_DELIVER_FRAME bytes free.
 */
export function writeDeliverFrame(
  buf: Buffer,
  pos: number,
  channel: number,
  consumerTag: string,
  deliveryTag: number,
  redelivered: boolean,
  exchange: string,
  routingKey: string,
): number {
  const start = pos + 7;
  buf.writeUInt32BE(BASIC_DELIVER, start);
  let p = writeShortstr(buf, start + 4, consumerTag);
  p = writeLonglong(buf, p, deliveryTag);
  buf[p++] = redelivered ? 1 : 0;
  p = writeShortstr(buf, p, exchange);
  p = writeShortstr(buf, p, routingKey);
  writeFrameHeader(buf, pos, FRAME_METHOD, channel, p - start);
  buf[p] = FRAME_END;
  return p + 1;
}

export function encodeMethodFrame(channel: number, m: Method): Buffer {
  const size = methodPayloadSize(m);
  const buf = Buffer.allocUnsafe(size + FRAME_OVERHEAD);
  writeMethodFrame(buf, 0, channel, m, size);
  return buf;
}

/** Content-header payload: class id, weight 0, body size, property flags and values. */
export function encodeContentHeaderPayload(classId: number, bodySize: number, props: BasicProperties): Buffer {
  const buf = Buffer.allocUnsafe(12 + basicPropertiesSize(props));
  buf.writeUInt16BE(classId, 0);
  buf.writeUInt16BE(0, 2);
  buf.writeUInt32BE(Math.floor(bodySize / 0x100000000), 4);
  buf.writeUInt32BE(bodySize >>> 0, 8);
  writeBasicProperties(buf, 12, props);
  return buf;
}

export function encodeHeaderFrame(channel: number, headerPayload: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(headerPayload.length + FRAME_OVERHEAD);
  writeFrameHeader(buf, 0, FRAME_HEADER, channel, headerPayload.length);
  headerPayload.copy(buf, 7);
  buf[buf.length - 1] = FRAME_END;
  return buf;
}

export function encodeBodyFrame(channel: number, body: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(body.length + FRAME_OVERHEAD);
  writeFrameHeader(buf, 0, FRAME_BODY, channel, body.length);
  body.copy(buf, 7);
  buf[buf.length - 1] = FRAME_END;
  return buf;
}

export const HEARTBEAT_FRAME: Buffer = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);

/** The protocol header this server speaks; sent back to a client that offers another. */
export const PROTOCOL_HEADER: Buffer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
