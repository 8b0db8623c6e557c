// The Prometheus endpoint: queue gauges and the dead-letter counter operators alert on.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { startBroker, type RunningBroker } from '../../src/index.js';

let b: RunningBroker;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warren-metrics-'));
  b = await startBroker({ host: '127.0.0.1', port: 0, metricsPort: 0, dataDir: dir, logLevel: 'silent' });
});

afterAll(async () => {
  await b.close();
  rmSync(dir, { recursive: true, force: true });
});

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${b.metricsPort}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

it('exposes queue depth, connections and dead-lettered messages by reason', async () => {
  const c = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${b.port}`);
  const ch = await c.createChannel();
  await ch.assertExchange('m-dlx', 'fanout', { durable: false });
  await ch.assertQueue('m-dlq', { durable: false });
  await ch.bindQueue('m-dlq', 'm-dlx', '');
  await ch.assertQueue('m-work', { durable: false, arguments: { 'x-dead-letter-exchange': 'm-dlx' } });
  ch.sendToQueue('m-work', Buffer.from('a'));
  ch.sendToQueue('m-work', Buffer.from('b'));
  const m = await ch.get('m-work');
  if (m === false) throw new Error('no message');
  ch.nack(m, false, false);
  await ch.checkQueue('m-dlq'); // round trip so the nack is processed

  const text = await scrape();
  expect(text).toContain('warren_connections 1');
  expect(text).toContain('warren_queue_messages_ready{vhost="/",queue="m-work"} 1');
  expect(text).toContain('warren_queue_messages_ready{vhost="/",queue="m-dlq"} 1');
  expect(text).toContain('warren_dead_lettered_total{reason="rejected"} 1');
  expect(text).toMatch(/# TYPE warren_dead_lettered_total counter/);
  await c.close();
});

it('answers 404 for other paths', async () => {
  const res = await fetch(`http://127.0.0.1:${b.metricsPort}/other`);
  expect(res.status).toBe(404);
});

/** Hold the event loop (this process runs the broker too) for `ms`. */
function blockLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin: a synchronous stretch, as a long purge or requeue would be
  }
}

it('exposes the event-loop lag, which shows a synchronous stall', async () => {
  const before = await scrape();
  expect(before).toMatch(/# TYPE warren_event_loop_lag_seconds gauge/);
  expect(before).toMatch(/^warren_event_loop_lag_seconds \d+(\.\d+)?(e-?\d+)?$/m);
  blockLoop(250);
  await new Promise((r) => setImmediate(r)); // let the delay monitor's timer fire late
  await new Promise((r) => setTimeout(r, 30));
  const after = await scrape();
  const m = /^warren_event_loop_lag_seconds (\S+)$/m.exec(after);
  expect(Number(m?.[1])).toBeGreaterThanOrEqual(0.2);
});
