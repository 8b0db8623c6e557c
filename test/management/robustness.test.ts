// A handler that throws answers 500 JSON, is logged, and the server (and broker) keep serving;
// refused logins are logged at warn without the password, a flood summarised per user.

import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { startManagement, type ManagementServer } from '../../src/management/server.js';
import { basic } from './api.js';

const b = useBroker();
const lines: Record<string, unknown>[] = [];
let server: ManagementServer;
let base = '';

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done): void {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  server = await startManagement(b.running.broker, { port: 0, log: pino({ level: 'info' }, sink) });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server.close();
});

it('a failing handler: 500 JSON, logged with its stack, and the next request works', async () => {
  const users = b.running.broker.users;
  const list = users.list.bind(users);
  users.list = () => {
    throw new Error('boom');
  };
  try {
    const r = await fetch(`${base}/api/users`, { headers: { authorization: basic('guest', 'guest') } });
    expect(r.status).toBe(500);
    expect(await r.json()).toEqual({ error: 'internal_server_error', reason: 'Internal Server Error' });
  } finally {
    users.list = list;
  }
  expect(lines).toContainEqual(expect.objectContaining({ level: 50, msg: 'management API handler failed', err: 'boom', url: '/api/users' }));
  const ok = await fetch(`${base}/api/users`, { headers: { authorization: basic('guest', 'guest') } });
  expect(ok.status).toBe(200);
});

it('refused logins: one warn line at once, the rest counted, never the password', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await fetch(`${base}/api/whoami`, { headers: { authorization: basic('mallory', 'hunter2') } });
    expect(r.status).toBe(401);
  }
  const refused = lines.filter((l) => l['msg'] === 'management API login refused');
  expect(refused).toHaveLength(1);
  expect(refused[0]).toMatchObject({ level: 40, user: 'mallory' });
  expect(JSON.stringify(lines)).not.toContain('hunter2');
});

it('guest from a non-loopback address: refused with RabbitMQ\'s reason, only with the right password', async () => {
  const { login } = await import('../../src/management/auth.js');
  const broker = b.running.broker;
  const attempt = (pass: string, from: string): unknown => {
    try {
      return login(broker, basic('guest', pass), from, () => undefined).name;
    } catch (err) {
      return (err as { body?: () => unknown }).body?.();
    }
  };
  expect(attempt('guest', '10.1.2.3')).toEqual({ error: 'not_authorised', reason: 'User can only log in via localhost' });
  expect(attempt('wrong', '10.1.2.3')).toEqual({ error: 'not_authorized', reason: 'Login failed' });
  expect(attempt('guest', '127.0.0.1')).toBe('guest');
  expect(attempt('guest', '::ffff:127.0.0.1')).toBe('guest');
});
