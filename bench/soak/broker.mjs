// The broker under soak: warren started from a built dist/ as a child process on free loopback
// ports (AMQP and Prometheus metrics), with a fresh data directory, plus the outside readings of
// it: RSS, CPU and open file descriptors from /proc, and the /metrics gauges it exposes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { sleep } from './actor.mjs';
import { freePort, portOpen } from '../targets.mjs';

const START_TIMEOUT_MS = 30000;
const STOP_TIMEOUT_MS = 10000;
const SCRAPE_TIMEOUT_MS = 2000;
/** The same V8 flag as `npm start` and the benchmarks. */
const NODE_FLAGS = ['--max-semi-space-size=64'];

export async function startWarren({ root, logFile, sync, nodeArgs = [] }) {
  const main = path.join(root, 'dist/cli/main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: build warren first (npm run build)`);
  const port = await freePort();
  const metricsPort = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-soak-'));
  const log = fs.openSync(logFile, 'a');
  const args = [...NODE_FLAGS, ...nodeArgs, main, 'serve', '--host', '127.0.0.1', '--port', String(port), '--metrics-port', String(metricsPort), '--no-management-port', '--data-dir', dataDir, '--log-level', 'warn'];
  if (sync) args.push('--sync', sync);
  const child = spawn(process.execPath, args, { stdio: ['ignore', log, log], cwd: root });
  fs.closeSync(log);
  const broker = {
    child,
    pid: child.pid,
    port,
    metricsPort,
    dataDir,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    exited: false,
    exitCode: null,
    exitSignal: null,
  };
  child.on('exit', (code, signal) => Object.assign(broker, { exited: true, exitCode: code, exitSignal: signal }));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await portOpen(port))) {
    if (broker.exited || Date.now() > deadline) {
      await stopWarren(broker);
      throw new Error(broker.exited ? `warren exited during startup (see ${logFile})` : 'warren did not start listening in time');
    }
    await sleep(100);
  }
  return broker;
}

export async function stopWarren(broker) {
  if (!broker.exited) {
    broker.child.kill('SIGTERM');
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (!broker.exited && Date.now() < deadline) await sleep(50);
    if (!broker.exited) broker.child.kill('SIGKILL');
  }
  fs.rmSync(broker.dataDir, { recursive: true, force: true });
}

/** Open file descriptors of a process, or null if it is gone. */
export function procFdCount(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** Prometheus text exposition -> { name: summed value } (labels summed away), or null on failure. */
export function scrapeMetrics(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', timeout: SCRAPE_TIMEOUT_MS }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve(res.statusCode === 200 ? parseMetrics(text) : null));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    // A lag summary or histogram may carry quantile labels: keep the largest, not the sum.
    if (m[2] && m[2].includes('quantile=')) {
      const key = `${m[1]}:max_quantile`;
      out[key] = Math.max(out[key] ?? -Infinity, value);
      continue;
    }
    out[m[1]] = (out[m[1]] ?? 0) + value;
  }
  return out;
}
