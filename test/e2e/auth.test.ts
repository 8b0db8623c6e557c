// Login against the user database with real clients: users from the config log in with their
// password and are refused (RabbitMQ's 403 text, alike for a wrong password and an unknown user)
// otherwise; connection.open needs permissions in the vhost and room under the vhost and user
// connection limits (530, RabbitMQ's texts).

import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { pino } from 'pino';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import * as M from '../../src/protocol/generated/amqp.js';
import type { RunningBroker } from '../../src/index.js';

const ALICE_PASSWORD = 'wonder-land#1';
const UNICODE_USER = 'ünï/çødé';
const UNICODE_PASSWORD = 'pässwörd-ü€';
const LOGIN_REFUSED = 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.';

let running: RunningBroker;
let stop: () => Promise<void>;
const logLines: Record<string, unknown>[] = [];
const rawLog: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done): void {
      for (const l of chunk.toString().split('\n')) {
        if (l === '') continue;
        rawLog.push(l);
        logLines.push(JSON.parse(l) as Record<string, unknown>);
      }
      done();
    },
  });
  ({ running, stop } = await startTestBroker({
    users: [
      { name: 'alice', password: ALICE_PASSWORD, loopbackOnly: false },
      { name: UNICODE_USER, password: UNICODE_PASSWORD, loopbackOnly: false },
    ],
    logger: pino({ level: 'info' }, sink),
  }));
});

afterAll(async () => {
  await stop();
});

const url = (user: string, password: string, vhost = '/'): string =>
  `amqp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${running.port}/${encodeURIComponent(vhost)}`;

async function refusal(p: Promise<amqplib.ChannelModel>): Promise<string> {
  try {
    const c = await p;
    await c.close();
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  throw new Error('expected the login to be refused');
}

describe('login against the user database', () => {
  it('a configured user logs in with the right password (PLAIN and AMQPLAIN) and can work', async () => {
    const c = await amqplib.connect(url('alice', ALICE_PASSWORD));
    const ch = await c.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('hi'));
    await ch.checkQueue(queue);
    const got = await ch.get(queue, { noAck: true });
    expect(got !== false && got.content.toString()).toBe('hi');
    await c.close();

    const amqplain = await amqplib.connect(`amqp://127.0.0.1:${running.port}`, {
      credentials: amqplib.credentials.amqplain('alice', ALICE_PASSWORD),
    });
    await amqplain.close();
  });

  it('a unicode user name and password work end to end', async () => {
    // Given as credentials: amqplib decodes URL userinfo with unescape(), which mangles UTF-8.
    const c = await amqplib.connect(`amqp://127.0.0.1:${running.port}`, { credentials: amqplib.credentials.plain(UNICODE_USER, UNICODE_PASSWORD) });
    await c.close();
    const wrong = amqplib.connect(`amqp://127.0.0.1:${running.port}`, { credentials: amqplib.credentials.plain(UNICODE_USER, 'pässwörd-ü') });
    expect(await refusal(wrong)).toContain(LOGIN_REFUSED);
  });

  it('a wrong password and an unknown user get the same 403 refusal', async () => {
    const wrong = await refusal(amqplib.connect(url('alice', 'wonder-land#2')));
    const unknown = await refusal(amqplib.connect(url('mallory', ALICE_PASSWORD)));
    expect(wrong).toContain(`403 (ACCESS-REFUSED) with message "${LOGIN_REFUSED}"`);
    expect(unknown).toBe(wrong);
  });

  it('the default user of the old config (guest) is not there when users are configured', async () => {
    expect(await refusal(amqplib.connect(url('guest', 'guest')))).toContain(LOGIN_REFUSED);
  });

  it('a failed login is logged at warn with user, peer and reason, and no password anywhere', async () => {
    await refusal(amqplib.connect(url('alice', 'not-the-password')));
    // Failures from one address are summarised per interval: earlier tests' failures opened the
    // interval, so write out the pending summary (it carries the latest event's fields).
    running.broker.logs.authFailed.forget('127.0.0.1');
    const failed = logLines.filter((l) => l['msg'] === 'authentication failed' && l['user'] === 'alice' && String(l['reason']).includes('invalid credentials'));
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]).toMatchObject({ level: 40, mechanism: 'PLAIN', reason: "user 'alice' - invalid credentials" });
    expect(String(failed[0]?.['peer'])).toMatch(/^127\.0\.0\.1:\d+$/);
    for (const secret of [ALICE_PASSWORD, UNICODE_PASSWORD, 'not-the-password', 'wonder-land#2']) {
      expect(rawLog.filter((l) => l.includes(secret))).toEqual([]);
    }
  });

  it('keeps no password in plain text after start: only hashes', () => {
    const b = running.broker;
    const kept = JSON.stringify({ config: b.config, users: b.users.list() });
    expect(kept).not.toContain(ALICE_PASSWORD);
    expect(kept).not.toContain(UNICODE_PASSWORD);
    expect(b.users.get('alice')?.passwordHash).toMatch(/^[A-Za-z0-9+/]{48}$/);
  });
});

describe('connection.open and vhost permissions', () => {
  async function openRefusal(user: string, password: string, vhost: string): Promise<M.ConnectionClose> {
    const c = await RawClient.connect(running.port);
    try {
      await c.handshake({ user, password, stopAfterTuneOk: true });
      c.sendMethod(0, { id: M.CONNECTION_OPEN, virtualHost: vhost, capabilities: '', insist: false });
      const { channel, method } = await c.nextMethod();
      expect(channel).toBe(0);
      if (method.id !== M.CONNECTION_CLOSE) throw new Error(`expected connection.close, got ${method.id}`);
      return method;
    } finally {
      c.socket.destroy();
    }
  }

  it('a user without permissions in the vhost gets 530 with RabbitMQ text', async () => {
    const perms = running.broker.permissions;
    const saved = perms.get('alice', '/');
    perms.clear('alice', '/');
    try {
      const close = await openRefusal('alice', ALICE_PASSWORD, '/');
      expect(close).toMatchObject({ replyCode: 530, replyText: "NOT_ALLOWED - access to vhost '/' refused for user 'alice'", classId: 10, methodId: 40 });
      await expect(amqplib.connect(url('alice', ALICE_PASSWORD))).rejects.toThrow();
    } finally {
      if (saved !== undefined) perms.set('alice', '/', saved);
    }
    const c = await amqplib.connect(url('alice', ALICE_PASSWORD));
    await c.close();
  });

  it('a missing vhost gets 530 vhost ... not found', async () => {
    const close = await openRefusal('alice', ALICE_PASSWORD, 'nope');
    expect(close).toMatchObject({ replyCode: 530, replyText: 'NOT_ALLOWED - vhost nope not found', classId: 10, methodId: 40 });
  });

  it("vhost max-connections: 530 with RabbitMQ's text at the limit, and a closed connection frees its place", async () => {
    const b = running.broker;
    b.limits.setVhost('/', { 'max-connections': 1 });
    try {
      const first = await amqplib.connect(url('alice', ALICE_PASSWORD));
      const close = await openRefusal('alice', ALICE_PASSWORD, '/');
      expect(close).toMatchObject({
        replyCode: 530,
        replyText: "NOT_ALLOWED - access to vhost '/' refused for user 'alice': connection limit (1) is reached",
        classId: 10,
        methodId: 40,
      });
      await first.close();
      const again = await amqplib.connect(url('alice', ALICE_PASSWORD));
      await again.close();
    } finally {
      b.limits.setVhost('/', {});
    }
  });

  it("user max-connections: 530 with RabbitMQ's text; other users unaffected", async () => {
    const b = running.broker;
    b.limits.setUser('alice', { 'max-connections': 1 });
    try {
      const first = await amqplib.connect(url('alice', ALICE_PASSWORD));
      const close = await openRefusal('alice', ALICE_PASSWORD, '/');
      expect(close).toMatchObject({
        replyCode: 530,
        replyText: "NOT_ALLOWED - connection refused for user 'alice': user connection limit (1) is reached",
      });
      const other = await amqplib.connect(`amqp://127.0.0.1:${running.port}`, { credentials: amqplib.credentials.plain(UNICODE_USER, UNICODE_PASSWORD) });
      await other.close();
      await first.close();
    } finally {
      b.limits.setUser('alice', {});
    }
  });

  it('connections are uncounted when they close, refused ones included', async () => {
    const b = running.broker;
    const perms = b.permissions;
    const saved = perms.get('alice', '/');
    perms.clear('alice', '/');
    try {
      await openRefusal('alice', ALICE_PASSWORD, '/');
    } finally {
      if (saved !== undefined) perms.set('alice', '/', saved);
    }
    const c = await amqplib.connect(url('alice', ALICE_PASSWORD));
    expect(b.connectionCounts.connectionsOf('alice')).toBe(1);
    await c.close();
    // The broker uncounts before it answers connection.close with close-ok.
    expect(b.connectionCounts.connectionsIn('/')).toBe(0);
    expect(b.connectionCounts.connectionsOf('alice')).toBe(0);
  });
});
