// A rabbitmq.conf given to startBroker takes effect on a real broker, seen by real clients:
// listener, heartbeat, max_message_size, the default user, loopback_users and auth_mechanisms.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as amqplib from 'amqplib';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';
import { channel, channelClosed } from '../helpers/amqp.js';
import { freePort } from '../helpers/free-port.js';
import { RawClient } from '../helpers/raw-client.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Start a broker from a config file (and options above it), loopback only, silent. */
async function brokerWithConf(text: string, options: Partial<StartOptions> = {}): Promise<RunningBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-conf-'));
  const file = join(dir, 'rabbitmq.conf');
  writeFileSync(file, text);
  const running = await startBroker({ dataDir: join(dir, 'data'), logLevel: 'silent', configFile: file, ...options });
  cleanups.push(async () => {
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return running;
}

async function connect(url: string, opts?: amqplib.Options.Connect | object): Promise<amqplib.ChannelModel> {
  const c = await amqplib.connect(url, opts);
  c.on('error', () => undefined);
  cleanups.push(() => c.close().catch(() => undefined));
  return c;
}

describe('a config file takes effect', () => {
  it('listeners.tcp.default sets the address and port', async () => {
    const port = await freePort();
    const running = await brokerWithConf(`listeners.tcp.default = 127.0.0.1:${port}\n`);
    expect(running.port).toBe(port);
    expect(running.hosts).toEqual(['127.0.0.1']);
    await connect(`amqp://guest:guest@127.0.0.1:${port}`);
  });

  it('options given to startBroker (like flags) win over the file', async () => {
    const running = await brokerWithConf('listeners.tcp.default = 127.0.0.1:1\nheartbeat = 9\n', { port: 0 });
    expect(running.port).not.toBe(1);
    expect(running.broker.config.heartbeat).toBe(9);
  });

  it("the file wins over startBroker's defaults (the CLI's info log level)", async () => {
    const running = await brokerWithConf('listeners.tcp.default = 127.0.0.1:0\nlog.console.level = warning\n', {
      logLevel: undefined,
      defaults: { logLevel: 'info', heartbeat: 3 },
    });
    expect(running.broker.config.logLevel).toBe('warn');
    expect(running.broker.config.heartbeat).toBe(3);
  });

  it('heartbeat is what the client negotiates', async () => {
    const running = await brokerWithConf('listeners.tcp.default = 127.0.0.1:0\nheartbeat = 7\n');
    const c = await connect(`amqp://guest:guest@127.0.0.1:${running.port}`);
    expect((c.connection as unknown as { heartbeat: number }).heartbeat).toBe(7);
  });

  it('max_message_size refuses a larger message with 406', async () => {
    const running = await brokerWithConf('listeners.tcp.default = 127.0.0.1:0\nmax_message_size = 4096\n');
    const c = await connect(`amqp://guest:guest@127.0.0.1:${running.port}`);
    const ch = await channel(c);
    const closed = channelClosed(ch);
    ch.sendToQueue('nowhere', Buffer.alloc(4096));
    ch.sendToQueue('nowhere', Buffer.alloc(4097));
    const err = await closed;
    expect(err.code).toBe(406);
    expect(err.message).toContain('message size 4097 is larger than configured max size 4096');
  });

  it('default_user and default_pass replace guest', async () => {
    const running = await brokerWithConf("listeners.tcp.default = 127.0.0.1:0\ndefault_user = alice\ndefault_pass = 'pa#ss'\n");
    await connect(`amqp://alice:${encodeURIComponent('pa#ss')}@127.0.0.1:${running.port}`);
    await expect(amqplib.connect(`amqp://guest:guest@127.0.0.1:${running.port}`)).rejects.toThrow(/ACCESS_REFUSED/);
  });

  it('loopback_users = none lets the default user in from any address; by default guest is loopback-only', async () => {
    const open = await brokerWithConf('listeners.tcp.default = 127.0.0.1:0\nloopback_users = none\n');
    expect(open.broker.users.authenticate('guest', 'guest', false)).toMatchObject({ ok: true, user: { name: 'guest' } });
    const strict = await brokerWithConf('listeners.tcp.default = 127.0.0.1:0\n');
    expect(strict.broker.users.authenticate('guest', 'guest', false)).toEqual({ ok: false, detail: "user 'guest' can only connect via localhost" });
  });

  it('auth_mechanisms limits the mechanisms offered and accepted', async () => {
    const running = await brokerWithConf('listeners.tcp.default = 127.0.0.1:0\nauth_mechanisms.1 = PLAIN\n');
    const raw = await RawClient.connect(running.port);
    cleanups.push(async () => {
      raw.socket.destroy();
    });
    await raw.handshake({ stopAfterStartOk: true });
    expect(raw.start?.mechanisms.toString()).toBe('PLAIN');
    await connect(`amqp://guest:guest@127.0.0.1:${running.port}`);
    await expect(
      amqplib.connect(`amqp://127.0.0.1:${running.port}`, { credentials: amqplib.credentials.amqplain('guest', 'guest') }),
    ).rejects.toThrow();
  });

  it('server_properties fill Config.serverProperties; options override them one property at a time', async () => {
    const running = await brokerWithConf('listeners.tcp.default = 127.0.0.1:0\nserver_properties.product = RabbitMQ\nserver_properties.version = 3.10.8\n');
    expect(running.broker.config.serverProperties).toEqual({ product: 'RabbitMQ', version: '3.10.8' });
    const over = await brokerWithConf('listeners.tcp.default = 127.0.0.1:0\nserver_properties.product = RabbitMQ\nserver_properties.version = 3.10.8\n', {
      serverProperties: { version: '3.12.0' },
    });
    expect(over.broker.config.serverProperties).toEqual({ product: 'RabbitMQ', version: '3.12.0' });
  });

  it('logs one warning per ignored RabbitMQ key, naming file, key and line', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done): void {
        lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
        done();
      },
    });
    await brokerWithConf('listeners.tcp.default = 127.0.0.1:0\nmanagement.rates_mode = basic\nmanagement.rates_mode = none\n', {
      logger: pino({ level: 'warn' }, sink),
    });
    const warnings = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'config key ignored');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ key: 'management.rates_mode', line: 2, hint: 'not implemented by warren' });
    expect(String(warnings[0]?.['file'])).toMatch(/rabbitmq\.conf$/);
  });
});
