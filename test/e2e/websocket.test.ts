// AMQP over WebSocket: @cloudamqp/amqp-client's WebSocket client against warren's ws listener,
// exchanging messages with a TCP client on the same broker.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import * as amqplib from 'amqplib';
import { AMQPWebSocketClient } from '@cloudamqp/amqp-client';
import { startBroker, type RunningBroker } from '../../src/index.js';

let b: RunningBroker;
let dir: string;

beforeAll(async () => {
  // Node 20 has no global WebSocket; the client expects the browser API, which ws provides.
  (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
  dir = mkdtempSync(join(tmpdir(), 'warren-ws-'));
  b = await startBroker({ host: '127.0.0.1', port: 0, wsPort: 0, dataDir: dir, logLevel: 'silent' });
});

afterAll(async () => {
  await b.close();
  rmSync(dir, { recursive: true, force: true });
});

it('a WebSocket client and a TCP client exchange messages through one queue', async () => {
  expect(b.wsPort).toBeGreaterThan(0);
  const ws = new AMQPWebSocketClient(`ws://127.0.0.1:${b.wsPort}`, '/', 'guest', 'guest');
  const conn = await ws.connect();
  const ch = await conn.channel();
  await ch.queueDeclare('ws-q', { durable: false, autoDelete: false, exclusive: false });
  await ch.basicPublish('', 'ws-q', 'from websocket', { deliveryMode: 2 });

  const tcp = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${b.port}`);
  const tch = await tcp.createChannel();
  const got = await tch.get('ws-q', { noAck: true });
  expect(got && got.content.toString()).toBe('from websocket');

  tch.sendToQueue('ws-q', Buffer.from('from tcp'));
  const reply = await new Promise<string>((resolve) => {
    void ch.basicConsume('ws-q', { noAck: true }, (msg) => resolve(msg.bodyToString() ?? ''));
  });
  expect(reply).toBe('from tcp');
  await tcp.close();
  await conn.close();
});

it('a plain HTTP request to the WebSocket port gets 426, not a crash', async () => {
  const res = await fetch(`http://127.0.0.1:${b.wsPort}/`);
  expect(res.status).toBe(426);
});
