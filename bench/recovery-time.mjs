// Recovery time: fill a data directory with persistent messages, kill the broker, and time
// restarts from spawn to listening on that backlog (and on an empty directory, for the fixed cost
// of starting node and the broker).
//
//   node bench/recovery-time.mjs [--messages 500000] [--body 2048] [--queues 4] [--rounds 3]
//                                [--root DIR] [--dir DIR] [--keep] [--stop graceful|kill]
//
// --root: a checkout whose dist/ is run (default this one); --dir: a data directory kept for
// later runs (filled only if it has no messages yet); --keep: leave the data directory. The broker runs as a child (sync always);
// it is SIGKILLed after the fill unless --stop graceful.
// Prints medians over the restarts: wall time to listening, the broker's own store recovery ms,
// the broker process's CPU time until listening, and seconds per GB of backlog (wall or CPU minus
// the empty start's, over the segment bytes on disk). On a shared machine trust the CPU figures.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : process.argv[i + 1];
}

// ---- child: one broker on a data dir; prints one JSON line once listening ----
if (process.argv[2] === '--child') {
  const [, , , root, dataDir] = process.argv;
  const { startBroker } = await import(pathToFileURL(join(root, 'dist', 'index.js')).href);
  const running = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', sync: 'always' });
  const stats = running.broker.persistence?.messages.stats();
  // CPU time of this process until listening: less swayed than wall time by a shared machine.
  const cpu = process.cpuUsage();
  process.stdout.write(JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, port: running.port, recovered: stats?.recoveredMessages ?? 0, recoveryMs: stats?.recoveryMs ?? 0, corruptRecords: stats?.corruptRecords ?? 0 }) + '\n');
  process.stdin.on('data', () => undefined);
  process.stdin.on('end', () => process.exit(0));
} else {
  await main();
}

function startChild(root, dataDir) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', root, dataDir], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((res, rej) => {
    let out = '';
    child.once('exit', (code) => rej(new Error(`broker exited (${code}) before listening`)));
    child.stdout.on('data', (d) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      const ms = performance.now() - t0;
      res({ child, ms, info: JSON.parse(out.slice(0, nl)) });
    });
  });
}

function kill(child) {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) return res();
    child.once('exit', () => res());
    process.kill(child.pid, 'SIGKILL');
  });
}

function stopGracefully(child) {
  return new Promise((res) => {
    child.once('exit', () => res());
    child.stdin.end();
  });
}

/** The message-store directories of a data dir: one per vhost (vhosts/<id>/messages), or the flat layout of older releases. */
function messageDirs(dataDir) {
  const dirs = [];
  const flat = join(dataDir, 'messages');
  if (existsSync(flat)) dirs.push(flat);
  const vhosts = join(dataDir, 'vhosts');
  if (existsSync(vhosts)) {
    for (const v of readdirSync(vhosts)) {
      const d = join(vhosts, v, 'messages');
      if (!v.startsWith('.') && existsSync(d)) dirs.push(d);
    }
  }
  return dirs;
}

function segmentBytes(dataDir) {
  let n = 0;
  for (const d of messageDirs(dataDir)) for (const f of readdirSync(d)) if (f.endsWith('.seg')) n += statSync(join(d, f)).size;
  return n;
}

async function fill(url, messages, bodySize, queues) {
  const amqplib = await import('amqplib');
  const conn = await amqplib.connect(url);
  const ch = await conn.createConfirmChannel();
  const names = [];
  for (let i = 0; i < queues; i++) {
    names.push(`recovery.q${i}`);
    await ch.assertQueue(`recovery.q${i}`, { durable: true });
  }
  const body = Buffer.alloc(bodySize, 0x61);
  const window = 2000;
  let inflight = 0;
  let wake = null;
  const t0 = performance.now();
  for (let n = 0; n < messages; n++) {
    while (inflight >= window) await new Promise((r) => (wake = r));
    inflight++;
    ch.publish('', names[n % queues], body, { persistent: true, headers: { n } }, (err) => {
      if (err) throw err;
      inflight--;
      if (wake !== null) {
        const w = wake;
        wake = null;
        w();
      }
    });
    if (n % 256 === 255) await new Promise((r) => setImmediate(r));
  }
  await ch.waitForConfirms();
  await conn.close();
  return (performance.now() - t0) / 1000;
}

async function main() {
  const messages = Number(arg('messages', '500000'));
  const bodySize = Number(arg('body', '2048'));
  const queues = Number(arg('queues', '4'));
  const rounds = Number(arg('rounds', '3'));
  const root = resolve(arg('root', join(here, '..')));
  const stopMode = arg('stop', 'kill');
  const given = arg('dir', undefined);
  const keep = process.argv.includes('--keep') || given !== undefined;
  const dataDir = given ?? mkdtempSync(join(tmpdir(), 'warren-recovery-bench-'));
  mkdirSync(dataDir, { recursive: true });
  const emptyDir = mkdtempSync(join(tmpdir(), 'warren-recovery-empty-'));
  try {
    if (segmentBytes(dataDir) === 0) {
      const b = await startChild(root, dataDir);
      const secs = await fill(`amqp://guest:guest@127.0.0.1:${b.info.port}`, messages, bodySize, queues);
      console.error(`filled ${messages} x ${bodySize} B in ${secs.toFixed(1)} s`);
      await (stopMode === 'graceful' ? stopGracefully(b.child) : kill(b.child));
    }
    const bytes = segmentBytes(dataDir);
    const gb = bytes / 1e9;
    const empty = [];
    const emptyCpu = [];
    const full = [];
    for (let r = 0; r < rounds; r++) {
      const e = await startChild(root, emptyDir);
      empty.push(e.ms);
      emptyCpu.push(e.info.cpuMs);
      await kill(e.child);
      const b = await startChild(root, dataDir);
      full.push({ ms: b.ms, cpuMs: b.info.cpuMs, recoveryMs: b.info.recoveryMs, recovered: b.info.recovered, corrupt: b.info.corruptRecords });
      await kill(b.child);
    }
    const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const emptyMs = med(empty);
    const fullMs = med(full.map((f) => f.ms));
    const storeMs = med(full.map((f) => f.recoveryMs));
    const emptyCpuMs = med(emptyCpu);
    const fullCpuMs = med(full.map((f) => f.cpuMs));
    const result = {
      date: new Date().toISOString(),
      root,
      messages: full[0].recovered,
      bodyBytes: bodySize,
      segmentBytes: bytes,
      rounds,
      emptyStartMs: Math.round(emptyMs),
      toListeningMs: Math.round(fullMs),
      storeRecoveryMs: Math.round(storeMs),
      secondsPerGB: Number(((fullMs - emptyMs) / 1000 / gb).toFixed(3)),
      toListeningSecondsPerGB: Number((fullMs / 1000 / gb).toFixed(3)),
      emptyStartCpuMs: Math.round(emptyCpuMs),
      toListeningCpuMs: Math.round(fullCpuMs),
      cpuSecondsPerGB: Number(((fullCpuMs - emptyCpuMs) / 1000 / gb).toFixed(3)),
      corruptRecords: full[0].corrupt,
      runs: full.map((f) => Math.round(f.ms)),
    };
    console.log(JSON.stringify(result));
  } finally {
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
    rmSync(emptyDir, { recursive: true, force: true });
  }
}
