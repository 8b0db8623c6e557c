// A deliberately careless AMQP client over a bare socket, for the soak's hostile clients: it can
// stop anywhere in the handshake, write half a frame, half-close the socket, or send garbage, and
// it reports how the broker ended the conversation (connection.close reply code, or just the socket).
import net from 'node:net';
import { FRAME_END, FRAME_METHOD, PROTOCOL_HEADER, methodFrame, readShortstr } from '../amqp-frames.mjs';

const HANDSHAKE_TIMEOUT_MS = 15000;

export class RawProbe {
  /** Opens a TCP connection; `allowHalfOpen` keeps our side open after the broker ends its own. */
  static connect(port, { allowHalfOpen = false } = {}) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen, noDelay: true });
      const probe = new RawProbe(socket);
      socket.once('connect', () => resolve(probe));
      socket.once('error', reject);
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.rest = Buffer.alloc(0);
    /** Reply code of the broker's connection.close, if one arrived. */
    this.closeCode = null;
    this.closeText = '';
    /** The broker sent its protocol header back (its answer to a bad header). */
    this.gotProtocolHeader = false;
    this.ended = false;
    this.closed = false;
    this.frameMax = 131072;
    this.waiters = [];
    /** "channel:class.method" of every method the broker sent. */
    this.seen = new Set();
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('end', () => (this.ended = true));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  onData(chunk) {
    this.rest = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    if (this.rest.length >= 8 && this.rest.subarray(0, 4).toString('latin1') === 'AMQP') {
      this.gotProtocolHeader = true;
      this.rest = this.rest.subarray(8);
    }
    while (this.rest.length >= 8) {
      const size = this.rest.readUInt32BE(3);
      if (this.rest.length < size + 8) break;
      const type = this.rest[0];
      const channel = this.rest.readUInt16BE(1);
      const payload = this.rest.subarray(7, 7 + size);
      const ok = this.rest[7 + size] === FRAME_END;
      this.rest = this.rest.subarray(size + 8);
      if (!ok) break;
      if (type === FRAME_METHOD) this.onMethod(channel, payload);
    }
    this.wake();
  }

  onMethod(channel, p) {
    const classId = p.readUInt16BE(0);
    const methodId = p.readUInt16BE(2);
    const key = `${classId}.${methodId}`;
    if (channel === 0 && key === '10.50') {
      this.closeCode = p.readUInt16BE(4);
      this.closeText = readShortstr(p, 6)[0];
      this.write(methodFrame(0, 10, 51)); // close-ok, as any client would
    }
    if (channel === 0 && key === '10.30') this.frameMax = p.readUInt32BE(6) || this.frameMax;
    this.seen.add(`${channel}:${key}`);
  }

  wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  write(bytes) {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  /** Resolves once `pred()` holds or the socket closes; false on timeout. */
  until(pred, timeoutMs) {
    return new Promise((resolve) => {
      let done = false;
      const finish = (v) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => finish(pred()), timeoutMs);
      const check = () => {
        if (done) return;
        if (pred()) finish(true);
        else if (this.closed) finish(false);
        else this.waiters.push(check);
      };
      check();
    });
  }

  /** Waits for method `key` ("class.method") on `channel`, as seen at least once so far. */
  saw(channel, key, timeoutMs = HANDSHAKE_TIMEOUT_MS) {
    return this.until(() => this.seen.has(`${channel}:${key}`), timeoutMs);
  }

  /** Protocol header, start-ok (PLAIN guest), tune-ok (heartbeats off), open; true once open-ok arrives. */
  async handshake({ stopAfter = 'open' } = {}) {
    this.write(PROTOCOL_HEADER);
    if (!(await this.saw(0, '10.10'))) return false;
    const response = Buffer.from('\0guest\0guest', 'utf8');
    const startOk = methodFrame(0, 10, 11, (w) => w.table({ product: 'warren-soak' }).shortstr('PLAIN').longstr(response).shortstr('en_US'));
    if (stopAfter === 'half-start-ok') {
      this.write(startOk.subarray(0, startOk.length >> 1));
      return true;
    }
    this.write(startOk);
    if (!(await this.saw(0, '10.30'))) return false;
    this.write(methodFrame(0, 10, 31, (w) => w.short(2047).long(this.frameMax).short(0)));
    this.write(methodFrame(0, 10, 40, (w) => w.shortstr('/').shortstr('').bits(false)));
    return this.saw(0, '10.41');
  }

  async openChannel(id) {
    this.write(methodFrame(id, 20, 10, (w) => w.shortstr('')));
    return this.saw(id, '20.11');
  }

  /** Waits for the broker to end the conversation; returns how it did. */
  async outcome(timeoutMs) {
    await this.until(() => this.closed || this.ended, timeoutMs);
    return { code: this.closeCode, ended: this.ended || this.closed, protocolHeader: this.gotProtocolHeader };
  }

  destroy() {
    this.socket.destroy();
  }
}
