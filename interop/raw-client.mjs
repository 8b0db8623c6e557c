// A minimal AMQP 0-9-1 client over `net`, for what client libraries hide: exact frames,
// their order, and hard errors provoked by malformed input. It encodes and decodes methods
// generically from the machine-readable spec in spec/ (RabbitMQ's field-table tags) and
// shares no code with the broker under test.
import net from 'node:net';
import { readFileSync } from 'node:fs';

const spec = JSON.parse(readFileSync(new URL('../spec/amqp-rabbitmq-0.9.1.json', import.meta.url), 'utf8'));

export const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]); // "AMQP" 0-9-1
export const FRAME_END = 0xce;
export const FRAME = { method: 1, header: 2, body: 3, heartbeat: 8 };

const domainTypes = new Map(spec.domains.map(([name, type]) => [name, type]));
const argType = (a) => a.type ?? domainTypes.get(a.domain);

const methodsByName = new Map(); // 'queue.declare' -> { classId, methodId, args }
const methodsById = new Map(); // classId<<16|methodId -> same
for (const c of spec.classes) {
  for (const m of c.methods) {
    const def = {
      name: `${c.name}.${m.name}`,
      classId: c.id,
      methodId: m.id,
      args: m.arguments.map((a) => ({ name: a.name, type: argType(a), dflt: a['default-value'] })),
    };
    methodsByName.set(def.name, def);
    methodsById.set((c.id << 16) | m.id, def);
  }
}
const basicProps = spec.classes.find((c) => c.name === 'basic').properties.map((p) => ({ name: p.name, type: p.type }));

// ---------------------------------------------------------------- encoding

class Writer {
  constructor() {
    this.parts = [];
  }
  raw(b) {
    this.parts.push(b);
  }
  u8(v) {
    const b = Buffer.alloc(1);
    b.writeUInt8(v);
    this.parts.push(b);
  }
  u16(v) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    this.parts.push(b);
  }
  u32(v) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    this.parts.push(b);
  }
  u64(v) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(v));
    this.parts.push(b);
  }
  shortstr(s) {
    const b = Buffer.from(s ?? '', 'utf8');
    if (b.length > 255) throw new RangeError('shortstr too long');
    this.u8(b.length);
    this.raw(b);
  }
  longstr(s) {
    const b = Buffer.isBuffer(s) ? s : Buffer.from(s ?? '', 'utf8');
    this.u32(b.length);
    this.raw(b);
  }
  table(t) {
    // A Buffer is a pre-encoded table body (raw-byte keys, tags the encoder does not infer, deep nesting).
    const inner = Buffer.isBuffer(t) ? t : encodeTable(t ?? {});
    this.u32(inner.length);
    this.raw(inner);
  }
  done() {
    return Buffer.concat(this.parts);
  }
}

// Values may be plain JS values (type inferred) or { type: 'I', value } to choose the tag.
function encodeValue(w, v) {
  if (v && typeof v === 'object' && typeof v.type === 'string' && 'value' in v) {
    const t = v.type;
    w.raw(Buffer.from(t));
    const x = v.value;
    switch (t) {
      case 't': return w.u8(x ? 1 : 0);
      case 'b': { const b = Buffer.alloc(1); b.writeInt8(x); return w.raw(b); }
      case 'B': return w.u8(x);
      case 's': { const b = Buffer.alloc(2); b.writeInt16BE(x); return w.raw(b); }
      case 'u': return w.u16(x);
      case 'I': { const b = Buffer.alloc(4); b.writeInt32BE(x); return w.raw(b); }
      case 'i': return w.u32(x);
      case 'l': { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(x)); return w.raw(b); }
      case 'L': return w.u64(x);
      case 'f': { const b = Buffer.alloc(4); b.writeFloatBE(x); return w.raw(b); }
      case 'd': { const b = Buffer.alloc(8); b.writeDoubleBE(x); return w.raw(b); }
      case 'D': w.u8(x.scale); return w.u32(x.digits);
      case 'S': return w.longstr(x);
      case 'x': return w.longstr(Buffer.from(x));
      case 'T': return w.u64(x);
      case 'V': return undefined;
      case 'F': return w.table(x);
      case 'A': { const inner = new Writer(); for (const e of x) encodeValue(inner, e); const b = inner.done(); w.u32(b.length); return w.raw(b); }
      default: throw new Error(`unknown field type ${t}`);
    }
  }
  if (typeof v === 'string') return encodeValue(w, { type: 'S', value: v });
  if (typeof v === 'boolean') return encodeValue(w, { type: 't', value: v });
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return encodeValue(w, { type: v >= -2147483648 && v <= 2147483647 ? 'I' : 'l', value: v });
    return encodeValue(w, { type: 'd', value: v });
  }
  if (typeof v === 'bigint') return encodeValue(w, { type: 'l', value: v });
  if (v === null || v === undefined) return encodeValue(w, { type: 'V', value: null });
  if (Buffer.isBuffer(v)) return encodeValue(w, { type: 'x', value: v });
  if (Array.isArray(v)) return encodeValue(w, { type: 'A', value: v });
  return encodeValue(w, { type: 'F', value: v });
}

export function encodeTable(t) {
  const w = new Writer();
  for (const [k, v] of Object.entries(t)) {
    w.shortstr(k);
    encodeValue(w, v);
  }
  return w.done();
}

export function encodeMethodPayload(name, args = {}) {
  const def = methodsByName.get(name);
  if (!def) throw new Error(`unknown method ${name}`);
  const w = new Writer();
  w.u16(def.classId);
  w.u16(def.methodId);
  let bits = [];
  const flushBits = () => {
    if (!bits.length) return;
    let byte = 0;
    bits.forEach((b, i) => { if (b) byte |= 1 << i; });
    w.u8(byte);
    bits = [];
  };
  for (const a of def.args) {
    const v = a.name in args ? args[a.name] : a.dflt;
    if (a.type === 'bit') {
      bits.push(Boolean(v));
      if (bits.length === 8) flushBits();
      continue;
    }
    flushBits();
    switch (a.type) {
      case 'octet': w.u8(v ?? 0); break;
      case 'short': w.u16(v ?? 0); break;
      case 'long': w.u32(v ?? 0); break;
      case 'longlong': case 'timestamp': w.u64(v ?? 0); break;
      case 'shortstr': w.shortstr(v ?? ''); break;
      case 'longstr': w.longstr(v ?? ''); break;
      case 'table': w.table(v ?? {}); break;
      default: throw new Error(`unhandled arg type ${a.type}`);
    }
  }
  flushBits();
  return w.done();
}

export function encodeFrame(type, channel, payload, frameEnd = FRAME_END) {
  const head = Buffer.alloc(7);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([frameEnd])]);
}

export function encodeContentHeader(classId, bodySize, props = {}) {
  const w = new Writer();
  w.u16(classId);
  w.u16(0); // weight
  w.u64(bodySize);
  let flags = 0;
  const pw = new Writer();
  basicProps.forEach((p, i) => {
    const v = props[p.name];
    if (v === undefined) return;
    flags |= 1 << (15 - i);
    switch (p.type) {
      case 'shortstr': pw.shortstr(v); break;
      case 'octet': pw.u8(v); break;
      case 'timestamp': pw.u64(v); break;
      case 'table': pw.table(v); break;
      default: throw new Error(p.type);
    }
  });
  w.u16(flags);
  w.raw(pw.done());
  return w.done();
}

// ---------------------------------------------------------------- decoding

class Reader {
  constructor(buf) {
    this.buf = buf;
    this.pos = 0;
  }
  u8() { return this.buf.readUInt8(this.pos++); }
  i8() { return this.buf.readInt8(this.pos++); }
  u16() { const v = this.buf.readUInt16BE(this.pos); this.pos += 2; return v; }
  i16() { const v = this.buf.readInt16BE(this.pos); this.pos += 2; return v; }
  u32() { const v = this.buf.readUInt32BE(this.pos); this.pos += 4; return v; }
  i32() { const v = this.buf.readInt32BE(this.pos); this.pos += 4; return v; }
  u64() { const v = this.buf.readBigUInt64BE(this.pos); this.pos += 8; return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v; }
  i64() { const v = this.buf.readBigInt64BE(this.pos); this.pos += 8; return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v; }
  bytes(n) { const b = this.buf.subarray(this.pos, this.pos + n); if (b.length < n) throw new RangeError('short read'); this.pos += n; return b; }
  shortstr() { return this.bytes(this.u8()).toString('utf8'); }
  longstr() { return this.bytes(this.u32()).toString('utf8'); }
  table() { return decodeTable(this.bytes(this.u32())); }
}

// Decoded field values keep their type tag so tests can compare tags exactly.
function decodeValue(r) {
  const t = String.fromCharCode(r.u8());
  switch (t) {
    case 't': return { type: t, value: r.u8() !== 0 };
    case 'b': return { type: t, value: r.i8() };
    case 'B': return { type: t, value: r.u8() };
    case 's': return { type: t, value: r.i16() };
    case 'u': return { type: t, value: r.u16() };
    case 'I': return { type: t, value: r.i32() };
    case 'i': return { type: t, value: r.u32() };
    case 'l': return { type: t, value: r.i64() };
    case 'L': return { type: t, value: r.u64() };
    case 'f': { const v = r.buf.readFloatBE(r.pos); r.pos += 4; return { type: t, value: v }; }
    case 'd': { const v = r.buf.readDoubleBE(r.pos); r.pos += 8; return { type: t, value: v }; }
    case 'D': { const scale = r.u8(); return { type: t, value: { scale, digits: r.u32() } }; }
    case 'S': return { type: t, value: r.longstr() };
    case 'x': return { type: t, value: Buffer.from(r.bytes(r.u32())).toString('hex') };
    case 'T': return { type: t, value: r.u64() };
    case 'V': return { type: t, value: null };
    case 'F': return { type: t, value: r.table() };
    case 'A': {
      const inner = new Reader(r.bytes(r.u32()));
      const out = [];
      while (inner.pos < inner.buf.length) out.push(decodeValue(inner));
      return { type: t, value: out };
    }
    default: throw new Error(`unknown field type tag ${JSON.stringify(t)}`);
  }
}

export function decodeTable(buf) {
  const r = new Reader(buf);
  const out = {};
  while (r.pos < buf.length) {
    const k = r.shortstr();
    out[k] = decodeValue(r);
  }
  return out;
}

/** Strips type tags: { type, value } -> value, recursively. */
export function plain(v) {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object' && typeof v.type === 'string' && 'value' in v && Object.keys(v).length === 2) return plain(v.value);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

export function decodeMethod(payload) {
  const r = new Reader(payload);
  const classId = r.u16();
  const methodId = r.u16();
  const def = methodsById.get((classId << 16) | methodId);
  if (!def) return { name: `unknown(${classId},${methodId})`, classId, methodId, args: {} };
  const args = {};
  let bitByte = 0;
  let bitPos = 8;
  for (const a of def.args) {
    if (a.type === 'bit') {
      if (bitPos === 8) { bitByte = r.u8(); bitPos = 0; }
      args[a.name] = Boolean(bitByte & (1 << bitPos++));
      continue;
    }
    bitPos = 8;
    switch (a.type) {
      case 'octet': args[a.name] = r.u8(); break;
      case 'short': args[a.name] = r.u16(); break;
      case 'long': args[a.name] = r.u32(); break;
      case 'longlong': case 'timestamp': args[a.name] = r.u64(); break;
      case 'shortstr': args[a.name] = r.shortstr(); break;
      case 'longstr': args[a.name] = r.longstr(); break;
      case 'table': args[a.name] = r.table(); break;
      default: throw new Error(a.type);
    }
  }
  return { name: def.name, classId, methodId, args };
}

export function decodeContentHeader(payload) {
  const r = new Reader(payload);
  const classId = r.u16();
  r.u16();
  const bodySize = r.u64();
  const flags = r.u16();
  const props = {};
  basicProps.forEach((p, i) => {
    if (!(flags & (1 << (15 - i)))) return;
    switch (p.type) {
      case 'shortstr': props[p.name] = r.shortstr(); break;
      case 'octet': props[p.name] = r.u8(); break;
      case 'timestamp': props[p.name] = r.u64(); break;
      case 'table': props[p.name] = r.table(); break;
      default: throw new Error(p.type);
    }
  });
  return { classId, bodySize, props };
}

// ---------------------------------------------------------------- connection

export class RawClient {
  /** @param {{host:string, port:number}} opts */
  static connect({ host, port, timeoutMs = 3000 }) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      const t = setTimeout(() => { sock.destroy(); reject(new Error('raw connect timeout')); }, timeoutMs);
      sock.once('connect', () => { clearTimeout(t); resolve(new RawClient(sock)); });
      sock.once('error', (e) => { clearTimeout(t); reject(e); });
    });
  }

  constructor(sock) {
    this.sock = sock;
    sock.setNoDelay(true);
    this.buf = Buffer.alloc(0);
    this.events = []; // decoded frames and 'closed' markers, in arrival order
    this.waiters = [];
    this.closed = false;
    this.first = true;
    sock.on('data', (d) => this.onData(d));
    sock.on('error', () => {});
    sock.on('close', () => {
      this.closed = true;
      this.push({ type: 'socket-closed' });
    });
  }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.first && this.buf.length >= 4 && this.buf.subarray(0, 4).toString('latin1') === 'AMQP') {
        if (this.buf.length < 8) return;
        this.push({ type: 'protocol-header', bytes: [...this.buf.subarray(4, 8)] });
        this.buf = this.buf.subarray(8);
        this.first = false;
        continue;
      }
      if (this.buf.length < 7) return;
      this.first = false;
      const type = this.buf.readUInt8(0);
      const channel = this.buf.readUInt16BE(1);
      const size = this.buf.readUInt32BE(3);
      if (this.buf.length < size + 8) return;
      const payload = this.buf.subarray(7, 7 + size);
      const end = this.buf.readUInt8(7 + size);
      this.buf = this.buf.subarray(size + 8);
      const f = { type: 'frame', frameType: type, channel, size, badEnd: end !== FRAME_END };
      try {
        if (type === FRAME.method) f.method = decodeMethod(payload);
        else if (type === FRAME.header) f.header = decodeContentHeader(payload);
        else if (type === FRAME.body) f.body = Buffer.from(payload);
      } catch (e) {
        f.decodeError = String(e.message);
      }
      this.push(f);
    }
  }

  push(ev) {
    this.events.push(ev);
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Next event (frame or socket-closed), skipping heartbeats; null on timeout. */
  async next(timeoutMs = 2000, { heartbeats = false } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.events.length) {
        const ev = this.events.shift();
        if (!heartbeats && ev.type === 'frame' && ev.frameType === FRAME.heartbeat) continue;
        return ev;
      }
      if (this.closed) return { type: 'socket-closed' };
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => { clearTimeout(t); res(); });
      });
    }
  }

  /** Next method frame with the given name; throws with what arrived otherwise. */
  async expect(name, timeoutMs = 2000) {
    const ev = await this.next(timeoutMs);
    if (!ev || ev.type !== 'frame' || !ev.method || ev.method.name !== name) {
      throw new Error(`expected ${name}, got ${JSON.stringify(summarize(ev))}`);
    }
    return ev.method.args;
  }

  /** Events until the socket closes or nothing arrives for quietMs. */
  async collect(quietMs = 300, max = 100) {
    const out = [];
    while (out.length < max) {
      const ev = await this.next(quietMs);
      if (!ev) break;
      out.push(ev);
      if (ev.type === 'socket-closed') break;
    }
    return out;
  }

  write(buf) {
    if (!this.sock.destroyed) this.sock.write(buf);
  }
  sendProtocolHeader(buf = PROTOCOL_HEADER) { this.write(buf); }
  sendMethod(channel, name, args) { this.write(encodeFrame(FRAME.method, channel, encodeMethodPayload(name, args))); }
  sendHeader(channel, bodySize, props = {}, classId = 60) { this.write(encodeFrame(FRAME.header, channel, encodeContentHeader(classId, bodySize, props))); }
  sendBody(channel, body) { this.write(encodeFrame(FRAME.body, channel, Buffer.from(body))); }
  sendHeartbeat(channel = 0) { this.write(encodeFrame(FRAME.heartbeat, channel, Buffer.alloc(0))); }
  publish(channel, exchange, routingKey, body, props = {}, flags = {}) {
    this.sendMethod(channel, 'basic.publish', { exchange, 'routing-key': routingKey, ...flags });
    const b = Buffer.from(body);
    this.sendHeader(channel, b.length, props);
    if (b.length) this.sendBody(channel, b);
  }

  /** Full handshake as user/pass; returns the connection.start arguments. */
  async handshake({ user = 'guest', pass = 'guest', vhost = '/', heartbeat = 0, frameMax = 0, channelMax = 0, capabilities } = {}) {
    this.sendProtocolHeader();
    const start = await this.expect('connection.start');
    this.sendMethod(0, 'connection.start-ok', {
      'client-properties': {
        product: 'warren-interop-raw',
        capabilities: capabilities ?? {
          consumer_cancel_notify: true,
          'basic.nack': true,
          publisher_confirms: true,
          authentication_failure_close: true,
          'connection.blocked': true,
          exchange_exchange_bindings: true,
          per_consumer_qos: true,
        },
      },
      mechanism: 'PLAIN',
      response: Buffer.from(`\0${user}\0${pass}`),
      locale: 'en_US',
    });
    const tune = await this.expect('connection.tune');
    this.tune = tune;
    this.sendMethod(0, 'connection.tune-ok', {
      'channel-max': channelMax || tune['channel-max'],
      'frame-max': frameMax || tune['frame-max'],
      heartbeat,
    });
    this.sendMethod(0, 'connection.open', { 'virtual-host': vhost });
    await this.expect('connection.open-ok');
    return start;
  }

  async openChannel(ch) {
    this.sendMethod(ch, 'channel.open', {});
    await this.expect('channel.open-ok');
  }

  close() {
    this.sock.destroy();
  }
}

/** A compact, stable description of an event for observations. */
export function summarize(ev, { withArgs = true } = {}) {
  if (!ev) return 'timeout';
  if (ev.type === 'socket-closed') return 'socket-closed';
  if (ev.type === 'protocol-header') return `protocol-header ${ev.bytes.join('.')}`;
  if (ev.frameType === FRAME.heartbeat) return `heartbeat ch${ev.channel}`;
  if (ev.method) {
    const out = { ch: ev.channel, method: ev.method.name };
    if (withArgs && Object.keys(ev.method.args).length) out.args = plain(ev.method.args);
    return out;
  }
  if (ev.header) return { ch: ev.channel, header: { bodySize: ev.header.bodySize, props: plain(ev.header.props) } };
  if (ev.body) return { ch: ev.channel, body: ev.body.toString('utf8') };
  return { ch: ev.channel, frameType: ev.frameType, decodeError: ev.decodeError };
}
