// Minimal AMQP 0-9-1 frame encoding for the benchmark clients: builds method, content-header
// and body frames as Buffers once, so the hot loops only copy pre-encoded bytes.
// Field layouts follow the AMQP 0-9-1 specification, section 4.2 (frames) and the class
// definitions in spec/ (class and method ids below are the spec's numbers).

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
export const FRAME_END = 0xce;
/** 7-byte frame header (type, channel, size) plus the frame-end octet. */
export const FRAME_OVERHEAD = 8;

/** Protocol header a client sends first: "AMQP" 0 0 9 1. */
export const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

/** Appends AMQP field values to a growing byte array (encoding speed is irrelevant here). */
export class ArgWriter {
  constructor() {
    this.parts = [];
  }
  octet(v) {
    this.parts.push(Buffer.from([v & 0xff]));
    return this;
  }
  short(v) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    this.parts.push(b);
    return this;
  }
  long(v) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    this.parts.push(b);
    return this;
  }
  longlong(v) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(v));
    this.parts.push(b);
    return this;
  }
  shortstr(s) {
    const b = Buffer.from(s, 'utf8');
    if (b.length > 255) throw new RangeError(`shortstr too long: ${s}`);
    this.parts.push(Buffer.from([b.length]), b);
    return this;
  }
  longstr(s) {
    const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
    this.long(b.length);
    this.parts.push(b);
    return this;
  }
  /** Consecutive bit fields pack into one octet, least significant bit first (spec 4.2.5.2). */
  bits(...flags) {
    let v = 0;
    flags.forEach((f, i) => {
      if (f) v |= 1 << i;
    });
    return this.octet(v);
  }
  /** Field table with string ('S'), signed 32-bit ('I') and boolean ('t') values, plus nested tables ('F'). */
  table(obj = {}) {
    const inner = new ArgWriter();
    for (const [k, v] of Object.entries(obj)) {
      inner.shortstr(k);
      if (typeof v === 'string') inner.octet(0x53).longstr(v);
      else if (typeof v === 'boolean') inner.octet(0x74).octet(v ? 1 : 0);
      else if (typeof v === 'number') inner.octet(0x49).long(v >>> 0);
      else inner.octet(0x46).table(v);
    }
    const body = inner.toBuffer();
    this.long(body.length);
    this.parts.push(body);
    return this;
  }
  toBuffer() {
    return Buffer.concat(this.parts);
  }
}

export function frame(type, channel, payload) {
  const b = Buffer.allocUnsafe(payload.length + FRAME_OVERHEAD);
  b[0] = type;
  b.writeUInt16BE(channel, 1);
  b.writeUInt32BE(payload.length, 3);
  payload.copy(b, 7);
  b[b.length - 1] = FRAME_END;
  return b;
}

export function methodFrame(channel, classId, methodId, args = (w) => w) {
  const w = new ArgWriter().short(classId).short(methodId);
  args(w);
  return frame(FRAME_METHOD, channel, w.toBuffer());
}

/** Content header with only delivery-mode set (flag bit 12) when persistent, else no properties. */
export function headerFrame(channel, bodySize, { persistent = false } = {}) {
  const w = new ArgWriter().short(60).short(0).longlong(bodySize);
  if (persistent) w.short(0x1000).octet(2);
  else w.short(0);
  return frame(FRAME_HEADER, channel, w.toBuffer());
}

/** Body frames for `body`, cut so no frame exceeds frameMax (payload + 8 bytes overhead). */
export function bodyFrames(channel, body, frameMax) {
  const maxPayload = frameMax - FRAME_OVERHEAD;
  const out = [];
  for (let off = 0; off < body.length; off += maxPayload) {
    out.push(frame(FRAME_BODY, channel, body.subarray(off, Math.min(body.length, off + maxPayload))));
  }
  return out;
}

/** basic.publish + header + body as one Buffer; the body offset is returned for in-place stamping. */
export function publishBytes(channel, exchange, routingKey, body, { persistent = false, frameMax = 131072 } = {}) {
  const m = methodFrame(channel, 60, 40, (w) => w.short(0).shortstr(exchange).shortstr(routingKey).bits(false, false));
  const h = headerFrame(channel, body.length, { persistent });
  const bodyOffset = m.length + h.length + 7;
  return { bytes: Buffer.concat([m, h, ...bodyFrames(channel, body, frameMax)]), bodyOffset };
}

/** basic.ack template (21 bytes); write the delivery tag at offset 11 and the multiple bit at 19. */
export function ackTemplate(channel) {
  return methodFrame(channel, 60, 80, (w) => w.longlong(0).bits(false));
}
export const ACK_TAG_OFFSET = 11;
export const ACK_BITS_OFFSET = 19;

/** Reads a shortstr at `off`; returns [string, nextOffset]. */
export function readShortstr(buf, off) {
  const len = buf[off];
  return [buf.toString('utf8', off + 1, off + 1 + len), off + 1 + len];
}

/** Byte width of fixed-size field-table values by type octet (RabbitMQ's dialect of 4.2.5.5). */
const FIXED_WIDTH = { t: 1, b: 1, B: 1, s: 2, u: 2, I: 4, i: 4, f: 4, l: 8, d: 8, T: 8, D: 5, V: 0 };

/** Reads the top-level string values of a field table at `off` (others are skipped). */
export function readTableStrings(buf, off) {
  const size = buf.readUInt32BE(off);
  const end = off + 4 + size;
  const out = {};
  let p = off + 4;
  while (p < end) {
    const [key, q] = readShortstr(buf, p);
    const type = String.fromCharCode(buf[q]);
    p = q + 1;
    if (type === 'S' || type === 'x') {
      const len = buf.readUInt32BE(p);
      if (type === 'S') out[key] = buf.toString('utf8', p + 4, p + 4 + len);
      p += 4 + len;
    } else if (type === 'F' || type === 'A') {
      p += 4 + buf.readUInt32BE(p);
    } else if (type in FIXED_WIDTH) {
      p += FIXED_WIDTH[type];
    } else {
      break; // unknown type: stop rather than guess its width
    }
  }
  return out;
}
