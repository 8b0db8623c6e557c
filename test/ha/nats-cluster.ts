// Three (or n) nats-server nodes with JetStream, clustered over loopback routes, each in its own
// temporary directory. Tests and benches start their own cluster and stop only the processes they
// started (by pid). Ports come from freePort(): nats-server must be told its ports in its config.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/free-port.js';

export const NATS_SERVER = process.env.NATS_SERVER ?? 'nats-server';

export interface NatsNode {
  readonly name: string;
  readonly port: number;
  readonly clusterPort: number;
  readonly url: string;
  readonly dir: string;
  proc: ChildProcess | null;
  /** Output of the current process (kept for failure messages). */
  output: string;
}

export interface NatsCluster {
  readonly nodes: NatsNode[];
  /** Client URLs of every node, comma-separated (the form --ha-nats takes). */
  readonly urls: string;
  /** Sends a signal to one node's process (SIGKILL, SIGSTOP, SIGCONT...). */
  signal(i: number, sig: NodeJS.Signals): void;
  /** Starts a stopped or killed node again on the same ports and store. */
  restart(i: number): Promise<void>;
  /** Kills every node this cluster started and removes the directories. */
  stop(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function config(node: NatsNode, all: NatsNode[], clusterName: string): string {
  const routes = all.filter((n) => n !== node).map((n) => `nats-route://127.0.0.1:${n.clusterPort}`);
  return [
    `server_name: ${node.name}`,
    `listen: 127.0.0.1:${node.port}`,
    // The setting: segment frames are split below it.
    'max_payload: 8MB',
    `jetstream { store_dir: "${join(node.dir, 'js')}", max_memory_store: 64MB, max_file_store: 4GB }`,
    `cluster { name: ${clusterName}, listen: 127.0.0.1:${node.clusterPort}, routes: [${routes.join(', ')}] }`,
    '',
  ].join('\n');
}

function launch(node: NatsNode): void {
  const conf = join(node.dir, 'nats.conf');
  const proc = spawn(NATS_SERVER, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  node.proc = proc;
  node.output = '';
  const keep = (b: Buffer): void => {
    node.output = (node.output + b.toString('utf8')).slice(-20_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  proc.once('exit', () => {
    if (node.proc === proc) node.proc = null;
  });
}

async function waitListening(node: NatsNode, deadlineMs: number): Promise<void> {
  const until = performance.now() + deadlineMs;
  while (performance.now() < until) {
    if (node.proc === null) throw new Error(`${node.name} exited:\n${node.output}`);
    if (await portOpen(node.port)) return;
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${node.name} not listening on ${node.port}:\n${node.output}`);
}

export async function startNatsCluster(count = 3, clusterName = 'warren-ha'): Promise<NatsCluster> {
  const nodes: NatsNode[] = [];
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    const clusterPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), `warren-nats-${i + 1}-`));
    nodes.push({ name: `n${i + 1}`, port, clusterPort, url: `nats://127.0.0.1:${port}`, dir, proc: null, output: '' });
  }
  for (const n of nodes) writeFileSync(join(n.dir, 'nats.conf'), config(n, nodes, clusterName));
  for (const n of nodes) launch(n);
  const cluster: NatsCluster = {
    nodes,
    urls: nodes.map((n) => n.url).join(','),
    signal(i, sig) {
      const p = nodes[i]?.proc;
      if (p?.pid !== undefined) process.kill(p.pid, sig);
    },
    async restart(i) {
      const n = nodes[i] as NatsNode;
      if (n.proc !== null) throw new Error(`${n.name} is still running`);
      launch(n);
      await waitListening(n, 15_000);
    },
    async stop() {
      await Promise.all(
        nodes.map(async (n) => {
          const p = n.proc;
          if (p === null || p.pid === undefined) return;
          const gone = new Promise<void>((r) => p.once('exit', () => r()));
          // A stopped node would ignore SIGTERM; SIGKILL works whatever its state.
          process.kill(p.pid, 'SIGKILL');
          await gone;
        }),
      );
      for (const n of nodes) rmSync(n.dir, { recursive: true, force: true });
    },
  };
  try {
    for (const n of nodes) await waitListening(n, 15_000);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
