// Test helper: a small raw-frame AMQP client over a TCP socket, built on warren's
// own codec, for driving the broker with arbitrary (including invalid) bytes.

import { connect as netConnect, type Socket } from 'node:net';
import { FrameReader } from '../../src/protocol/frame-reader.js';
import {
  PROTOCOL_HEADER,
  encodeBodyFrame,
  encodeContentHeaderPayload,
  encodeHeaderFrame,
  encodeMethodFrame,
} from '../../src/protocol/frame-writer.js';
import * as M from '../../src/protocol/generated/amqp.js';
import type { FieldTable } from '../../src/protocol/field-table.js';

export type RawFrame =
  | { type: 'method'; channel: number; method: M.Method }
  | { type: 'header'; channel: number; payload: Buffer }
  | { type: 'body'; channel: number; payload: Buffer }
  | { type: 'heartbeat'; channel: number };

export interface HandshakeOptions {
  mechanism?: string;
  /** Full SASL response; defaults to PLAIN guest/guest. */
  response?: Buffer;
  user?: string;
  password?: string;
  vhost?: string;
  capabilities?: FieldTable;
  /** Values sent in tune-ok; default: echo the server's tune with heartbeat 0. */
  tuneOk?: { channelMax?: number; frameMax?: number; heartbeat?: number };
  /** Stop after sending start-ok (to observe the auth outcome). */
  stopAfterStartOk?: boolean;
  /** Stop after tune-ok without sending connection.open. */
  stopAfterTuneOk?: boolean;
}

export const DEFAULT_CAPABILITIES: FieldTable = {
  authentication_failure_close: true,
  consumer_cancel_notify: true,
  publisher_confirms: true,
  'basic.nack': true,
  'connection.blocked': true,
};

export function plainResponse(user: string, password: string): Buffer {
  return Buffer.concat([Buffer.from([0]), Buffer.from(user), Buffer.from([0]), Buffer.from(password)]);
}

export class RawClient {
  readonly socket: Socket;
  /** Every byte received, in order (for non-frame answers such as a protocol header). */
  readonly received: Buffer[] = [];
  private readonly frames: RawFrame[] = [];
  private waiters: (() => void)[] = [];
  private readonly reader: FrameReader;
  private parseError: unknown = null;
  /** Set once the server's protocol-header answer (if any) has been skipped. */
  private expectFrames: boolean;
  closed = false;
  readonly closedPromise: Promise<void>;
  start: M.ConnectionStart | null = null;
  tune: M.ConnectionTune | null = null;

  private constructor(socket: Socket, expectFrames: boolean) {
    this.socket = socket;
    this.expectFrames = expectFrames;
    this.reader = new FrameReader(
      {
        onMethodFrame: (channel, payload) => {
          const method = M.decodeMethod(Buffer.from(payload));
          if (method === undefined) throw new Error(`client: unknown method ${payload.readUInt32BE(0).toString(16)}`);
          this.push({ type: 'method', channel, method });
        },
        onHeaderFrame: (channel, buf, start, end) => this.push({ type: 'header', channel, payload: Buffer.from(buf.subarray(start, end)) }),
        onBodyFrame: (channel, payload) => this.push({ type: 'body', channel, payload: Buffer.from(payload) }),
        onBodyParts: (channel, parts) => this.push({ type: 'body', channel, payload: Buffer.concat(parts) }),
        onHeartbeatFrame: (channel) => this.push({ type: 'heartbeat', channel }),
      },
      0,
    );
    socket.on('data', (chunk: Buffer) => {
      this.received.push(chunk);
      if (!this.expectFrames || this.parseError !== null) return this.wake();
      try {
        this.reader.push(chunk);
      } catch (err) {
        this.parseError = err;
        this.wake();
      }
    });
    socket.on('error', () => undefined);
    this.closedPromise = new Promise<void>((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      });
    });
  }

  /** Connect without sending anything. With allowHalfOpen the socket keeps its side open after the server's FIN. */
  static connect(port: number, expectFrames = true, allowHalfOpen = false): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = netConnect({ host: '127.0.0.1', port, allowHalfOpen }, () => {
        s.off('error', reject);
        s.setNoDelay(true);
        resolve(new RawClient(s, expectFrames));
      });
      s.once('error', reject);
    });
  }

  /** Connect, send the protocol header and run the handshake up to connection.open-ok. */
  static async open(port: number, opts: HandshakeOptions = {}): Promise<RawClient> {
    const c = await RawClient.connect(port);
    await c.handshake(opts);
    return c;
  }

  private push(f: RawFrame): void {
    this.frames.push(f);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  private waitForChange(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(false);
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(done);
    });
  }

  send(bytes: Buffer | Uint8Array): void {
    this.socket.write(bytes);
  }

  sendMethod(channel: number, m: M.Method): void {
    this.send(encodeMethodFrame(channel, m));
  }

  /** A content header frame for class 60 with the given body size and properties. */
  sendHeader(channel: number, bodySize: number, props: M.BasicProperties = {}): void {
    this.send(encodeHeaderFrame(channel, encodeContentHeaderPayload(60, bodySize, props)));
  }

  sendBody(channel: number, body: Buffer): void {
    this.send(encodeBodyFrame(channel, body));
  }

  publish(channel: number, exchange: string, routingKey: string, body: Buffer, props: M.BasicProperties = {}, flags: { mandatory?: boolean; immediate?: boolean } = {}): void {
    const frames = [
      encodeMethodFrame(channel, {
        id: M.BASIC_PUBLISH,
        ticket: 0,
        exchange,
        routingKey,
        mandatory: flags.mandatory ?? false,
        immediate: flags.immediate ?? false,
      }),
      encodeHeaderFrame(channel, encodeContentHeaderPayload(60, body.length, props)),
    ];
    if (body.length > 0) frames.push(encodeBodyFrame(channel, body));
    this.send(Buffer.concat(frames));
  }

  /** The next frame (heartbeats included), or throws on timeout / close. */
  async nextFrame(ms = 1500): Promise<RawFrame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = this.frames.shift();
      if (f !== undefined) return f;
      if (this.parseError !== null) throw new Error(`client could not parse server bytes: ${String(this.parseError)}`);
      if (this.closed) throw new Error('socket closed while waiting for a frame');
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.waitForChange(left))) {
        if (this.frames.length === 0) throw new Error(`timed out after ${ms} ms waiting for a frame`);
      }
    }
  }

  /** The next method frame, skipping heartbeats. */
  async nextMethod(ms = 1500): Promise<{ channel: number; method: M.Method }> {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = await this.nextFrame(Math.max(1, deadline - Date.now()));
      if (f.type === 'method') return { channel: f.channel, method: f.method };
      if (f.type !== 'heartbeat') throw new Error(`expected a method frame, got a ${f.type} frame on channel ${f.channel}`);
    }
  }

  /** Next method, which must have the given id; returns it typed. */
  async expect<T extends M.Method['id']>(id: T, ms = 1500): Promise<Extract<M.Method, { id: T }>> {
    const { method } = await this.nextMethod(ms);
    if (method.id !== id) {
      throw new Error(`expected ${M.METHOD_INFO.get(id)?.name}, got ${describe(method)}`);
    }
    return method as Extract<M.Method, { id: T }>;
  }

  /** Wait for connection.close from the server, answer close-ok, and return it. */
  async expectConnectionClose(ms = 1500): Promise<M.ConnectionClose> {
    const m = await this.expect(M.CONNECTION_CLOSE, ms);
    this.sendMethod(0, { id: M.CONNECTION_CLOSE_OK });
    return m;
  }

  /** Wait for channel.close on `channel`, answer close-ok, return it. */
  async expectChannelClose(channel: number, ms = 1500): Promise<M.ChannelClose> {
    const { channel: ch, method } = await this.nextMethod(ms);
    if (method.id !== M.CHANNEL_CLOSE) throw new Error(`expected channel.close, got ${describe(method)}`);
    if (ch !== channel) throw new Error(`channel.close on channel ${ch}, expected ${channel}`);
    this.sendMethod(channel, { id: M.CHANNEL_CLOSE_OK });
    return method;
  }

  /** Resolves true when the socket closes within ms. */
  async waitClosed(ms = 1500): Promise<boolean> {
    if (this.closed) return true;
    const t = new Promise<false>((r) => setTimeout(() => r(false), ms).unref());
    return Promise.race([this.closedPromise.then(() => true as const), t]);
  }

  allReceived(): Buffer {
    return Buffer.concat(this.received);
  }

  /** Frames queued but not yet consumed (for asserting that nothing else arrived). */
  pending(): RawFrame[] {
    return this.frames.slice();
  }

  async handshake(opts: HandshakeOptions = {}): Promise<void> {
    this.send(PROTOCOL_HEADER);
    this.start = await this.expect(M.CONNECTION_START);
    const mechanism = opts.mechanism ?? 'PLAIN';
    const response = opts.response ?? plainResponse(opts.user ?? 'guest', opts.password ?? 'guest');
    this.sendMethod(0, {
      id: M.CONNECTION_START_OK,
      clientProperties: { product: 'warren-test-raw', capabilities: opts.capabilities ?? DEFAULT_CAPABILITIES },
      mechanism,
      response,
      locale: 'en_US',
    });
    if (opts.stopAfterStartOk === true) return;
    this.tune = await this.expect(M.CONNECTION_TUNE);
    this.sendMethod(0, {
      id: M.CONNECTION_TUNE_OK,
      channelMax: opts.tuneOk?.channelMax ?? this.tune.channelMax,
      frameMax: opts.tuneOk?.frameMax ?? this.tune.frameMax,
      heartbeat: opts.tuneOk?.heartbeat ?? 0,
    });
    if (opts.stopAfterTuneOk === true) return;
    this.sendMethod(0, { id: M.CONNECTION_OPEN, virtualHost: opts.vhost ?? '/', capabilities: '', insist: false });
    await this.expect(M.CONNECTION_OPEN_OK);
  }

  async openChannel(channel: number): Promise<void> {
    this.sendMethod(channel, { id: M.CHANNEL_OPEN, outOfBand: '' });
    const { channel: ch, method } = await this.nextMethod();
    if (method.id !== M.CHANNEL_OPEN_OK || ch !== channel) throw new Error(`channel.open: got ${describe(method)} on ${ch}`);
  }

  /** Send a synchronous method and wait for its reply on the same channel. */
  async call<T extends M.Method['id']>(channel: number, m: M.Method, replyId: T): Promise<Extract<M.Method, { id: T }>> {
    this.sendMethod(channel, m);
    const { channel: ch, method } = await this.nextMethod();
    if (method.id !== replyId || ch !== channel) {
      throw new Error(`expected ${M.METHOD_INFO.get(replyId)?.name} on ${channel}, got ${describe(method)} on ${ch}`);
    }
    return method as Extract<M.Method, { id: T }>;
  }

  /** Read a full content (header + bodies) after a content method. */
  async readContent(ms = 1500): Promise<{ props: M.BasicProperties; body: Buffer }> {
    const h = await this.nextFrame(ms);
    if (h.type !== 'header') throw new Error(`expected content header, got ${h.type}`);
    const size = h.payload.readUInt32BE(4) * 0x100000000 + h.payload.readUInt32BE(8);
    const props = M.decodeBasicProperties(h.payload, 12);
    const parts: Buffer[] = [];
    let got = 0;
    while (got < size) {
      const b = await this.nextFrame(ms);
      if (b.type !== 'body') throw new Error(`expected content body, got ${b.type}`);
      parts.push(b.payload);
      got += b.payload.length;
    }
    return { props, body: Buffer.concat(parts) };
  }

  /** Polite close: connection.close then wait for close-ok / socket end. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      this.sendMethod(0, { id: M.CONNECTION_CLOSE, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 });
    } catch {
      // socket may already be gone
    }
    await this.waitClosed(500);
    this.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export function describe(m: M.Method): string {
  const info = M.METHOD_INFO.get(m.id);
  const name = info?.name ?? String(m.id);
  if (m.id === M.CONNECTION_CLOSE || m.id === M.CHANNEL_CLOSE) return `${name}(${m.replyCode} ${m.replyText})`;
  return name;
}

/** Raw bytes of one frame with arbitrary type, channel and payload (frame-end configurable). */
export function rawFrame(type: number, channel: number, payload: Buffer, frameEnd = 0xce): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b[0] = type;
  b.writeUInt16BE(channel, 1);
  b.writeUInt32BE(payload.length, 3);
  payload.copy(b, 7);
  b[7 + payload.length] = frameEnd;
  return b;
}
