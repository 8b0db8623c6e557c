// A node whose NATS cluster does not answer waits (AMQP refused with 320, /ha/role 503
// "connecting") and says so in its logs; once NATS is up it follows, and being alone, leads.

import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as amqplib from 'amqplib';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startHaBroker, type RunningHaNode } from '../../src/index.js';
import { startNatsCluster, type NatsCluster } from './nats-cluster.js';

const dirs: string[] = [];
let node: RunningHaNode | null = null;
let cluster: NatsCluster | null = null;

afterAll(async () => {
  await node?.close();
  await cluster?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('HA with the replicated log unreachable at start', () => {
  it('waits, logs it, and starts once the stream is reachable', async () => {
    cluster = await startNatsCluster(3);
    const urls = cluster.urls.split(',');
    // Every NATS node down before warren starts.
    for (let i = 0; i < 3; i++) cluster.signal(i, 'SIGKILL');
    const until0 = performance.now() + 10_000;
    while (cluster.nodes.some((n) => n.proc !== null) && performance.now() < until0) await new Promise((r) => setTimeout(r, 50));

    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const dataDir = fs.mkdtempSync(path.join(tmpdir(), 'warren-ha-unreach-'));
    dirs.push(dataDir);
    node = await startHaBroker({ port: 0, dataDir, logger, ha: { nats: urls, group: 'u1', ttlMs: 500, node: 'u' }, haRolePort: 0 });
    await new Promise((r) => setTimeout(r, 2_500));
    expect(node.role()).toBe('connecting');
    expect(node.current()).toBeNull();
    const res = await fetch(`http://127.0.0.1:${node.rolePort}/ha/role`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { role: string }).role).toBe('connecting');
    expect(lines.some((l) => l.includes('replicated log unreachable, waiting'))).toBe(true);
    // Its AMQP port already answers, refusing as a standby does.
    const refused = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${node.port}`).then(
      () => null,
      (err: unknown) => err as Error,
    );
    expect(refused?.message).toContain("CONNECTION_FORCED - this warren node is an HA standby of group 'u1'; connect to the leader");

    for (let i = 0; i < 3; i++) await cluster.restart(i);
    const b = await node.serving();
    expect(node.role()).toBe('leader');
    expect(b.port).toBe(node.port);
    const conn = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${b.port}`);
    await conn.close();
  }, 120_000);
});
