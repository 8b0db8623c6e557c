// An HA group for benchmarks: n nats-server nodes with JetStream clustered over loopback routes,
// and warren processes (dist/) that join one group through --ha-nats. Every process is ours,
// started here and stopped by its pid; each keeps the tail of its output for error messages.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, portOpen, WARREN_NODE_FLAGS } from './targets.mjs';

const NATS_SERVER = process.env.NATS_SERVER || 'nats-server';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function track(p, child) {
  p.child = child;
  p.output = '';
  const keep = (b) => (p.output = (p.output + b.toString('utf8')).slice(-20000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  p.exited = new Promise((r) => child.once('exit', () => r()));
  child.once('exit', () => {
    if (p.child === child) p.child = null;
  });
}

async function kill(p, sig = 'SIGKILL') {
  const c = p.child;
  if (!c) return;
  c.kill(sig);
  await p.exited;
}

async function waitFor(what, p, test, timeoutMs) {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    if (!p.child) throw new Error(`${what} exited:\n${p.output.slice(-3000)}`);
    if (await test()) return;
    await sleep(100);
  }
  throw new Error(`${what}: not ready within ${timeoutMs} ms:\n${p.output.slice(-3000)}`);
}

/** Three (or `count`) clustered nats-server nodes; `urls` is the form --ha-nats takes. */
export async function startNats(count = 3) {
  const nodes = [];
  for (let i = 0; i < count; i++) {
    nodes.push({ name: `n${i + 1}`, port: await freePort(), clusterPort: await freePort(), dir: fs.mkdtempSync(path.join(os.tmpdir(), `warren-bench-nats-${i + 1}-`)), child: null });
  }
  const stop = async () => {
    await Promise.all(nodes.map((n) => kill(n)));
    for (const n of nodes) fs.rmSync(n.dir, { recursive: true, force: true });
  };
  try {
    for (const n of nodes) {
      const routes = nodes.filter((m) => m !== n).map((m) => `nats-route://127.0.0.1:${m.clusterPort}`);
      const conf = [
        `server_name: ${n.name}`,
        `listen: 127.0.0.1:${n.port}`,
        // warren splits segment frames below this (see README, High availability).
        'max_payload: 8MB',
        `jetstream { store_dir: "${path.join(n.dir, 'js')}", max_memory_store: 64MB, max_file_store: 4GB }`,
        `cluster { name: warren-bench, listen: 127.0.0.1:${n.clusterPort}, routes: [${routes.join(', ')}] }`,
        '',
      ].join('\n');
      fs.writeFileSync(path.join(n.dir, 'nats.conf'), conf);
      track(n, spawn(NATS_SERVER, ['-c', path.join(n.dir, 'nats.conf')], { stdio: ['ignore', 'pipe', 'pipe'] }));
    }
    for (const n of nodes) await waitFor(`nats-server ${n.name}`, n, () => portOpen(n.port), 15000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { nodes, urls: nodes.map((n) => `nats://127.0.0.1:${n.port}`).join(','), stop };
}

/** The node's answer on GET /ha/role ('leader', 'standby', ...), or 'down'. */
export async function haRole(w) {
  try {
    const res = await fetch(`http://127.0.0.1:${w.rolePort}/ha/role`, { signal: AbortSignal.timeout(1000) });
    return (await res.json()).role;
  } catch {
    return 'down';
  }
}

/**
 * One warren of an HA group. The first of a group becomes leader (its AMQP port opens); a later
 * one is a standby (its AMQP port refuses clients with 320) until the leader goes silent for `ttlMs`.
 */
export async function startHaWarren({ root, natsUrls, group, ttlMs, name, expect, logFile }) {
  const w = { name, port: await freePort(), rolePort: await freePort(), dir: fs.mkdtempSync(path.join(os.tmpdir(), `warren-bench-ha-${name}-`)), child: null };
  const args = [
    ...WARREN_NODE_FLAGS, path.join(root, 'dist/cli/main.js'), 'serve',
    '--host', '127.0.0.1', '--port', String(w.port), '--data-dir', w.dir, '--log-level', 'warn', '--sync', 'always',
    '--no-management-port',
    '--ha-nats', natsUrls, '--ha-group', group, '--ha-ttl-ms', String(ttlMs), '--ha-role-port', String(w.rolePort), '--ha-node', name,
  ];
  track(w, spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: root }));
  if (logFile) w.child.stderr.on('data', (b) => fs.appendFileSync(logFile, b));
  w.stop = async (sig = 'SIGTERM') => {
    if (w.child) {
      const c = w.child;
      c.kill(sig);
      await Promise.race([w.exited, sleep(10000)]);
      if (w.child === c) await kill(w);
    }
    fs.rmSync(w.dir, { recursive: true, force: true });
  };
  try {
    if (expect === 'leader') await waitFor(`warren ${name}`, w, async () => (await haRole(w)) === 'leader' && (await portOpen(w.port)), 60000);
    else await waitFor(`warren ${name}`, w, async () => (await haRole(w)) === expect, 60000);
  } catch (e) {
    await w.stop('SIGKILL');
    throw e;
  }
  return w;
}
