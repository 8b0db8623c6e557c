// Debian's real Prometheus scrapes warren: every query of RabbitMQ's Overview dashboard returns
// data, and warren's alerting rules load, evaluate, and fire for a poison message that ends in a
// dead-letter queue. Prometheus runs on loopback with a temporary data directory.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { startTestBroker } from '../helpers/broker.js';
import { freePort } from '../helpers/free-port.js';
import type { RunningBroker } from '../../src/index.js';
import { clusterName } from '../../src/metrics/identity.js';

const PROMETHEUS = '/usr/bin/prometheus';
const RULES = resolve(__dirname, '../../src/metrics/alerts/warren-alerts.yml');
const QUERIES = resolve(__dirname, '../fixtures/rabbitmq-overview-dashboard-queries.json');

let b: RunningBroker;
let stopBroker: () => Promise<void>;
let prom: ChildProcess;
let promUrl: string;
let dir: string;
let promLog = '';

/** Poll `check` until it returns a value (not undefined) or `ms` pass; Prometheus works on its own schedule. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}\n${promLog.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(expr: string): Promise<Sample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Sample[] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error ?? res.status}`);
  return body.data?.result ?? [];
}

beforeAll(async () => {
  ({ running: b, stop: stopBroker } = await startTestBroker({ metricsPort: 0 }));
  dir = mkdtempSync(join(tmpdir(), 'warren-prometheus-'));
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${RULES}`,
      'scrape_configs:',
      '  - job_name: warren',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${b.metricsPort}']`,
      // The dashboards filter on a Kubernetes namespace label; a static one stands in for it.
      "        labels: { namespace: 'warren-test' }",
      '',
    ].join('\n'),
  );
  prom = spawn(PROMETHEUS, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  prom.stdout?.on('data', (d: Buffer) => (promLog += d.toString()));
  prom.stderr?.on('data', (d: Buffer) => (promLog += d.toString()));
  await eventually('prometheus ready', async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined));
  // Two scrapes before the traffic, so counters have a "before" for rate() and increase().
  await eventually('two scrapes of warren', async () => {
    const r = await query('count_over_time(up{job="warren"}[1m])');
    return Number(r[0]?.value[1] ?? 0) >= 2 ? true : undefined;
  });
}, 90_000);

afterAll(async () => {
  if (prom !== undefined && prom.exitCode === null) {
    const exited = new Promise((r) => prom.once('exit', r));
    prom.kill('SIGTERM');
    await exited;
  }
  await stopBroker?.();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** Publish and consume a little, and send one poison message to a dead-letter queue. */
async function traffic(conn: amqplib.ChannelModel): Promise<void> {
  const ch = await conn.createConfirmChannel();
  await ch.assertExchange('p-dlx', 'fanout', { durable: false });
  await ch.assertQueue('p-dlq', { durable: false });
  await ch.bindQueue('p-dlq', 'p-dlx', '');
  await ch.assertQueue('p-work', { durable: false, arguments: { 'x-dead-letter-exchange': 'p-dlx', 'x-delivery-limit': 1 } });
  for (let i = 0; i < 20; i++) ch.sendToQueue('p-plain', Buffer.alloc(i * 100));
  ch.sendToQueue('p-work', Buffer.from('poison'));
  await ch.waitForConfirms();
  const consumer = await conn.createChannel();
  let nacks = 0;
  await new Promise<void>((done) => {
    void consumer.consume('p-work', (m) => {
      if (m === null) return;
      consumer.nack(m, false, true); // twice over a limit of 1: dead-lettered with reason delivery_limit
      if (++nacks === 2) done();
    });
  });
  await eventually('the poison message in the dead-letter queue', async () => ((await ch.checkQueue('p-dlq')).messageCount === 1 ? true : undefined), 10_000);
}

describe('real Prometheus', () => {
  it("answers every query of RabbitMQ's Overview dashboard with data", async () => {
    const conn = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${b.port}`);
    const ch = await conn.createChannel();
    await ch.assertQueue('p-plain', { durable: false });
    await traffic(conn);
    const { queries } = JSON.parse(readFileSync(QUERIES, 'utf8')) as { queries: string[] };
    const cluster = clusterName(b.broker);
    const exprs = queries.map((q) =>
      q
        .replaceAll('$rabbitmq_cluster', cluster)
        .replaceAll('$namespace', 'warren-test')
        .replaceAll('$endpoint', 'aggregated')
        .replaceAll('$__rate_interval', '20s')
        .replaceAll('$__range', '1m'),
    );
    expect(exprs.length).toBeGreaterThan(40);
    // After the traffic, two more scrapes: every rate() and increase() has points on both sides.
    const scrapesNow = Number((await query('count_over_time(up{job="warren"}[5m])'))[0]?.value[1] ?? 0);
    await eventually('two scrapes after the traffic', async () => {
      const r = await query('count_over_time(up{job="warren"}[5m])');
      return Number(r[0]?.value[1] ?? 0) >= scrapesNow + 2 ? true : undefined;
    });
    const empty: string[] = [];
    for (const e of exprs) if ((await query(e)).length === 0) empty.push(e);
    expect(empty).toEqual([]);
    // A few values the dashboard shows, checked against what the traffic did.
    const ready = await query(`sum(rabbitmq_queue_messages_ready * on(instance, job) group_left(rabbitmq_cluster) rabbitmq_identity_info{rabbitmq_cluster="${cluster}", namespace="warren-test", rabbitmq_endpoint="aggregated"})`);
    expect(Number(ready[0]?.value[1])).toBe(21); // 20 in p-plain, 1 in p-dlq
    const received = await query('rabbitmq_global_messages_received_total{protocol="amqp091"}');
    expect(Number(received[0]?.value[1])).toBe(21);
    await conn.close();
  }, 120_000);

  it("loads warren's alerting rules, evaluates all of them, and fires the poison-message alert", async () => {
    const rules = await eventually('rules evaluated', async () => {
      const res = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
      const all = res.data.groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((r) => r.health !== 'unknown') ? all : undefined;
    });
    expect(rules.map((r) => r.name).sort()).toEqual([
      'WarrenConnectionChurn', 'WarrenDeadLetterQueueNotEmpty', 'WarrenDiskAlarm', 'WarrenMemoryAlarm',
      'WarrenPoisonMessages', 'WarrenPublisherConfirmsFailing', 'WarrenReadyMessagesWithoutConsumers', 'WarrenUnackedDeliveryTooOld',
    ]);
    expect(rules.filter((r) => r.health !== 'ok')).toEqual([]);
    const active = await eventually('the poison and dead-letter alerts', async () => {
      const res = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as { data: { alerts: { labels: { alertname: string }; state: string }[] } };
      const names = new Set(res.data.alerts.map((a) => a.labels.alertname));
      return names.has('WarrenPoisonMessages') && names.has('WarrenDeadLetterQueueNotEmpty') ? res.data.alerts : undefined;
    });
    expect(active.find((a) => a.labels.alertname === 'WarrenPoisonMessages')?.state).toBe('firing');
    // for: 5m: pending until then.
    expect(active.find((a) => a.labels.alertname === 'WarrenDeadLetterQueueNotEmpty')?.state).toBe('pending');
    expect(active.map((a) => a.labels.alertname)).not.toContain('WarrenMemoryAlarm');
  }, 120_000);
});
