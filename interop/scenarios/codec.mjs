// Frame and field-table edge cases seen through the raw-frame client: frame sizes at the
// negotiated limit, malformed content headers, heartbeats with a payload, the unsigned 64-bit
// field type 'L', raw-byte table keys, deep nesting, and headers a queue must re-encode at
// delivery (x-delivery-count).
import { encodeFrame, FRAME, summarize } from '../raw-client.mjs';

/** Events until connection.close (answered) or the socket closes, or quietMs of silence. */
async function untilClose(c, quietMs = 500) {
  const out = [];
  for (;;) {
    const ev = await c.next(quietMs);
    if (!ev) break;
    out.push(summarize(ev));
    if (ev.type === 'socket-closed') break;
    if (ev.method?.name === 'connection.close') {
      c.sendMethod(0, 'connection.close-ok', {});
      break;
    }
  }
  return out;
}

/** A content-header payload for class 60 with the given property flags and raw property bytes. */
function contentHeader(bodySize, flags, props = Buffer.alloc(0)) {
  const h = Buffer.alloc(14);
  h.writeUInt16BE(60, 0);
  h.writeBigUInt64BE(BigInt(bodySize), 4);
  h.writeUInt16BE(flags, 12);
  return Buffer.concat([h, props]);
}

/** One table entry: key bytes (string or Buffer), tag, value bytes. */
function entry(key, tag, value) {
  const k = Buffer.isBuffer(key) ? key : Buffer.from(key);
  return Buffer.concat([Buffer.from([k.length]), k, Buffer.from(tag), value]);
}

function u64(v) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  return b;
}

function longPrefixed(body) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** A table nested `depth` levels deep: {a: {a: ... {} }} (each level an 'F' value). */
function nestedTable(depth) {
  let inner = Buffer.alloc(0);
  for (let i = 0; i < depth; i++) inner = entry('a', 'F', longPrefixed(inner));
  return inner;
}

/** An array nested `depth` levels deep: [[...[]...]]. */
function nestedArray(depth) {
  let inner = Buffer.alloc(0);
  for (let i = 0; i < depth; i++) inner = Buffer.concat([Buffer.from('A'), longPrefixed(inner)]);
  return inner;
}

/** Flag bits of basic properties (AMQP 0-9-1 §4.2.6.1: the first property is bit 15). */
const F_CONTENT_TYPE = 1 << 15;
const F_HEADERS = 1 << 13;
const F_TIMESTAMP = 1 << 6;

/** Publish raw header bytes and a body to the default exchange, then read it back with basic.get. */
async function publishAndGet(c, q, header, body) {
  c.sendMethod(1, 'basic.publish', { exchange: '', 'routing-key': q });
  c.write(encodeFrame(FRAME.header, 1, header));
  if (body.length) c.write(encodeFrame(FRAME.body, 1, body));
  c.sendMethod(1, 'basic.get', { queue: q, 'no-ack': true });
  return c.collect(300, 5).then((evs) => evs.map((e) => summarize(e)));
}

/** Like publishAndGet, but the content header is reported by size only (too deep to decode). */
async function publishAndGetSized(c, q, header, body) {
  c.sendMethod(1, 'basic.publish', { exchange: '', 'routing-key': q });
  c.write(encodeFrame(FRAME.header, 1, header));
  if (body.length) c.write(encodeFrame(FRAME.body, 1, body));
  c.sendMethod(1, 'basic.get', { queue: q, 'no-ack': true });
  const evs = await c.collect(300, 5);
  return evs.map((e) => (e.frameType === FRAME.header ? { ch: e.channel, headerFrameSize: e.size, sameAsSent: e.size === header.length } : summarize(e)));
}

const DELIVERY_COUNT = Buffer.from('x-delivery-count');

export default {
  async 'body-frame-payload-equal-to-frame-max'(ctx) {
    // frame_max counts the whole frame (7 header octets + payload + frame-end); RabbitMQ still
    // accepts a payload of frame_max octets (clients that size body frames that way work).
    const c = await ctx.rawOpen({ frameMax: 4096 });
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q, exclusive: true });
    await c.expect('queue.declare-ok');
    const body = Buffer.alloc(4096, 0x61);
    const evs = await publishAndGet(c, q, contentHeader(body.length, 0), body);
    return evs.map((e) => (typeof e === 'object' && 'body' in e ? { ch: e.ch, bodyLength: e.body.length } : e));
  },

  async 'body-frame-payload-one-over-frame-max'(ctx) {
    const c = await ctx.rawOpen({ frameMax: 4096 });
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q, exclusive: true });
    await c.expect('queue.declare-ok');
    const body = Buffer.alloc(4097, 0x61);
    c.sendMethod(1, 'basic.publish', { exchange: '', 'routing-key': q });
    c.write(encodeFrame(FRAME.header, 1, contentHeader(body.length, 0)));
    c.write(encodeFrame(FRAME.body, 1, body));
    return untilClose(c);
  },

  async 'content-header-shorter-than-fixed-fields'(ctx) {
    const c = await ctx.rawOpen();
    c.sendMethod(1, 'basic.publish', { exchange: '', 'routing-key': 'x' });
    c.write(encodeFrame(FRAME.header, 1, Buffer.from([0, 60, 0, 0, 0, 0])));
    return untilClose(c);
  },

  async 'content-header-unknown-field-tag-in-headers'(ctx) {
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q, exclusive: true });
    await c.expect('queue.declare-ok');
    const table = entry('k', 'Z', Buffer.from([1, 2, 3]));
    c.sendMethod(1, 'basic.publish', { exchange: '', 'routing-key': q });
    c.write(encodeFrame(FRAME.header, 1, contentHeader(1, F_HEADERS, longPrefixed(table))));
    c.write(encodeFrame(FRAME.body, 1, Buffer.from('x')));
    return untilClose(c);
  },

  async 'heartbeat-frame-with-payload'(ctx) {
    const c = await ctx.rawOpen();
    c.write(encodeFrame(FRAME.heartbeat, 0, Buffer.from('abc')));
    // Still usable afterwards?
    c.sendMethod(1, 'basic.qos', { 'prefetch-count': 1 });
    return untilClose(c);
  },

  async 'field-type-L-in-queue-arguments'(ctx) {
    const c = await ctx.rawOpen();
    const q = ctx.q();
    const args = Buffer.concat([entry('x-max-length', 'L', u64(10)), entry('x-custom', 'L', u64(2n ** 64n - 1n))]);
    c.sendMethod(1, 'queue.declare', { queue: q, exclusive: true, arguments: args });
    const first = await c.collect(300, 3);
    // Redeclare with the same numbers as signed longs: equivalent?
    const args2 = Buffer.concat([entry('x-max-length', 'l', u64(10)), entry('x-custom', 'L', u64(2n ** 64n - 1n))]);
    c.sendMethod(1, 'queue.declare', { queue: q, exclusive: true, arguments: args2 });
    const second = await c.collect(300, 3);
    return { first: first.map((e) => summarize(e)), second: second.map((e) => summarize(e)) };
  },

  async 'field-type-L-in-message-headers'(ctx) {
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q, exclusive: true });
    await c.expect('queue.declare-ok');
    const table = Buffer.concat([entry('small', 'L', u64(7)), entry('big', 'L', u64(2n ** 64n - 2n)), entry('nested', 'A', longPrefixed(Buffer.concat([Buffer.from('L'), u64(2n ** 63n)])))]);
    const evs = await publishAndGet(c, q, contentHeader(1, F_HEADERS, longPrefixed(table)), Buffer.from('x'));
    return JSON.parse(JSON.stringify(evs, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
  },

  async 'field-table-key-invalid-utf8-in-queue-arguments'(ctx) {
    const c = await ctx.rawOpen();
    const q = ctx.q();
    const key = Buffer.alloc(100, 0xff);
    c.sendMethod(1, 'queue.declare', { queue: q, durable: true, arguments: entry(key, 'S', longPrefixed(Buffer.from('v'))) });
    const first = (await c.collect(300, 3)).map((e) => summarize(e));
    return first;
  },

  async 'field-table-key-invalid-utf8-in-message-headers'(ctx) {
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q, exclusive: true });
    await c.expect('queue.declare-ok');
    const key = Buffer.alloc(100, 0xff);
    const table = entry(key, 'I', Buffer.from([0, 0, 0, 5]));
    c.sendMethod(1, 'basic.publish', { exchange: '', 'routing-key': q });
    c.write(encodeFrame(FRAME.header, 1, contentHeader(1, F_HEADERS, longPrefixed(table))));
    c.write(encodeFrame(FRAME.body, 1, Buffer.from('x')));
    c.sendMethod(1, 'basic.get', { queue: q, 'no-ack': true });
    const evs = await c.collect(300, 5);
    // The key as it came back, in hex (the decoder's lossy string would hide the bytes).
    const header = evs.find((e) => e.header);
    return { frames: evs.map((e) => (e.header ? 'header' : summarize(e))), keysHex: header ? Object.keys(header.header.props.headers ?? {}).map((k) => Buffer.from(k).length) : null };
  },

  async 'headers-table-nested-5000-deep'(ctx) {
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q, exclusive: true });
    await c.expect('queue.declare-ok');
    const table = entry('deep', 'F', longPrefixed(nestedTable(5000)));
    return publishAndGetSized(c, q, contentHeader(1, F_HEADERS, longPrefixed(table)), Buffer.from('x'));
  },

  async 'headers-array-nested-5000-deep'(ctx) {
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q, exclusive: true });
    await c.expect('queue.declare-ok');
    const table = entry('deep', 'A', longPrefixed(nestedArray(5000)));
    return publishAndGetSized(c, q, contentHeader(1, F_HEADERS, longPrefixed(table)), Buffer.from('x'));
  },

  async 'invalid-utf8-content-type-with-headers'(ctx) {
    // A non-empty headers table makes warren decode every property at publish.
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q, exclusive: true });
    await c.expect('queue.declare-ok');
    const ct = Buffer.alloc(200, 0xff);
    const props = Buffer.concat([Buffer.from([ct.length]), ct, longPrefixed(entry('a', 'I', Buffer.from([0, 0, 0, 1])))]);
    const evs = await publishAndGet(c, q, contentHeader(1, F_CONTENT_TYPE | F_HEADERS, props), Buffer.from('x'));
    return evs.map((e) => (typeof e === 'object' && 'header' in e ? { contentTypeBytes: Buffer.from(e.header.props['content-type'] ?? '').length, headers: e.header.props.headers } : e));
  },

  async 'quorum-delivery-count-with-invalid-utf8-content-type'(ctx) {
    // 200 bytes of content-type, not UTF-8, with "x-delivery-count" inside: the queue must add the
    // count on redelivery without choking on the rest of the header.
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q, durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await c.expect('queue.declare-ok');
    c.sendMethod(1, 'confirm.select', {});
    await c.expect('confirm.select-ok');
    const ct = Buffer.alloc(200, 0xff);
    DELIVERY_COUNT.copy(ct, 50);
    const props = Buffer.concat([Buffer.from([ct.length]), ct, u64(2n ** 64n - 1n)]);
    c.sendMethod(1, 'basic.publish', { exchange: '', 'routing-key': q });
    c.write(encodeFrame(FRAME.header, 1, contentHeader(1, F_CONTENT_TYPE | F_TIMESTAMP, props)));
    c.write(encodeFrame(FRAME.body, 1, Buffer.from('x')));
    await c.expect('basic.ack');
    const seen = [];
    for (let i = 0; i < 2; i++) {
      c.sendMethod(1, 'basic.get', { queue: q, 'no-ack': false });
      const ok = await c.expect('basic.get-ok');
      const h = await c.next();
      const b = await c.next();
      const p = h?.header?.props ?? {};
      seen.push({
        redelivered: ok.redelivered,
        contentTypeBytes: p['content-type'] === undefined ? null : Buffer.from(p['content-type']).length,
        timestamp: String(p.timestamp),
        deliveryCount: p.headers?.['x-delivery-count'] ?? null,
        body: b?.body?.toString(),
      });
      c.sendMethod(1, 'basic.nack', { 'delivery-tag': ok['delivery-tag'], requeue: true });
    }
    return JSON.parse(JSON.stringify(seen, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
  },
};

export const options = {
  'headers-table-nested-5000-deep': { timeout: 10000 },
  'headers-array-nested-5000-deep': { timeout: 10000 },
};
