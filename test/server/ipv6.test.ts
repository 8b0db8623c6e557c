// Listening addresses: by default loopback on both families (127.0.0.1 and ::1, same port), an
// explicit host only there; real amqplib clients over [::1], plus the bind logic with a scripted bind.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { pino } from 'pino';
import { channel, take } from '../helpers/amqp.js';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';
import { listenOnHosts, type BoundHandle } from '../../src/server/server-set.js';

const FIXTURES = join(__dirname, '../fixtures/tls');
const silent = pino({ level: 'silent' });

/** Whether this machine can listen on ::1 at all (decides which behaviour the default must show). */
function hasIpv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(0, '::1', () => s.close(() => resolve(true)));
  });
}

async function start(options: Partial<StartOptions>): Promise<{ running: RunningBroker; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-ipv6-'));
  const running = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent', ...options });
  return {
    running,
    stop: async () => {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function roundTrip(url: string, socketOptions: Record<string, unknown> = {}): Promise<string> {
  const conn = await amqplib.connect(url, socketOptions);
  conn.on('error', () => undefined);
  try {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    ch.sendToQueue(q, Buffer.from(url));
    const [m] = await take(ch, q, 1);
    return m?.content.toString() ?? '';
  } finally {
    await conn.close();
  }
}

describe('default host: loopback on both families', () => {
  let ipv6 = false;
  let b: { running: RunningBroker; stop: () => Promise<void> };
  beforeAll(async () => {
    ipv6 = await hasIpv6Loopback();
    b = await start({ tlsPort: 0, tlsCert: join(FIXTURES, 'server-cert.pem'), tlsKey: join(FIXTURES, 'server-key.pem') });
  });
  afterAll(async () => {
    await b.stop();
  });

  it('listens on 127.0.0.1 and, where the machine has it, ::1', () => {
    expect(b.running.hosts).toEqual(ipv6 ? ['127.0.0.1', '::1'] : ['127.0.0.1']);
    expect(b.running.host).toBe('127.0.0.1');
  });

  it('amqplib connects as guest to amqp://127.0.0.1:PORT and amqp://[::1]:PORT (the same port)', async () => {
    const v4 = `amqp://guest:guest@127.0.0.1:${b.running.port}`;
    expect(await roundTrip(v4)).toBe(v4);
    const v6 = `amqp://guest:guest@[::1]:${b.running.port}`;
    if (ipv6) expect(await roundTrip(v6)).toBe(v6);
    else await expect(amqplib.connect(v6)).rejects.toThrow();
  });

  it('serves amqps on [::1] too, with the same TLS port', async () => {
    const url = `amqps://guest:guest@[::1]:${b.running.tlsPort ?? -1}`;
    const ca = [readFileSync(join(FIXTURES, 'server-cert.pem'))];
    if (ipv6) expect(await roundTrip(url, { ca })).toBe(url);
    else await expect(amqplib.connect(url, { ca })).rejects.toThrow();
  });
});

describe('explicit host', () => {
  it('--host 127.0.0.1 listens only on IPv4', async () => {
    const { running, stop } = await start({ host: '127.0.0.1' });
    try {
      expect(running.hosts).toEqual(['127.0.0.1']);
      expect(await roundTrip(`amqp://guest:guest@127.0.0.1:${running.port}`)).toContain('127.0.0.1');
      await expect(amqplib.connect(`amqp://guest:guest@[::1]:${running.port}`)).rejects.toThrow(/ECONNREFUSED|EADDRNOTAVAIL|EAFNOSUPPORT/);
    } finally {
      await stop();
    }
  });

  it('--host ::1 listens only on IPv6, and guest counts as loopback there', async () => {
    if (!(await hasIpv6Loopback())) {
      await expect(start({ host: '::1' })).rejects.toThrow();
      return;
    }
    const { running, stop } = await start({ host: '::1' });
    try {
      expect(running.hosts).toEqual(['::1']);
      expect(await roundTrip(`amqp://guest:guest@[::1]:${running.port}`)).toContain('[::1]');
      await expect(amqplib.connect(`amqp://guest:guest@127.0.0.1:${running.port}`)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await stop();
    }
  });
});

describe('listenOnHosts (scripted binds)', () => {
  type Fake = BoundHandle & { host: string; closed: boolean };

  /** A bind that fails ::1 with the given error codes, in order, then succeeds. */
  function script(v6Errors: string[]): { bind: (host: string, port: number) => Promise<Fake>; calls: Fake[] } {
    const calls: Fake[] = [];
    let nextPort = 40000;
    const bind = async (host: string, port: number): Promise<Fake> => {
      if (host === '::1' && v6Errors.length > 0) {
        const err = new Error(`listen ${v6Errors[0]}`) as NodeJS.ErrnoException;
        err.code = v6Errors.shift();
        throw err;
      }
      const h: Fake = { host, port: port === 0 ? nextPort++ : port, closed: false, close: () => (h.closed = true) };
      calls.push(h);
      return h;
    };
    return { bind, calls };
  }

  it('binds ::1 on the port the kernel picked for 127.0.0.1', async () => {
    const { bind } = script([]);
    const r = await listenOnHosts(null, 0, bind, silent);
    expect(r.port).toBe(40000);
    expect(r.hosts).toEqual(['127.0.0.1', '::1']);
    expect(r.handles.map((h) => [h.host, h.port])).toEqual([['127.0.0.1', 40000], ['::1', 40000]]);
  });

  it.each(['EADDRNOTAVAIL', 'EAFNOSUPPORT'])('falls back to 127.0.0.1 alone on %s', async (code) => {
    const { bind, calls } = script([code]);
    const r = await listenOnHosts(null, 5672, bind, silent);
    expect(r.hosts).toEqual(['127.0.0.1']);
    expect(r.port).toBe(5672);
    expect(calls[0]?.closed).toBe(false);
  });

  it('with port 0, gives up a pair whose port is taken on ::1 and tries another', async () => {
    const { bind, calls } = script(['EADDRINUSE']);
    const r = await listenOnHosts(null, 0, bind, silent);
    expect(calls[0]?.closed).toBe(true);
    expect(r.port).toBe(40001);
    expect(r.hosts).toEqual(['127.0.0.1', '::1']);
  });

  it('with a fixed port taken on ::1, fails and releases 127.0.0.1', async () => {
    const { bind, calls } = script(['EADDRINUSE']);
    await expect(listenOnHosts(null, 5672, bind, silent)).rejects.toThrow(/EADDRINUSE/);
    expect(calls[0]?.closed).toBe(true);
  });

  it('an explicit host is bound alone', async () => {
    const { bind, calls } = script([]);
    const r = await listenOnHosts('0.0.0.0', 0, bind, silent);
    expect(r.hosts).toEqual(['0.0.0.0']);
    expect(calls.map((c) => c.host)).toEqual(['0.0.0.0']);
  });
});
