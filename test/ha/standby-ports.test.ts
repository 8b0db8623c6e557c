// An HA node's amqps and WebSocket ports follow its AMQP port: while a standby, an amqps client
// (after its TLS handshake) and a WebSocket client (after the upgrade) get 320 CONNECTION_FORCED
// naming the group; once promoted the same ports serve; fenced, they refuse again.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as amqplib from 'amqplib';
import { AMQPWebSocketClient } from '@cloudamqp/amqp-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { HaStartOptions, RunningHaNode } from '../../src/index.js';
import { appendRivalBarrier, haGroupFixture, until } from './ha-group.js';

const FIXTURES = join(__dirname, '../fixtures/tls');
const SERVER_CERT = join(FIXTURES, 'server-cert.pem');
const ca = [readFileSync(SERVER_CERT)];
const CLIENT_PORTS: Partial<HaStartOptions> = { tlsPort: 0, tlsCert: SERVER_CERT, tlsKey: join(FIXTURES, 'server-key.pem'), wsPort: 0 };

const group = haGroupFixture();

beforeAll(() => {
  // Node 20 has no global WebSocket; the client expects the browser API, which ws provides.
  (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
});

const haNode = async (name: string, g: string, ttlMs: number): Promise<RunningHaNode> => (await group.node(name, g, { extra: CLIENT_PORTS, ttlMs })).node;

function standbyText(g: string): string {
  return `CONNECTION_FORCED - this warren node is an HA standby of group '${g}'; connect to the leader`;
}

/** The error an amqps connect rejects with, or null if it connected (then the connection is closed). */
async function amqpsError(port: number): Promise<Error | null> {
  try {
    const c = await amqplib.connect(`amqps://guest:guest@127.0.0.1:${port}`, { ca });
    await c.close();
    return null;
  } catch (err) {
    return err as Error;
  }
}

/** The same over AMQP-over-WebSocket, with a queue declared to show the connection works. */
async function wsError(port: number): Promise<Error | null> {
  const client = new AMQPWebSocketClient(`ws://127.0.0.1:${port}`, '/', 'guest', 'guest');
  client.onerror = () => undefined;
  try {
    const conn = await client.connect();
    const ch = await conn.channel();
    await ch.queueDeclare('', { exclusive: true });
    await conn.close();
    return null;
  } catch (err) {
    return err as Error;
  }
}

/** Retries `attempt` until its error carries `text` (a fenced node's ports come back in a moment). */
async function refusedWith(text: string, attempt: () => Promise<Error | null>): Promise<void> {
  let last: Error | null = null;
  for (let i = 0; i < 100 && !(last?.message.includes(text) ?? false); i++) {
    last = await attempt();
    if (!(last?.message.includes(text) ?? false)) await new Promise((r) => setTimeout(r, 100));
  }
  expect(last?.message).toContain(text);
}

describe('HA: the amqps and WebSocket ports of a node that does not serve', () => {
  it('a standby refuses amqps and WebSocket clients with 320 naming the group; promoted, the same ports serve; fenced, they refuse again', async () => {
    const a = await haNode('a', 'p1', 1_000);
    await a.serving();
    // A long TTL: once fenced, b stays a standby for a while before it may lead again.
    const b = await haNode('b', 'p1', 3_000);
    await until('b is a standby', () => b.role() === 'standby');
    expect(b.tlsPort).not.toBeNull();
    expect(b.wsPort).not.toBeNull();
    const tlsPort = b.tlsPort as number;
    const wsPort = b.wsPort as number;

    const tlsErr = await amqpsError(tlsPort);
    expect(tlsErr?.message).toContain('320');
    expect(tlsErr?.message).toContain(standbyText('p1'));
    expect((await wsError(wsPort))?.message).toBe(`connection closed: ${standbyText('p1')} (320)`);

    await a.close();
    const rb = await b.serving();
    expect([rb.port, rb.tlsPort, rb.wsPort]).toEqual([b.port, tlsPort, wsPort]);
    expect(await amqpsError(tlsPort)).toBeNull();
    expect(await wsError(wsPort)).toBeNull();

    // An intruder's barrier: b's next heartbeat fails its compare-and-set, so b is fenced.
    await appendRivalBarrier(group.cluster(), 'p1');
    await until('b is fenced', () => b.role() === 'standby');
    await refusedWith(standbyText('p1'), () => amqpsError(tlsPort));
    await refusedWith(standbyText('p1'), () => wsError(wsPort));
  }, 90_000);
});
