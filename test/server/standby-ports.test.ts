// The HA standby's amqps and WebSocket ports: the TLS handshake or the WebSocket upgrade completes,
// then the same refusal as on the AMQP port (connection.start, then 320 CONNECTION_FORCED with the
// reason); listenAll binds every configured port, stopAccepting frees them all at once, a port
// that cannot be bound leaves the others refusing, and node's per-server cap counts TLS handshakes.

import { readFileSync } from 'node:fs';
import { connect as netConnect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import * as amqplib from 'amqplib';
import { AMQPWebSocketClient } from '@cloudamqp/amqp-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ConfigError, resolveConfig } from '../../src/config/config.js';
import { FrameReader } from '../../src/protocol/frame-reader.js';
import { encodeMethodFrame, PROTOCOL_HEADER } from '../../src/protocol/frame-writer.js';
import * as M from '../../src/protocol/generated/amqp.js';
import { STANDBY_CLOSE_WAIT_MS, type StandbyListenerOptions, type StandbyPorts } from '../../src/server/standby-listener.js';
import { tlsServerOptions } from '../../src/server/tls.js';
import { plainResponse, RawClient } from '../helpers/raw-client.js';
import { REASON, refusals, standbyFixture, until, type StandbyUnderTest } from './standby-fixture.js';

const FIXTURES = join(__dirname, '../fixtures/tls');
const SERVER_CERT = join(FIXTURES, 'server-cert.pem');
const ca = [readFileSync(SERVER_CERT)];
const TEXT = `CONNECTION_FORCED - ${REASON}`;

function tlsOptions(): NonNullable<ReturnType<typeof tlsServerOptions>> {
  const o = tlsServerOptions(resolveConfig({ tlsPort: 0, tlsCert: SERVER_CERT, tlsKey: join(FIXTURES, 'server-key.pem') }));
  if (o === null) throw new ConfigError('no TLS options');
  return o;
}

interface Started extends StandbyUnderTest {
  ports: StandbyPorts;
}

const make = standbyFixture();

beforeAll(() => {
  // Node 20 has no global WebSocket; the client expects the browser API, which ws provides.
  (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
});

const taken: Server[] = [];
afterAll(() => {
  for (const s of taken) s.close();
});

async function start(extra: Partial<StandbyListenerOptions> = {}, ports: Partial<StandbyPorts> = {}): Promise<Started> {
  const s = make(extra);
  const bound = await s.listener.listenAll({ host: '127.0.0.1', port: 0, tls: { port: 0, options: tlsOptions() }, ws: { host: '127.0.0.1', port: 0 }, ...ports });
  return { ...s, ports: bound };
}



function tlsPort(s: Started): number {
  return s.ports.tls?.port ?? 0;
}

function wsPort(s: Started): number {
  return s.ports.ws?.port ?? 0;
}

/** How a TCP connect to `port` ends: 'connected' or the error code. */
function tcpOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = netConnect({ host: '127.0.0.1', port }, () => {
      sock.destroy();
      resolve('connected');
    });
    sock.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

async function amqpsError(port: number): Promise<Error | null> {
  return amqplib.connect(`amqps://guest:guest@127.0.0.1:${port}`, { ca }).then(
    async (c) => {
      await c.close();
      return null;
    },
    (e: unknown) => e as Error,
  );
}

async function wsError(port: number): Promise<Error | null> {
  const client = new AMQPWebSocketClient(`ws://127.0.0.1:${port}`, '/', 'guest', 'guest');
  client.onerror = () => undefined;
  return client.connect().then(
    async (c) => {
      await c.close();
      return null;
    },
    (e: unknown) => e as Error,
  );
}

/** A WebSocket client speaking raw AMQP frames: binary messages in, method frames decoded. */
class RawWs {
  readonly ws: WebSocket;
  readonly methods: M.Method[] = [];
  closed = false;
  private readonly reader = new FrameReader(
    {
      onMethodFrame: (_ch, payload) => {
        const m = M.decodeMethod(payload);
        if (m !== undefined) this.methods.push(m);
      },
      onHeaderFrame: () => undefined,
      onBodyFrame: () => undefined,
      onBodyParts: () => undefined,
      onHeartbeatFrame: () => undefined,
    },
    131_072,
  );

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer) => this.reader.push(data));
    ws.on('close', () => {
      this.closed = true;
    });
    ws.on('error', () => undefined);
  }

  static connect(port: number): Promise<RawWs> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, 'amqp');
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawWs(ws)));
      ws.once('error', reject);
    });
  }

  send(b: Buffer): void {
    this.ws.send(b);
  }

  async expect<T extends M.Method['id']>(id: T): Promise<Extract<M.Method, { id: T }>> {
    await until(() => this.methods.length > 0);
    const m = this.methods.shift();
    expect(m?.id).toBe(id);
    return m as Extract<M.Method, { id: T }>;
  }
}

const startOk = (): Buffer => encodeMethodFrame(0, { id: M.CONNECTION_START_OK, clientProperties: {}, mechanism: 'PLAIN', response: plainResponse('guest', 'guest'), locale: 'en_US' });

describe('standby listener: amqps and WebSocket', () => {
  it('amqps: the TLS handshake completes, then amqplib is refused with 320 and the reason', async () => {
    const s = await start();
    const err = await amqpsError(tlsPort(s));
    expect(err?.message).toContain('320');
    expect(err?.message).toContain(TEXT);
    await until(() => s.listener.pending === 0);
    await until(() => refusals(s.lines).length === 1);
    expect(refusals(s.lines)[0]).toMatchObject({ outcomes: { refused: 1 }, reason: REASON });
  });

  it('amqps: a client that does not speak TLS is dropped at the handshake, never refused', async () => {
    const s = await start();
    const c = await RawClient.connect(tlsPort(s), false);
    c.send(PROTOCOL_HEADER);
    await c.closedPromise;
    expect(s.listener.pending).toBe(0);
    expect(refusals(s.lines)).toHaveLength(0);
    // The port still refuses TLS clients as before.
    expect((await amqpsError(tlsPort(s)))?.message).toContain(TEXT);
  });

  it('WebSocket: the upgrade completes, then @cloudamqp/amqp-client is refused with 320 and the reason', async () => {
    const s = await start();
    const err = await wsError(wsPort(s));
    expect(err?.message).toBe(`connection closed: ${TEXT} (320)`);
    await until(() => s.listener.pending === 0);
    await until(() => refusals(s.lines).length === 1);
    expect(refusals(s.lines)[0]).toMatchObject({ outcomes: { refused: 1 } });
  });

  it('WebSocket: start as from a broker, close 320 on start-ok, the WebSocket closed after close-ok', async () => {
    const s = await start({ serverProperties: { cluster_name: 'east' } });
    const c = await RawWs.connect(wsPort(s));
    c.send(PROTOCOL_HEADER);
    const st = await c.expect(M.CONNECTION_START);
    expect(st.serverProperties['cluster_name']).toBe('east');
    c.send(startOk());
    const close = await c.expect(M.CONNECTION_CLOSE);
    expect(close).toMatchObject({ replyCode: 320, replyText: TEXT, classId: 0, methodId: 0 });
    c.send(encodeMethodFrame(0, { id: M.CONNECTION_CLOSE_OK }));
    await until(() => c.closed);
    await until(() => s.listener.pending === 0);
  });

  it('WebSocket: a client gone mid-handshake is counted once the close wait passes', async () => {
    const s = await start();
    const c = await RawWs.connect(wsPort(s));
    c.send(PROTOCOL_HEADER);
    await c.expect(M.CONNECTION_START);
    await until(() => s.listener.pending === 1);
    c.ws.terminate();
    await new Promise((r) => setTimeout(r, 50));
    s.clock.advance(STANDBY_CLOSE_WAIT_MS);
    await until(() => s.listener.pending === 0);
    await until(() => refusals(s.lines).length === 1);
    expect(refusals(s.lines)[0]).toMatchObject({ outcomes: { gone: 1 } });
  });

  it('stopAccepting frees every port at once; a WebSocket client past the header is told why', async () => {
    const s = await start();
    const w = await RawWs.connect(wsPort(s));
    w.send(PROTOCOL_HEADER);
    await w.expect(M.CONNECTION_START);
    const { drained } = await s.listener.stopAccepting();
    expect(s.listener.listening).toBe(false);
    for (const port of [s.ports.port, tlsPort(s), wsPort(s)]) expect(await tcpOutcome(port)).toBe('ECONNREFUSED');
    const close = await w.expect(M.CONNECTION_CLOSE);
    expect(close.replyText).toBe(TEXT);
    // The refusal is still under way: drained waits for the close-ok.
    expect(s.listener.pending).toBe(1);
    w.send(encodeMethodFrame(0, { id: M.CONNECTION_CLOSE_OK }));
    await drained;
    await until(() => w.closed);
    // The same ports refuse again.
    expect(await s.listener.listenAll(s.ports)).toEqual(s.ports);
    expect((await amqpsError(tlsPort(s)))?.message).toContain(TEXT);
    expect((await wsError(wsPort(s)))?.message).toContain(TEXT);
  });

  it('refusals drained after stopAccepting are only those it saw: a client of the ports reopened meanwhile is left alone', async () => {
    const s = await start();
    const old = await RawClient.connect(s.ports.port);
    old.send(PROTOCOL_HEADER);
    await old.expect(M.CONNECTION_START);
    const { drained } = await s.listener.stopAccepting();
    await old.expect(M.CONNECTION_CLOSE);
    await s.listener.listenAll(s.ports);
    const fresh = await RawWs.connect(wsPort(s));
    fresh.send(PROTOCOL_HEADER);
    await fresh.expect(M.CONNECTION_START);
    // The old client never answers: after the close wait it is cut off, the new one is not.
    s.clock.advance(STANDBY_CLOSE_WAIT_MS);
    await drained;
    await old.closedPromise;
    expect(fresh.closed).toBe(false);
    fresh.send(startOk());
    expect((await fresh.expect(M.CONNECTION_CLOSE)).replyText).toBe(TEXT);
  });

  it('a port that cannot be bound leaves the others refusing, and the error names it', async () => {
    const busy = createServer();
    taken.push(busy);
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    const { listener } = make();
    const err = await listener.listenAll({ host: '127.0.0.1', port: 0, tls: { port, options: tlsOptions() }, ws: { host: '127.0.0.1', port: 0 } }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(new RegExp(`amqps port ${port}: .*EADDRINUSE`));
    expect(listener.listening).toBe(true);
  });

  it('past its cap, a socket still in its TLS handshake counts: a new one is dropped at accept', async () => {
    const s = await start({ maxPending: 1 });
    const held = await RawClient.connect(tlsPort(s), false);
    const dropped = await RawClient.connect(tlsPort(s), false);
    await dropped.closedPromise;
    expect(held.closed).toBe(false);
    await until(() => refusals(s.lines).length === 1);
    expect(refusals(s.lines)[0]).toMatchObject({ outcomes: { 'over-limit': 1 } });
    held.socket.destroy();
  });
});
