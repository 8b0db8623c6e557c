// Slow and abandoned HTTP clients are cut off, so they cannot hold the management server's
// sockets: a client that never finishes its headers, and one that sends nothing at all.

import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { startManagement, type ManagementServer } from '../../src/management/server.js';

const b = useBroker();
let server: ManagementServer;

beforeAll(async () => {
  const broker = b.running.broker;
  server = await startManagement(broker, { port: 0, log: broker.log, timeouts: { headersMs: 300, requestMs: 500, idleMs: 1500, keepAliveMs: 200 } });
});

afterAll(async () => {
  await server.close();
});

/** Resolves with what the server wrote before it closed the socket. */
function untilClosed(s: Socket): Promise<string> {
  let got = '';
  s.on('data', (c: Buffer) => (got += c.toString()));
  return new Promise((resolve) => s.on('close', () => resolve(got)));
}

it('a client that trickles its request headers and never finishes them is cut off', { timeout: 15_000 }, async () => {
  const s = connect(server.port, '127.0.0.1');
  s.on('error', () => undefined);
  const closed = untilClosed(s);
  s.write('GET /api/overview HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  // A byte every 100 ms: never idle, so only the headers timeout can end it (slowloris).
  const trickle = setInterval(() => {
    if (s.writable) s.write('X');
  }, 100);
  const reply = await closed.finally(() => clearInterval(trickle));
  // Node answers 408 when it can; either way the socket is gone.
  expect(reply === '' || reply.startsWith('HTTP/1.1 408')).toBe(true);
});

it('a client that connects and sends nothing is dropped', { timeout: 15_000 }, async () => {
  const s = connect(server.port, '127.0.0.1');
  s.on('error', () => undefined);
  // The headers timeout (408) or the idle timeout, whichever comes first.
  const reply = await untilClosed(s);
  expect(reply === '' || reply.startsWith('HTTP/1.1 408')).toBe(true);
});

it('the server still answers after both', async () => {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/whoami`, { headers: { authorization: 'Basic Z3Vlc3Q6Z3Vlc3Q=' } });
  expect(res.status).toBe(200);
});
