// One 3-node NATS cluster per test file, and warren HA nodes started on it in-process (port 0,
// a temporary data directory each); everything is stopped and removed after the file's tests.

import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { encodeMark, FrameType } from '../../src/ha/frames.js';
import { JetStreamLog } from '../../src/ha/jetstream-log.js';
import { groupSubjects, type GroupSubjects } from '../../src/ha/replicated-log.js';
import { startHaBroker, type HaStartOptions, type RunningHaNode } from '../../src/index.js';
import { systemClock } from '../../src/util/clock.js';
import { startNatsCluster, type NatsCluster } from './nats-cluster.js';

export interface HaGroupFixture {
  /** The file's NATS cluster (started in beforeAll). */
  cluster(): NatsCluster;
  /** Starts a node of `group` (TTL 1 s unless `ttlMs`); `dir` reuses a data directory. */
  node(name: string, group: string, o?: { extra?: Partial<HaStartOptions>; ttlMs?: number; dir?: string }): Promise<{ node: RunningHaNode; dataDir: string }>;
}

export function haGroupFixture(): HaGroupFixture {
  let cluster: NatsCluster | null = null;
  const dirs: string[] = [];
  const nodes: RunningHaNode[] = [];
  beforeAll(async () => {
    cluster = await startNatsCluster(3);
  }, 60_000);
  afterAll(async () => {
    for (const n of nodes) await n.close().catch(() => undefined);
    await cluster?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  const get = (): NatsCluster => {
    if (cluster === null) throw new Error('the NATS cluster is not started (beforeAll)');
    return cluster;
  };
  return {
    cluster: get,
    async node(name, group, o = {}) {
      const dataDir = o.dir ?? fs.mkdtempSync(path.join(tmpdir(), `warren-ha-${name}-`));
      if (o.dir === undefined) dirs.push(dataDir);
      const node = await startHaBroker({ port: 0, dataDir, ha: { nats: get().urls.split(','), group, ttlMs: o.ttlMs ?? 1_000, node: name }, logLevel: 'error', ...o.extra });
      nodes.push(node);
      return { node, dataDir };
    },
  };
}

/** Polls `ok` every 20 ms until it holds, or throws after `ms`. */
export async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Appends one entry to `subjects`'s stream from outside any node (retrying when a node's append got in first). */
export async function intrude(cluster: NatsCluster, subjects: GroupSubjects, subject: string, data: Uint8Array): Promise<void> {
  const intruder = await JetStreamLog.open({ servers: cluster.urls.split(','), subjects, replicas: 3, appendTimeoutMs: 2_000, clock: systemClock, name: 'intruder' });
  try {
    for (let i = 0; ; i++) {
      const last = await intruder.lastSequence();
      try {
        await intruder.append(subject, data, { expectedLastSeq: last, msgId: `intruder/${last + 1}` });
        return;
      } catch (err) {
        if (i > 20) throw err;
      }
    }
  } finally {
    await intruder.close();
  }
}

/** An intruder's barrier in `group`'s stream: the leader's next append fails its compare-and-set, so it is fenced. */
export async function appendRivalBarrier(cluster: NatsCluster, group: string): Promise<void> {
  const subjects = groupSubjects(group);
  await intrude(cluster, subjects, subjects.ctl, encodeMark(FrameType.Barrier, 1_000, Date.now(), 'intruder'));
}
