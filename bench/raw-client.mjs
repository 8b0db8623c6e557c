// Raw-frame AMQP 0-9-1 client over `net`: full handshake (PLAIN auth, tune), channels,
// synchronous methods, publishing from pre-encoded bytes, consuming with optional
// coalesced acks, and publisher confirms. It decodes only what the benchmarks need, so
// it costs far less CPU per message than a general client and measures the broker.
import net from 'node:net';
import {
  ACK_BITS_OFFSET,
  ACK_TAG_OFFSET,
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  PROTOCOL_HEADER,
  ackTemplate,
  frame,
  methodFrame,
  readShortstr,
  readTableStrings,
} from './amqp-frames.mjs';

/** 2^32, to combine the two halves of a 64-bit delivery tag or body size. */
const TWO_32 = 4294967296;
/** What we ask for in tune-ok when the server proposes 0 (no limit): RabbitMQ's default frame_max. */
const DEFAULT_FRAME_MAX = 131072;
/** Bound on how long the handshake and each synchronous method may take. */
const RPC_TIMEOUT_MS = 15000;

function readU64(buf, off) {
  return buf.readUInt32BE(off) * TWO_32 + buf.readUInt32BE(off + 4);
}

export function parseUrl(url) {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') {
    throw new Error(`benchmarks only talk to loopback, not ${u.hostname}`);
  }
  return {
    host: '127.0.0.1',
    port: Number(u.port || 5672),
    user: decodeURIComponent(u.username || 'guest'),
    pass: decodeURIComponent(u.password || 'guest'),
    vhost: u.pathname && u.pathname !== '/' ? decodeURIComponent(u.pathname.slice(1)) : '/',
  };
}

export class RawChannel {
  constructor(conn, id) {
    this.conn = conn;
    this.id = id;
    this.pending = [];
    this.closed = false;
    // Consumer side: message assembly state.
    this.expectHeader = false;
    this.bodyRemaining = 0;
    this.bodySize = 0;
    this.firstBody = null;
    this.deliveryTag = 0;
    this.manualAck = false;
    this.lastUnacked = 0;
    this.ackTemplate = ackTemplate(id);
    /** (deliveryTag, firstBodyFrameView|null, bodySize) when a delivered message is complete. */
    this.onMessage = null;
    /** (deliveryTag, multiple, isNack) for publisher confirms. */
    this.onConfirm = null;
    this.onClose = null;
  }

  rpc(bytes, decode = () => undefined) {
    if (this.closed) return Promise.reject(new Error(`channel ${this.id} is closed`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`channel ${this.id}: no reply within ${RPC_TIMEOUT_MS} ms`)), RPC_TIMEOUT_MS);
      this.pending.push({
        decode,
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.conn.write(bytes);
    });
  }

  declareQueue(name, { passive = false, durable = false, exclusive = false, autoDelete = false, args = {} } = {}) {
    const bytes = methodFrame(this.id, 50, 10, (w) =>
      w.short(0).shortstr(name).bits(passive, durable, exclusive, autoDelete, false).table(args),
    );
    return this.rpc(bytes, (buf, p) => {
      const [queue, off] = readShortstr(buf, p);
      return { queue, messageCount: buf.readUInt32BE(off), consumerCount: buf.readUInt32BE(off + 4) };
    });
  }
  deleteQueue(name) {
    return this.rpc(methodFrame(this.id, 50, 40, (w) => w.short(0).shortstr(name).bits(false, false, false)));
  }
  purgeQueue(name) {
    return this.rpc(methodFrame(this.id, 50, 30, (w) => w.short(0).shortstr(name).bits(false)));
  }
  declareExchange(name, type, { durable = false } = {}) {
    const bytes = methodFrame(this.id, 40, 10, (w) =>
      w.short(0).shortstr(name).shortstr(type).bits(false, durable, false, false, false).table({}),
    );
    return this.rpc(bytes);
  }
  deleteExchange(name) {
    return this.rpc(methodFrame(this.id, 40, 20, (w) => w.short(0).shortstr(name).bits(false, false)));
  }
  bindQueue(queue, exchange, routingKey) {
    const bytes = methodFrame(this.id, 50, 20, (w) =>
      w.short(0).shortstr(queue).shortstr(exchange).shortstr(routingKey).bits(false).table({}),
    );
    return this.rpc(bytes);
  }
  qos(prefetchCount) {
    return this.rpc(methodFrame(this.id, 60, 10, (w) => w.long(0).short(prefetchCount).bits(false)));
  }
  consume(queue, { noAck = true, tag = '' } = {}) {
    this.manualAck = !noAck;
    const bytes = methodFrame(this.id, 60, 20, (w) =>
      w.short(0).shortstr(queue).shortstr(tag).bits(false, noAck, false, false).table({}),
    );
    return this.rpc(bytes, (buf, p) => readShortstr(buf, p)[0]);
  }
  confirmSelect() {
    return this.rpc(methodFrame(this.id, 85, 10, (w) => w.bits(false)));
  }
  async close() {
    if (this.closed) return;
    await this.rpc(methodFrame(this.id, 20, 40, (w) => w.short(200).shortstr('bye').short(0).short(0)));
    this.closed = true;
  }

  /** Sends one coalesced ack (multiple) for everything delivered so far, if anything is unacked. */
  flushAck() {
    if (this.lastUnacked === 0) return;
    const b = Buffer.allocUnsafe(this.ackTemplate.length);
    this.ackTemplate.copy(b);
    b.writeUInt32BE(Math.floor(this.lastUnacked / TWO_32), ACK_TAG_OFFSET);
    b.writeUInt32BE(this.lastUnacked % TWO_32, ACK_TAG_OFFSET + 4);
    b[ACK_BITS_OFFSET] = 1;
    this.lastUnacked = 0;
    this.conn.write(b);
  }

  failAll(err) {
    this.closed = true;
    for (const p of this.pending.splice(0)) p.reject(err);
    if (this.onClose) this.onClose(err);
  }

  messageDone() {
    const first = this.firstBody;
    this.firstBody = null;
    if (this.manualAck) {
      this.lastUnacked = this.deliveryTag;
      this.conn.ackDirty = true;
    }
    if (this.onMessage) this.onMessage(this.deliveryTag, first, this.bodySize);
  }

  onMethod(classId, methodId, buf, p) {
    if (classId === 60 && methodId === 60) {
      // basic.deliver: consumer-tag, delivery-tag, redelivered, exchange, routing-key
      const tagOff = p + 1 + buf[p];
      this.deliveryTag = readU64(buf, tagOff);
      this.expectHeader = true;
      return;
    }
    if (classId === 60 && (methodId === 80 || methodId === 120)) {
      // basic.ack / basic.nack from the broker: delivery-tag, multiple bit
      if (this.onConfirm) this.onConfirm(readU64(buf, p), (buf[p + 8] & 1) === 1, methodId === 120);
      return;
    }
    if (classId === 60 && methodId === 50) {
      // basic.return: a header and body follow; drop them.
      this.expectHeader = true;
      this.deliveryTag = -1;
      return;
    }
    if (classId === 20 && methodId === 40) {
      const code = buf.readUInt16BE(p);
      const [text] = readShortstr(buf, p + 2);
      this.conn.write(methodFrame(this.id, 20, 41));
      this.failAll(new Error(`channel ${this.id} closed by broker: ${code} ${text}`));
      return;
    }
    if (classId === 20 && methodId === 20) {
      // channel.flow: reply flow-ok with the same active bit.
      const active = buf[p] & 1;
      this.conn.write(methodFrame(this.id, 20, 21, (w) => w.bits(active === 1)));
      return;
    }
    if (classId === 60 && methodId === 30) return; // broker-initiated basic.cancel
    const waiter = this.pending.shift();
    if (!waiter) return;
    try {
      waiter.resolve(waiter.decode(buf, p, classId, methodId));
    } catch (e) {
      waiter.reject(e);
    }
  }

  onHeader(buf, p) {
    this.expectHeader = false;
    this.bodySize = readU64(buf, p + 4);
    this.bodyRemaining = this.bodySize;
    if (this.bodySize === 0 && this.deliveryTag !== -1) this.messageDone();
  }

  onBody(buf, p, end) {
    if (this.bodyRemaining === this.bodySize) this.firstBody = buf.subarray(p, end);
    this.bodyRemaining -= end - p;
    if (this.bodyRemaining <= 0 && this.deliveryTag !== -1) this.messageDone();
  }
}

export class RawConnection {
  constructor(socket, opts) {
    this.socket = socket;
    this.opts = opts;
    this.channels = new Map();
    this.nextChannel = 1;
    this.frameMax = DEFAULT_FRAME_MAX;
    this.channelMax = 2047;
    this.closed = false;
    this.blocked = false;
    this.ackDirty = false;
    this.restParts = null;
    this.restLen = 0;
    this.restNeed = 0;
    this.control = new RawChannel(this, 0);
    this.channels.set(0, this.control);
    this.onError = null;
    this.serverProperties = {};
  }

  /** Connects and completes the handshake; resolves once connection.open-ok arrives. */
  static connect(url, { frameMax = DEFAULT_FRAME_MAX } = {}) {
    const opts = parseUrl(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: opts.host, port: opts.port, noDelay: true });
      const conn = new RawConnection(socket, { ...opts, frameMax });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`handshake with ${opts.host}:${opts.port} timed out`));
      }, RPC_TIMEOUT_MS);
      conn.handshake = {
        resolve: () => (clearTimeout(timer), resolve(conn)),
        reject: (e) => (clearTimeout(timer), socket.destroy(), reject(e)),
      };
      socket.on('connect', () => socket.write(PROTOCOL_HEADER));
      socket.on('data', (chunk) => conn.onData(chunk));
      socket.on('error', (e) => conn.fail(e));
      socket.on('close', () => conn.fail(new Error('socket closed')));
    });
  }

  write(bytes) {
    return this.socket.write(bytes);
  }

  async openChannel() {
    const id = this.nextChannel++;
    const ch = new RawChannel(this, id);
    this.channels.set(id, ch);
    await ch.rpc(methodFrame(id, 20, 10, (w) => w.shortstr('')));
    return ch;
  }

  async close() {
    if (this.closed) return;
    try {
      await this.control.rpc(methodFrame(0, 10, 50, (w) => w.short(200).shortstr('bye').short(0).short(0)));
    } catch {
      // the socket is destroyed below either way
    }
    this.closed = true;
    this.socket.destroy();
  }

  fail(err) {
    if (this.handshake) {
      const h = this.handshake;
      this.handshake = null;
      h.reject(err);
    }
    if (this.closed) return;
    this.closed = true;
    for (const ch of this.channels.values()) ch.failAll(err);
    this.socket.destroy();
    if (this.onError && err.message !== 'socket closed') this.onError(err);
  }

  onData(chunk) {
    let buf = chunk;
    if (this.restParts !== null) {
      this.restLen += chunk.length;
      this.restParts.push(chunk);
      if (this.restNeed > 0 && this.restLen < this.restNeed) return; // a large frame still arriving
      buf = Buffer.concat(this.restParts, this.restLen);
      this.restParts = null;
    }
    const len = buf.length;
    let off = 0;
    while (len - off >= 7) {
      const size = buf.readUInt32BE(off + 3);
      const end = off + 7 + size;
      if (end >= len) break;
      if (buf[end] !== FRAME_END) {
        this.fail(new Error(`bad frame end 0x${buf[end].toString(16)} at frame type ${buf[off]}`));
        return;
      }
      this.onFrame(buf[off], buf.readUInt16BE(off + 1), buf, off + 7, end);
      if (this.closed) return;
      off = end + 1;
    }
    if (off < len) {
      const rest = buf.subarray(off);
      this.restParts = [rest];
      this.restLen = rest.length;
      this.restNeed = rest.length >= 7 ? rest.readUInt32BE(3) + 8 : 0;
    }
    if (this.ackDirty) {
      this.ackDirty = false;
      for (const ch of this.channels.values()) ch.flushAck();
    }
  }

  onFrame(type, channel, buf, p, end) {
    if (type === FRAME_BODY) {
      const ch = this.channels.get(channel);
      if (ch) ch.onBody(buf, p, end);
      return;
    }
    if (type === FRAME_METHOD) {
      const classId = buf.readUInt16BE(p);
      const methodId = buf.readUInt16BE(p + 2);
      if (channel === 0) this.onConnectionMethod(classId, methodId, buf, p + 4);
      else {
        const ch = this.channels.get(channel);
        if (ch) ch.onMethod(classId, methodId, buf, p + 4);
      }
      return;
    }
    if (type === FRAME_HEADER) {
      const ch = this.channels.get(channel);
      if (ch) ch.onHeader(buf, p);
      return;
    }
    if (type === FRAME_HEARTBEAT) this.write(frame(FRAME_HEARTBEAT, 0, Buffer.alloc(0)));
  }

  onConnectionMethod(classId, methodId, buf, p) {
    if (classId !== 10) return;
    switch (methodId) {
      case 10: {
        // connection.start (version-major, version-minor, server-properties, ...) -> start-ok, PLAIN
        try {
          this.serverProperties = readTableStrings(buf, p + 2);
        } catch {
          this.serverProperties = {};
        }
        const response = Buffer.from(`\0${this.opts.user}\0${this.opts.pass}`, 'utf8');
        const props = { product: 'warren-bench-raw', capabilities: { publisher_confirms: true, 'connection.blocked': true } };
        this.write(methodFrame(0, 10, 11, (w) => w.table(props).shortstr('PLAIN').longstr(response).shortstr('en_US')));
        return;
      }
      case 30: {
        // connection.tune: channel-max, frame-max, heartbeat -> tune-ok (heartbeats off), open
        const chMax = buf.readUInt16BE(p);
        const fMax = buf.readUInt32BE(p + 2);
        this.channelMax = chMax === 0 ? 2047 : chMax;
        this.frameMax = fMax === 0 ? this.opts.frameMax : Math.min(fMax, this.opts.frameMax);
        this.write(methodFrame(0, 10, 31, (w) => w.short(this.channelMax).long(this.frameMax).short(0)));
        const vhost = this.opts.vhost;
        this.write(methodFrame(0, 10, 40, (w) => w.shortstr(vhost).shortstr('').bits(false)));
        return;
      }
      case 41: {
        const h = this.handshake;
        this.handshake = null;
        if (h) h.resolve();
        return;
      }
      case 50: {
        const code = buf.readUInt16BE(p);
        const [text] = readShortstr(buf, p + 2);
        this.write(methodFrame(0, 10, 51));
        this.fail(new Error(`connection closed by broker: ${code} ${text}`));
        return;
      }
      case 51: {
        const waiter = this.control.pending.shift();
        if (waiter) waiter.resolve();
        return;
      }
      case 60:
        this.blocked = true;
        return;
      case 61:
        this.blocked = false;
        return;
      default:
        return;
    }
  }
}

