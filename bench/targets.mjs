// The brokers under test: warren started here as a child process from the built dist/, and
// RabbitMQ taken from RABBITMQ_URL or started through interop/rabbitmq.sh. Each target knows
// its AMQP URL, the broker PID (for CPU and RSS) and how to stop what this run started.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pidListeningOn } from './proc-stats.mjs';

const START_TIMEOUT_MS = 30000;
const STOP_TIMEOUT_MS = 10000;
/** rabbitmq.sh may install the package and wait for the node: allow it several minutes. */
const RABBIT_SCRIPT_TIMEOUT_MS = 20 * 60 * 1000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => (s.destroy(), resolve(ok));
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function waitForPort(port, isDead, what) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (isDead()) throw new Error(`${what} exited during startup`);
    if (await portOpen(port)) return;
    await sleep(100);
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${START_TIMEOUT_MS / 1000} s`);
}

/** Spawns one warren process on a free port with a fresh data directory. */
/** A larger young generation: queued messages mostly die young instead of being copied by every scavenge. */
export const WARREN_NODE_FLAGS = ['--max-semi-space-size=64', ...(process.env.WARREN_BENCH_NODE_FLAGS ? process.env.WARREN_BENCH_NODE_FLAGS.split(' ') : [])];

async function spawnWarren({ root, sync, nodeArgs, logFile, extraArgs = [], management = false, metrics = false }) {
  const main = path.join(root, 'dist/cli/main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: build warren first (npm run build)`);
  const port = await freePort();
  // Free ports of their own, so a RabbitMQ on 15672/15692 never collides with the warren under test.
  const managementPort = management ? await freePort() : 0;
  const metricsPort = metrics ? await freePort() : 0;
  // `warren serve` opens 15672 by default, which a RabbitMQ beside it may hold.
  // An older build (--warren-root, for before/after figures) has no management API and no such flag.
  const hasManagement = fs.readFileSync(main, 'utf8').includes('no-management-port');
  if (management) extraArgs = [...extraArgs, '--management-port', String(managementPort)];
  else if (hasManagement) extraArgs = [...extraArgs, '--no-management-port'];
  if (metrics) extraArgs = [...extraArgs, '--metrics-port', String(metricsPort)];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-bench-'));
  const log = fs.openSync(logFile, 'a');
  // The same V8 flags as `npm start` and the warren bin (see package.json / src/cli/main.ts).
  const args = [...WARREN_NODE_FLAGS, ...nodeArgs, main, 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn', '--sync', sync, ...extraArgs];
  const child = spawn(process.execPath, args, { stdio: ['ignore', log, log], cwd: root });
  fs.closeSync(log);
  const proc = { child, port, managementPort, metricsPort, dataDir, exited: false };
  child.on('exit', () => (proc.exited = true));
  try {
    await waitForPort(port, () => proc.exited, 'warren');
    if (management) await waitForPort(managementPort, () => proc.exited, 'warren management API');
    if (metrics) await waitForPort(metricsPort, () => proc.exited, 'warren metrics listener');
  } catch (e) {
    await stopWarren(proc);
    throw e;
  }
  return proc;
}

async function stopWarren(proc) {
  if (!proc.exited) {
    proc.child.kill('SIGTERM');
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (!proc.exited && Date.now() < deadline) await sleep(50);
    if (!proc.exited) proc.child.kill('SIGKILL');
  }
  fs.rmSync(proc.dataDir, { recursive: true, force: true });
}

/**
 * `config.management` / `config.metrics` give the process a management API / Prometheus
 * listener on free ports; `config.afterStart(target)` runs after every start and restart (a
 * fresh data directory has only guest on '/', so per-run users and vhosts are made again).
 */
export async function startWarren(config) {
  let proc = await spawnWarren(config);
  const target = {
    name: 'warren',
    describe: `warren (--sync ${config.sync})`,
    url: '',
    pid: 0,
    /** The running process's data directory (deep-queue measures its spill store). */
    get dataDir() {
      return proc.dataDir;
    },
    alive: () => !proc.exited,
    /** guest on '/': the management API's credentials and the URL before any --user/--vhost. */
    adminUrl: '',
    get managementUrl() {
      return proc.managementPort ? `http://127.0.0.1:${proc.managementPort}` : null;
    },
    get metricsUrl() {
      return proc.metricsPort ? `http://127.0.0.1:${proc.metricsPort}` : null;
    },
    /** A fresh process, for memory scenarios whose RSS baseline must not carry earlier garbage. */
    async restart() {
      await stopWarren(proc);
      proc = await spawnWarren(config);
      target.url = target.adminUrl = `amqp://guest:guest@127.0.0.1:${proc.port}`;
      target.pid = proc.child.pid;
      if (config.afterStart) await config.afterStart(target);
    },
    stop: () => stopWarren(proc),
  };
  target.url = target.adminUrl = `amqp://guest:guest@127.0.0.1:${proc.port}`;
  target.pid = proc.child.pid;
  try {
    if (config.afterStart) await config.afterStart(target);
  } catch (e) {
    await stopWarren(proc);
    throw e;
  }
  return target;
}

function runScript(script, arg) {
  return new Promise((resolve) => {
    execFile('bash', [script, arg], { timeout: RABBIT_SCRIPT_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ ok: !err, out: `${stdout}${stderr}` }),
    );
  });
}

export async function startRabbit({ root }) {
  let url = process.env.RABBITMQ_URL;
  let stop = async () => {};
  const script = path.join(root, 'interop/rabbitmq.sh');
  if (!url && fs.existsSync(script)) {
    const before = await runScript(script, 'status');
    const ownedBefore = /started by this script/.test(before.out);
    const started = await runScript(script, 'start');
    if (!started.ok) throw new Error(`interop/rabbitmq.sh start failed:\n${started.out}`);
    const after = await runScript(script, 'status');
    if (!ownedBefore && /started by this script/.test(after.out)) {
      stop = async () => void (await runScript(script, 'stop'));
    }
    url = `amqp://guest:guest@127.0.0.1:${process.env.RABBITMQ_PORT || 5672}`;
  }
  if (!url) {
    if (await portOpen(5672)) url = 'amqp://guest:guest@127.0.0.1:5672';
    else throw new Error('no RabbitMQ: set RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5672 or provide interop/rabbitmq.sh');
  }
  const port = Number(new URL(url).port || 5672);
  if (!(await portOpen(port))) throw new Error(`RabbitMQ is not listening on 127.0.0.1:${port}`);
  const pid = pidListeningOn(port);
  const env = process.env;
  return {
    name: 'rabbitmq',
    url,
    adminUrl: url,
    /** The node's management API and Prometheus plugin (interop/rabbitmq.sh enables both). */
    managementUrl: env.RABBITMQ_MANAGEMENT_URL || `http://127.0.0.1:${env.RABBITMQ_MANAGEMENT_PORT || 15672}`,
    metricsUrl: env.RABBITMQ_PROMETHEUS_URL || `http://127.0.0.1:${env.RABBITMQ_PROMETHEUS_PORT || 15692}`,
    pid,
    describe: 'RabbitMQ',
    alive: () => pid === null || fs.existsSync(`/proc/${pid}`),
    stop,
  };
}
