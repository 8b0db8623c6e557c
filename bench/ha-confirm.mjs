// Confirm-persistent throughput side by side, and the HA failover time:
//   - warren, one process (--sync always)
//   - warren with HA: 3 nats-server nodes, a leader warren and a standby (--ha-nats)
//   - RabbitMQ, classic durable queue, and RabbitMQ, quorum queue (x-queue-type quorum), same node
// Load: amqplib publishers (--publishers, default 1; persistent, 256 confirms in flight each) and one consumer acking
// (prefetch 100), as in run.mjs's confirm-persistent. Failover: with the HA publisher confirming,
// SIGKILL the leader and measure until the first confirm of a publish sent after the kill, through
// a client that reconnects over the host list [leader, standby].
// CPU: each process's user + system time over the measured seconds (from /proc), per 1,000
// confirmed messages, shows where a 2-core machine's time goes when every part shares it.
//
//   node bench/ha-confirm.mjs [--seconds N] [--rounds N] [--body BYTES] [--publishers N] [--ha-ttl-ms MS] [--warren-root DIR]
//                             [--only warren,ha,classic,quorum,failover]   (a subset, while tuning)
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { haRole, startHaWarren, startNats } from './ha-cluster.mjs';
import { procCpuMicros } from './proc-stats.mjs';
import { median } from './stats.mjs';
import { startRabbit, startWarren } from './targets.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'bench/out');
const IN_FLIGHT = 256;
const PREFETCH = 100;
/** A publish that no confirm answers for this long is a stall (a dead or fenced leader). */
const STALL_MS = 15000;
/** Failover is abandoned after this long without a confirm. */
const FAILOVER_LIMIT_MS = 60000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** User + system CPU ms of each process so far (null for one that is gone). */
function cpuSnapshot(pids) {
  return Object.fromEntries(Object.entries(pids).map(([k, pid]) => {
    const us = procCpuMicros(pid);
    return [k, us === null ? null : us / 1000];
  }));
}

function parseArgs(argv) {
  const o = { seconds: 5, rounds: 3, body: 1024, haTtlMs: 2000, root: ROOT, publishers: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--seconds') o.seconds = Number(val());
    else if (a === '--rounds') o.rounds = Number(val());
    else if (a === '--body') o.body = Number(val());
    else if (a === '--publishers') o.publishers = Number(val());
    else if (a === '--ha-ttl-ms') o.haTtlMs = Number(val());
    else if (a === '--warren-root') o.root = path.resolve(val());
    else if (a === '--only') o.only = new Set(val().split(','));
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  for (const k of ['seconds', 'rounds', 'haTtlMs', 'publishers']) if (!(o[k] > 0) || !Number.isFinite(o[k])) throw new Error(`--${k} must be a positive number`);
  if (!(o.body >= 0)) throw new Error('--body must be >= 0');
  return o;
}

async function quietConnect(url) {
  const conn = await amqp.connect(url, { timeout: 5000 });
  conn.on('error', () => {});
  return conn;
}

/**
 * Confirmed messages per second over `seconds` after a warm-up, from `o.publishers` publishers
 * (each with IN_FLIGHT confirms outstanding, on its own connection) and a consumer acking. The
 * queue is declared with `args` and deleted afterwards.
 */
async function measure(url, queue, args, o, pids = {}) {
  const pubConns = [];
  const subConn = await quietConnect(url);
  try {
    for (let i = 0; i < o.publishers; i++) pubConns.push(await quietConnect(url));
    const pubs = [];
    for (const c of pubConns) pubs.push(await c.createConfirmChannel());
    await pubs[0].assertQueue(queue, { durable: true, arguments: args });
    const sub = await subConn.createChannel();
    await sub.prefetch(PREFETCH);
    await sub.consume(queue, (m) => m && sub.ack(m));
    const body = Buffer.alloc(o.body, 0x61);
    const warmupMs = Math.min(1000, o.seconds * 200);
    const t0 = performance.now();
    const measureFrom = t0 + warmupMs;
    const end = measureFrom + o.seconds * 1000;
    let acked = 0;
    let failed = 0;
    let ackedAtStart = null;
    let cpuAtStart = null;
    let cpuAtEnd = null;
    let lastAck = performance.now();
    const publish = async (pub) => {
      let inFlight = 0;
      let wake = null;
      const onConfirm = (err) => {
        inFlight--;
        if (err) failed++;
        else acked++;
        lastAck = performance.now();
        const w = wake;
        wake = null;
        w?.();
      };
      while (performance.now() < end) {
        if (ackedAtStart === null && performance.now() >= measureFrom) {
          ackedAtStart = acked;
          cpuAtStart = cpuSnapshot({ ...pids, client: process.pid });
        }
        if (inFlight >= IN_FLIGHT) {
          await new Promise((r) => {
            const t = setTimeout(r, 100);
            wake = () => (clearTimeout(t), r());
          });
          if (performance.now() - lastAck > STALL_MS) throw new Error(`no confirm for ${STALL_MS} ms`);
          continue;
        }
        inFlight++;
        if (!pub.sendToQueue(queue, body, { persistent: true }, onConfirm)) await new Promise((r) => pub.once('drain', r));
      }
    };
    await Promise.all(pubs.map(publish));
    cpuAtEnd = cpuSnapshot({ ...pids, client: process.pid });
    const confirmed = acked - (ackedAtStart ?? 0);
    const rate = confirmed / o.seconds;
    /** CPU ms per 1,000 confirmed messages, by process. */
    const cpu = {};
    if (cpuAtStart !== null && confirmed > 0) {
      for (const k of Object.keys(cpuAtEnd)) {
        const a = cpuAtStart[k];
        const b = cpuAtEnd[k];
        if (a !== null && b !== null) cpu[k] = ((b - a) * 1000) / confirmed;
      }
    }
    await Promise.race([Promise.all(pubs.map((p) => p.waitForConfirms().catch(() => {}))), sleep(STALL_MS)]);
    await sub.close().catch(() => {});
    await pubs[0].deleteQueue(queue).catch(() => {});
    return { rate, failed, cpu };
  } finally {
    for (const c of pubConns) await c.close().catch(() => {});
    await subConn.close().catch(() => {});
  }
}

/**
 * Publishes in batches of 20 with confirms through the host list, moving to the next host on any
 * failure; SIGKILLs `leader` after a second of load and returns the ms from the kill to the first
 * confirm of a batch sent after it.
 */
async function failover(ports, leader, queue) {
  let stopped = false;
  let killAt = Infinity;
  let firstAfter = null;
  const run = async () => {
    let idx = 0;
    while (!stopped) {
      let conn = null;
      try {
        // A 1 s heartbeat, as an HA client should have: a leader that stops answering (frozen, or its
        // host gone without a reset) is left after two silent intervals instead of STALL_MS.
        conn = await quietConnect(`amqp://guest:guest@127.0.0.1:${ports[idx++ % ports.length]}?heartbeat=1`);
        const ch = await conn.createConfirmChannel();
        ch.on('error', () => {});
        await ch.assertQueue(queue, { durable: true });
        while (!stopped) {
          const sent = performance.now();
          const acks = Array.from({ length: 20 }, () => new Promise((res, rej) => ch.sendToQueue(queue, Buffer.from('x'), { persistent: true }, (err) => (err ? rej(err) : res()))));
          let timer;
          await Promise.race([Promise.all(acks), new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('stalled')), STALL_MS)))]).finally(() => clearTimeout(timer));
          if (sent >= killAt && firstAfter === null) {
            firstAfter = performance.now();
            stopped = true;
          }
        }
        await ch.deleteQueue(queue).catch(() => {});
      } catch {
        await sleep(50);
      } finally {
        if (conn) await Promise.race([conn.close().catch(() => {}), sleep(1000)]);
      }
    }
  };
  const load = run();
  await sleep(1000);
  killAt = performance.now();
  leader.child.kill('SIGKILL');
  const limit = sleep(FAILOVER_LIMIT_MS).then(() => (stopped = true));
  await Promise.race([load, limit]);
  stopped = true;
  await load;
  return firstAfter === null ? null : firstAfter - killAt;
}

function fmtRate(v) {
  return Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a';
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(0, 10).join('\n'));
    return;
  }
  fs.mkdirSync(OUT, { recursive: true });
  const id = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const logFile = path.join(OUT, `ha-confirm-${id}-warren.log`);
  const cleanup = [];
  const stopAll = async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  const names = ['warren', 'warren HA', 'RabbitMQ classic', 'RabbitMQ quorum'];
  const KEYS = { warren: 'warren', 'warren HA': 'ha', 'RabbitMQ classic': 'classic', 'RabbitMQ quorum': 'quorum' };
  const wanted = (k) => o.only === undefined || o.only.has(k);
  const needRabbit = wanted('classic') || wanted('quorum');
  const rates = Object.fromEntries(names.map((n) => [n, []]));
  const cpus = Object.fromEntries(names.map((n) => [n, []]));
  const errors = [];
  const failovers = [];
  try {
    const rabbit = needRabbit ? await startRabbit({ root: ROOT }) : null;
    if (rabbit !== null) cleanup.push(() => rabbit.stop());
    const warren = await startWarren({ root: o.root, sync: 'always', nodeArgs: [], logFile, extraArgs: ['--no-management-port'] });
    cleanup.push(() => warren.stop());
    const nats = await startNats(3);
    cleanup.push(() => nats.stop());
    for (let round = 1; round <= o.rounds; round++) {
      // A group of its own per round: a fresh stream, so neither node has a log to catch up on.
      const group = `bench-${process.pid}-r${round}`;
      const leader = await startHaWarren({ root: o.root, natsUrls: nats.urls, group, ttlMs: o.haTtlMs, name: `${group}-a`, expect: 'leader', logFile });
      const standby = await startHaWarren({ root: o.root, natsUrls: nats.urls, group, ttlMs: o.haTtlMs, name: `${group}-b`, expect: 'standby', logFile }).catch(async (e) => {
        await leader.stop('SIGKILL');
        throw e;
      });
      try {
        const natsPids = Object.fromEntries(nats.nodes.map((x) => [`nats ${x.name}`, x.child?.pid]));
        const rabbitPids = rabbit?.pid ? { RabbitMQ: rabbit.pid } : {};
        const plan = {
          warren: [warren.url, {}, { warren: warren.pid }],
          'warren HA': [`amqp://guest:guest@127.0.0.1:${leader.port}`, {}, { 'HA leader': leader.child?.pid, 'HA standby': standby.child?.pid, ...natsPids }],
          'RabbitMQ classic': [rabbit?.url, { 'x-queue-type': 'classic' }, rabbitPids],
          'RabbitMQ quorum': [rabbit?.url, { 'x-queue-type': 'quorum' }, rabbitPids],
        };
        const order = round % 2 === 1 ? names : [...names].reverse();
        for (const n of order) {
          if (!wanted(KEYS[n])) continue;
          const queue = `bench.ha-confirm.${n.replace(/\W+/g, '-')}.${process.pid}.${round}`;
          process.stderr.write(`round ${round}: ${n} ...`);
          try {
            const r = await measure(plan[n][0], queue, plan[n][1], o, plan[n][2]);
            rates[n].push(r.rate);
            cpus[n].push(r.cpu);
            process.stderr.write(` ${fmtRate(r.rate)} msg/s${r.failed ? ` (${r.failed} nacked)` : ''}\n`);
          } catch (e) {
            errors.push(`round ${round} ${n}: ${e.message}`);
            process.stderr.write(` FAILED ${e.message}\n`);
          }
        }
        if (!wanted('failover')) continue;
        process.stderr.write(`round ${round}: failover ...`);
        const ms = await failover([leader.port, standby.port], leader, `bench.ha-failover.${process.pid}.${round}`);
        const after = await haRole(standby);
        if (ms === null) errors.push(`round ${round} failover: no confirm within ${FAILOVER_LIMIT_MS / 1000} s (standby is ${after})`);
        else failovers.push(ms);
        process.stderr.write(ms === null ? ' FAILED\n' : ` ${Math.round(ms)} ms (standby now ${after})\n`);
      } finally {
        await leader.stop('SIGKILL');
        await standby.stop();
      }
    }
  } finally {
    await stopAll();
  }

  const rows = names.map((n) => {
    const m = median(rates[n]);
    return `| ${n} | ${fmtRate(m)} | ${rates[n].map(fmtRate).join(', ') || 'n/a'} |`;
  });
  const fo = median(failovers);
  const table = [
    `confirm-persistent, ${o.body} B bodies, ${o.publishers} publisher(s) with ${IN_FLIGHT} confirms in flight each, consumer acking; ${o.rounds} round(s) of ${o.seconds} s`,
    '',
    '| target | confirmed msg/s (median) | rounds |',
    '|---|---|---|',
    ...rows,
    `| failover (SIGKILL leader → first new confirm, --ha-ttl-ms ${o.haTtlMs}) | ${fo === null ? 'n/a' : `${Math.round(fo)} ms`} | ${failovers.map((x) => `${Math.round(x)} ms`).join(', ') || 'n/a'} |`,
  ].join('\n');
  const cpuRows = names
    .filter((n) => cpus[n].length > 0)
    .map((n) => {
      const procs = [...new Set(cpus[n].flatMap((c) => Object.keys(c)))];
      const med = procs.map((k) => [k, median(cpus[n].map((c) => c[k]).filter((v) => v !== undefined))]);
      const total = med.reduce((a, [, v]) => a + (v ?? 0), 0);
      return `| ${n} | ${med.map(([k, v]) => `${k} ${v === null ? 'n/a' : Math.round(v)}`).join(', ')} | ${Math.round(total)} |`;
    });
  const cpuTable = cpuRows.length === 0 ? '' : ['', 'CPU ms per 1,000 confirmed messages (user + system, median of rounds; "client" is this process: publishers and consumer)', '', '| target | by process | total |', '|---|---|---|', ...cpuRows].join('\n');
  const m = Object.fromEntries(names.map((n) => [n, median(rates[n])]));
  const pct = m.warren ? `${Math.round((100 * m['warren HA']) / m.warren)} % of single` : 'n/a';
  const summary = `warren ${fmtRate(m.warren)} msg/s, warren HA ${fmtRate(m['warren HA'])} (${pct}), RabbitMQ classic ${fmtRate(m['RabbitMQ classic'])}, quorum ${fmtRate(m['RabbitMQ quorum'])}; failover ${fo === null ? 'n/a' : `${Math.round(fo)} ms`}`;
  const text = `${table}\n${cpuTable}\n\n${summary}\n${errors.length ? `\nerrors:\n${errors.map((e) => `- ${e}`).join('\n')}\n` : ''}`;
  fs.writeFileSync(path.join(OUT, `ha-confirm-${id}.md`), text);
  console.log(`\n${text}`);
  if (errors.length) process.exitCode = 1;
}

// Every process it started is stopped by then; a client library's lingering handle must not keep
// the run open after its results are printed.
main().then(
  () => process.exit(),
  (e) => {
    console.error(e.message);
    process.exit(1);
  },
);
