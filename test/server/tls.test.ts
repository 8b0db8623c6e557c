// amqps: AMQP over TLS with real clients (amqplib) on loopback, the self-signed test certificate in
// test/fixtures/tls, handshake failures that must not reach the broker, and client-certificate checks.

import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { pino } from 'pino';
import { startTestBroker } from '../helpers/broker.js';
import { channel, confirmChannel, take } from '../helpers/amqp.js';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { ConfigError, resolveConfig } from '../../src/config/config.js';
import { tlsServerOptions } from '../../src/server/tls.js';

const FIXTURES = join(__dirname, '../fixtures/tls');
const SERVER_CERT = join(FIXTURES, 'server-cert.pem');
const SERVER_KEY = join(FIXTURES, 'server-key.pem');
const CLIENT_CERT = join(FIXTURES, 'client-cert.pem');
const CLIENT_KEY = join(FIXTURES, 'client-key.pem');
const ca = [readFileSync(SERVER_CERT)];

/** Log lines (parsed pino JSON) the broker wrote, to check what a failed handshake logs. */
function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

async function amqps(port: number, opts: Record<string, unknown> = {}): Promise<amqplib.ChannelModel> {
  const c = await amqplib.connect(`amqps://guest:guest@127.0.0.1:${port}`, { ca, ...opts });
  c.on('error', () => undefined);
  return c;
}

/** Resolve when the socket is closed by the other side, with every byte it received before. */
function closedWith(socket: Socket, ms = 3000): Promise<Buffer> {
  const got: Buffer[] = [];
  socket.on('data', (b: Buffer) => got.push(b));
  socket.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('socket was not closed by the broker')), ms);
    socket.once('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(got));
    });
  });
}

function rawTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

describe('amqps listener', () => {
  let b: { running: RunningBroker; stop: () => Promise<void> };
  const log = capturingLogger();

  beforeAll(async () => {
    b = await startTestBroker({ tlsPort: 0, tlsCert: SERVER_CERT, tlsKey: SERVER_KEY, logger: log.logger });
  });
  afterAll(async () => {
    await b.stop();
  });

  it('listens on its own port, next to plain AMQP', () => {
    expect(b.running.tlsPort).toBeGreaterThan(0);
    expect(b.running.tlsPort).not.toBe(b.running.port);
  });

  it('publish, consume and a confirm round trip over TLS, as guest from loopback', async () => {
    const conn = await amqps(b.running.tlsPort ?? -1);
    try {
      const stream = (conn as unknown as { connection: { stream: unknown } }).connection.stream;
      expect(stream).toBeInstanceOf(TLSSocket);
      expect((stream as TLSSocket).encrypted).toBe(true);
      const ch = await confirmChannel(conn);
      const q = (await ch.assertQueue('', { exclusive: true })).queue;
      ch.sendToQueue(q, Buffer.from('over tls'), { persistent: true });
      await ch.waitForConfirms();
      const [m] = await take(ch, q, 1);
      expect(m?.content.toString()).toBe('over tls');
    } finally {
      await conn.close();
    }
  });

  it('carries large messages intact when frames and TLS records are cut differently', async () => {
    const conn = await amqps(b.running.tlsPort ?? -1);
    try {
      const ch = await channel(conn);
      const q = (await ch.assertQueue('', { exclusive: true })).queue;
      const n = 40;
      // 300 KB bodies: several 128 KiB frames each, each frame several 16 KiB TLS records.
      const bodies = Array.from({ length: n }, (_, i) => Buffer.alloc(300_000, i + 1));
      for (const body of bodies) ch.sendToQueue(q, body);
      const got = await take(ch, q, n, { noAck: true }, 10_000);
      expect(got).toHaveLength(n);
      got.forEach((m, i) => expect(m.content.equals(bodies[i] ?? Buffer.alloc(0)), `message ${i}`).toBe(true));
    } finally {
      await conn.close();
    }
  });

  it('keeps a connection with 1 s heartbeats alive over TLS', async () => {
    const conn = await amqplib.connect(`amqps://guest:guest@127.0.0.1:${b.running.tlsPort ?? -1}?heartbeat=1`, { ca });
    let closedEarly = false;
    conn.on('error', () => undefined);
    conn.on('close', () => (closedEarly = true));
    try {
      // amqplib drops the connection after two silent heartbeat intervals: 2.5 s is past that.
      await new Promise((r) => setTimeout(r, 2500));
      expect(closedEarly).toBe(false);
      const ch = await channel(conn);
      await ch.checkQueue((await ch.assertQueue('', { exclusive: true })).queue);
    } finally {
      await conn.close().catch(() => undefined);
    }
  });

  it('drops a plain AMQP client on the TLS port, logs the failed handshake, and keeps serving', async () => {
    const before = log.lines.length;
    const s = await rawTcp(b.running.tlsPort ?? -1);
    const received = closedWith(s);
    s.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    const bytes = await received;
    expect(bytes.subarray(0, 4).toString('latin1')).not.toBe('AMQP');
    // A client library sees its connection fail, not a broker.
    await expect(amqplib.connect(`amqp://guest:guest@127.0.0.1:${b.running.tlsPort ?? -1}`)).rejects.toThrow();
    const failures = log.lines.slice(before).filter((l) => l['msg'] === 'TLS handshake failed');
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures[0]?.['level']).toBe(40); // pino's warn
    const conn = await amqps(b.running.tlsPort ?? -1);
    await conn.close();
  });

  it('drops garbage on the TLS port and keeps serving both ports', async () => {
    const s = await rawTcp(b.running.tlsPort ?? -1);
    const received = closedWith(s);
    s.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01]));
    await received;
    const plain = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${b.running.port}`);
    await plain.close();
    const conn = await amqps(b.running.tlsPort ?? -1);
    await conn.close();
  });

  it('refuses a client that does not trust the broker certificate (no CA given)', async () => {
    await expect(amqplib.connect(`amqps://guest:guest@127.0.0.1:${b.running.tlsPort ?? -1}`)).rejects.toThrow(/self.signed|certificate/i);
  });
});

describe('amqps shutdown', () => {
  it('broker.close() sends 320 CONNECTION_FORCED over TLS', async () => {
    const { running, stop } = await startTestBroker({ tlsPort: 0, tlsCert: SERVER_CERT, tlsKey: SERVER_KEY });
    const conn = await amqps(running.tlsPort ?? -1);
    const closed = new Promise<(Error & { code?: number }) | undefined>((resolve) => conn.on('close', (err?: Error) => resolve(err)));
    await stop();
    const err = await closed;
    expect(err?.code).toBe(320);
    expect(err?.message).toContain('CONNECTION_FORCED');
  });

  it('cuts off a client stuck before its TLS handshake, so close() stays quick', async () => {
    const { running, stop } = await startTestBroker({ tlsPort: 0, tlsCert: SERVER_CERT, tlsKey: SERVER_KEY });
    const s = await rawTcp(running.tlsPort ?? -1);
    const dropped = closedWith(s);
    const t0 = Date.now();
    await stop();
    // The TLS handshake timeout is 10 s: close() must not wait for it.
    expect(Date.now() - t0).toBeLessThan(2000);
    await dropped;
  });

  it('drops a client that never completes the TLS handshake after handshakeTimeout', async () => {
    const { running, stop } = await startTestBroker({ tlsPort: 0, tlsCert: SERVER_CERT, tlsKey: SERVER_KEY, handshakeTimeout: 300 });
    try {
      const s = await rawTcp(running.tlsPort ?? -1);
      const t0 = Date.now();
      await closedWith(s, 2000);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    } finally {
      await stop();
    }
  });
});

describe('amqps client certificates (--tls-ca)', () => {
  let b: { running: RunningBroker; stop: () => Promise<void> };
  beforeAll(async () => {
    // In-memory PEM (the embedding form) rather than files.
    b = await startTestBroker({
      tlsPort: 0,
      tls: { cert: readFileSync(SERVER_CERT), key: readFileSync(SERVER_KEY), ca: readFileSync(CLIENT_CERT) },
    });
  });
  afterAll(async () => {
    await b.stop();
  });

  it('accepts a client whose certificate chains to the CA', async () => {
    const conn = await amqps(b.running.tlsPort ?? -1, { cert: readFileSync(CLIENT_CERT), key: readFileSync(CLIENT_KEY) });
    const ch = await channel(conn);
    await ch.assertQueue('', { exclusive: true });
    await conn.close();
  });

  it('refuses a client without a certificate', async () => {
    await expect(amqps(b.running.tlsPort ?? -1)).rejects.toThrow();
    // At the TLS level: the server ends the handshake with an alert, before any AMQP byte.
    const s = tlsConnect({ host: '127.0.0.1', port: b.running.tlsPort ?? -1, ca });
    const bytes = await closedWith(s);
    expect(bytes.length).toBe(0);
  });

  it('refuses a client whose certificate the CA did not sign', async () => {
    await expect(amqps(b.running.tlsPort ?? -1, { cert: readFileSync(SERVER_CERT), key: readFileSync(SERVER_KEY) })).rejects.toThrow();
  });

  it('still serves after refusals', async () => {
    const conn = await amqps(b.running.tlsPort ?? -1, { cert: readFileSync(CLIENT_CERT), key: readFileSync(CLIENT_KEY) });
    await conn.close();
  });
});

describe('TLS configuration', () => {
  const base = { tlsPort: 0, tlsCert: SERVER_CERT, tlsKey: SERVER_KEY };

  it('is off by default and on with a port, certificate and key', () => {
    expect(tlsServerOptions(resolveConfig({}))).toBeNull();
    const o = tlsServerOptions(resolveConfig(base));
    expect(o?.requestCert).toBe(false);
  });

  it('verifies peers by default when a CA is given, and not with --tls-verify none', () => {
    expect(tlsServerOptions(resolveConfig({ ...base, tlsCa: CLIENT_CERT }))).toMatchObject({ requestCert: true, rejectUnauthorized: true });
    expect(tlsServerOptions(resolveConfig({ ...base, tlsCa: CLIENT_CERT, tlsVerify: 'none' }))).toMatchObject({ requestCert: false, rejectUnauthorized: false });
  });

  it('rejects incomplete or inconsistent settings', () => {
    expect(() => tlsServerOptions(resolveConfig({ tlsPort: 0, tlsCert: SERVER_CERT }))).toThrow(/--tls-key/);
    expect(() => tlsServerOptions(resolveConfig({ tlsPort: 0, tlsKey: SERVER_KEY }))).toThrow(/--tls-cert/);
    expect(() => tlsServerOptions(resolveConfig({ tlsCert: SERVER_CERT, tlsKey: SERVER_KEY }))).toThrow(/--tls-port/);
    expect(() => tlsServerOptions(resolveConfig({ ...base, tlsVerify: 'peer' }))).toThrow(/--tls-ca/);
    expect(() => tlsServerOptions(resolveConfig({ ...base, tlsCert: join(FIXTURES, 'missing.pem') }))).toThrow(ConfigError);
    // A key that does not belong to the certificate.
    expect(() => tlsServerOptions(resolveConfig({ ...base, tlsKey: CLIENT_KEY }))).toThrow(/invalid TLS/);
    expect(() => resolveConfig({ tlsVerify: 'maybe' as never })).toThrow(/verify/);
    expect(() => resolveConfig({ tlsPort: 70000 })).toThrow(/TLS port/);
  });

  it('a bad certificate stops startBroker before it binds anything', async () => {
    await expect(startBroker({ port: 0, host: '127.0.0.1', dataDir: '/nonexistent-warren', tlsPort: 0, tlsCert: SERVER_CERT })).rejects.toThrow(ConfigError);
  });
});
