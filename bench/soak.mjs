// Soak test: runs warren (from dist/) for a bounded time under a mixed load of steady clients and
// hostile ones, samples its RSS, fds, CPU, connections and latency every second, prints a table,
// writes the series as JSON lines, and ends with a verdict (exit 1 if it fails). See bench/README.md.
//
//   node bench/soak.mjs [--minutes N | --seconds N | --short] [--every S] [--rate N] [--pace F]
//                       [--max-rtt MS] [--rss-growth MIB] [--rss-growth-pct P] [--fd-growth N]
//                       [--warmup S] [--sync MODE] [--warren-root DIR] [--out FILE]
//                       [--skip churn,crash,garbage,abandon,half-close]
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { procCpuMicros, procRssBytes } from './proc-stats.mjs';
import { closeConnection, sleep, withTimeout } from './soak/actor.mjs';
import { procFdCount, scrapeMetrics, startWarren, stopWarren } from './soak/broker.mjs';
import { startBystander } from './soak/bystander.mjs';
import { formatVerdict, tableHeader, tableRow, verdict } from './soak/report.mjs';
import { setupTopology } from './soak/steady.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORKER = fileURLToPath(new URL('./soak/worker.mjs', import.meta.url));
const SAMPLE_MS = 1000;
const SHORT_SECONDS = 30;
const STOP_TIMEOUT_MS = 120000;
/** Time the broker gets to notice the last clients are gone before the idle fd reading. */
const SETTLE_MS = 3000;

function parseArgs(argv) {
  const o = {
    seconds: 300,
    every: 10,
    rate: 100,
    pace: 1,
    maxRtt: 500,
    rssGrowthMiB: 32,
    rssGrowthPct: 20,
    fdGrowth: 25,
    idleFdSlack: 10,
    warmup: null,
    sync: null,
    root: ROOT,
    out: null,
    skip: [],
  };
  const num = (i) => {
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${argv[i]} needs a number`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--minutes') o.seconds = num(i++) * 60;
    else if (a === '--seconds') o.seconds = num(i++);
    else if (a === '--short') (o.seconds = SHORT_SECONDS), (o.every = 5);
    else if (a === '--every') o.every = num(i++);
    else if (a === '--rate') o.rate = num(i++);
    else if (a === '--pace') o.pace = Math.max(0.01, num(i++));
    else if (a === '--max-rtt') o.maxRtt = num(i++);
    else if (a === '--rss-growth') o.rssGrowthMiB = num(i++);
    else if (a === '--rss-growth-pct') o.rssGrowthPct = num(i++);
    else if (a === '--fd-growth') o.fdGrowth = num(i++);
    else if (a === '--warmup') o.warmup = num(i++);
    else if (a === '--sync') o.sync = argv[++i];
    else if (a === '--skip') o.skip = argv[++i].split(',').filter((k) => k !== '');
    else if (a === '--warren-root') o.root = path.resolve(argv[++i]);
    else if (a === '--out') o.out = path.resolve(argv[++i]);
    else if (a === '--help' || a === '-h') {
      process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(0, 8).join('\n') + '\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  // Warm-up: 20 % of the run, between 5 and 60 s; growth is judged only after it.
  if (o.warmup === null) o.warmup = Math.min(60, Math.max(5, Math.round(o.seconds * 0.2)));
  return o;
}

class LoadProcess {
  constructor(role) {
    this.role = role;
    this.counters = null;
    this.errors = [];
    this.final = null;
    this.exited = false;
    this.child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.waiters = new Map();
    this.child.on('message', (m) => {
      if (m.counters) this.counters = m.counters;
      if (m.errors) this.errors = m.errors;
      const w = this.waiters.get(m.type);
      if (w) (this.waiters.delete(m.type), w(m));
      if (m.type === 'failed') {
        this.final = m;
        for (const [, fn] of this.waiters) fn(m);
        this.waiters.clear();
      }
    });
    this.child.on('exit', () => {
      this.exited = true;
      for (const [, fn] of this.waiters) fn(null);
      this.waiters.clear();
    });
  }

  request(msg, reply, timeoutMs) {
    if (this.exited) return Promise.resolve(null);
    const p = new Promise((resolve) => this.waiters.set(reply, resolve));
    this.child.send(msg);
    return withTimeout(p, timeoutMs, null);
  }

  kill() {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

const counterOf = (lp) => lp.counters || {};

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const outDir = path.join(ROOT, 'bench/out');
  fs.mkdirSync(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const seriesFile = o.out || path.join(outDir, `soak-${stamp}.jsonl`);
  const logFile = path.join(outDir, `soak-${stamp}.broker.log`);
  fs.mkdirSync(path.dirname(seriesFile), { recursive: true });
  const series = fs.openSync(seriesFile, 'w');

  const broker = await startWarren({ root: o.root, logFile, sync: o.sync });
  process.stdout.write(
    `soak: warren pid ${broker.pid} on 127.0.0.1:${broker.port} (metrics :${broker.metricsPort}), ${o.seconds} s, warm-up ${o.warmup} s, ` +
      `${o.rate} msg/s per publisher, chaos pace ${o.pace}${o.skip.length ? ` (skipping ${o.skip.join(', ')})` : ''}\nseries: ${seriesFile}\nbroker log: ${logFile}\n`,
  );
  const cleanup = [];
  let interrupted = false;
  process.on('SIGINT', () => {
    interrupted = true;
  });

  let exitCode = 1;
  try {
    await setupTopology(broker.url);
    await sleep(500);
    const baselineFds = procFdCount(broker.pid);

    const bystanderErrors = [];
    const bystander = startBystander(broker.url, (who, message) => bystanderErrors.push({ at: Date.now(), who, message }));
    cleanup.push(() => bystander.stop());
    const steady = new LoadProcess('steady');
    const chaos = new LoadProcess('chaos');
    cleanup.push(() => (steady.kill(), chaos.kill()));
    const started = await Promise.all([
      steady.request({ cmd: 'start', role: 'steady', url: broker.url, rate: o.rate }, 'started', 30000),
      chaos.request({ cmd: 'start', role: 'chaos', url: broker.url, port: broker.port, pace: o.pace, skip: o.skip }, 'started', 30000),
    ]);
    if (started.includes(null)) throw new Error('a load process did not start');

    const selfLag = monitorEventLoopDelay({ resolution: 10 });
    selfLag.enable();
    const samples = [];
    const t0 = performance.now();
    let cpuPrev = procCpuMicros(broker.pid);
    let wallPrev = performance.now();
    let lastRow = null;
    let heldOverLimitMax = 0;
    let heldOverLimitKinds = {};
    process.stdout.write(tableHeader() + '\n');
    while (!interrupted && !broker.exited) {
      const elapsed = (performance.now() - t0) / 1000;
      if (elapsed >= o.seconds) break;
      await sleep(SAMPLE_MS - ((performance.now() - t0) % SAMPLE_MS));
      const now = performance.now();
      const cpu = procCpuMicros(broker.pid);
      const metrics = await scrapeMetrics(broker.metricsPort);
      const b = bystander.take();
      // The lag metric may be a gauge, a summary (quantile labels) or carry a _max series.
      const lag = metrics
        ? (metrics.warren_event_loop_lag_seconds ?? metrics['warren_event_loop_lag_seconds:max_quantile'] ?? metrics.warren_event_loop_lag_seconds_max ?? null)
        : null;
      const chaosC = counterOf(chaos);
      if ((chaosC.heldOverLimit ?? 0) > heldOverLimitMax) {
        heldOverLimitMax = chaosC.heldOverLimit;
        heldOverLimitKinds = chaosC.heldOverLimitByKind;
      }
      const sample = {
        t: Math.round((now - t0) / 100) / 10,
        at: new Date().toISOString(),
        rss: procRssBytes(broker.pid),
        fds: procFdCount(broker.pid),
        cpuPct: cpu !== null && cpuPrev !== null ? (100 * (cpu - cpuPrev)) / ((now - wallPrev) * 1000) : null,
        connections: metrics ? (metrics.warren_connections ?? null) : null,
        lagMs: lag === null ? null : lag * 1000,
        ready: metrics ? (metrics.warren_queue_messages_ready ?? null) : null,
        paged: metrics ? (metrics.warren_queue_messages_paged ?? null) : null,
        rtt: { n: b.rtts.length, max: Math.max(b.inFlight, ...b.rtts, 0), all: b.rtts.map((x) => Math.round(x * 100) / 100) },
        connectMs: b.connects,
        selfLagMs: selfLag.max / 1e6,
        steady: { errors: 0, ...counterOf(steady) },
        chaos: { errors: 0, ...chaosC },
        bystanderErrors: bystanderErrors.length,
      };
      selfLag.reset();
      cpuPrev = cpu;
      wallPrev = now;
      samples.push(sample);
      fs.writeSync(series, JSON.stringify(sample) + '\n');
      const due = Math.floor(sample.t / o.every) > Math.floor((lastRow ? lastRow.t : 0) / o.every);
      if (due) {
        const window = samples.filter((s) => s.t > (lastRow ? lastRow.t : -1));
        process.stdout.write(tableRow(window, lastRow) + '\n');
        lastRow = sample;
      }
      if (steady.exited || chaos.exited) {
        process.stdout.write(`a load process exited early (${steady.exited ? 'steady' : 'chaos'})\n`);
        break;
      }
    }

    // Wind down: hostile clients first (their unacked deliveries go back to the queues), then the
    // steady clients, whose drain settles the ledger.
    process.stdout.write('stopping the load...\n');
    const chaosEnd = await chaos.request({ cmd: 'stop' }, 'stopped', STOP_TIMEOUT_MS);
    const steadyEnd = await steady.request({ cmd: 'stop' }, 'stopped', STOP_TIMEOUT_MS);
    await sleep(SETTLE_MS);
    const idleFds = procFdCount(broker.pid);
    const idleMetrics = await scrapeMetrics(broker.metricsPort);

    // Alive: the process exists, the bystander still gets round trips, a fresh client can connect.
    let aliveDetail = '';
    let alive = !broker.exited;
    if (!alive) aliveDetail = `exited (code ${broker.exitCode}, signal ${broker.exitSignal}); see ${logFile}`;
    else {
      const rtOk = await bystander.check(10000);
      let fresh = false;
      try {
        const c = await withTimeout(amqp.connect(broker.url), 10000, null);
        if (c) {
          c.on('error', () => {});
          fresh = true;
          await closeConnection(c);
        }
      } catch {
        fresh = false;
      }
      alive = rtOk && fresh;
      aliveDetail = `process running, bystander round trip ${rtOk ? 'ok' : 'FAILED'}, new connection ${fresh ? 'ok' : 'FAILED'}`;
    }
    await bystander.stop();
    cleanup.length = 0;
    cleanup.push(() => (steady.kill(), chaos.kill()));

    const steadyC = (steadyEnd && steadyEnd.counters) || counterOf(steady);
    const chaosC = (chaosEnd && chaosEnd.counters) || counterOf(chaos);
    const steadyErrors = (steadyEnd && steadyEnd.errors) || steady.errors;
    const allErrors = [
      ...steadyErrors.map((e) => ({ ...e, from: 'steady' })),
      ...((chaosEnd && chaosEnd.errors) || chaos.errors).map((e) => ({ ...e, from: 'chaos' })),
      ...bystanderErrors.map((e) => ({ ...e, from: 'bystander' })),
    ];
    const end = {
      alive,
      aliveDetail,
      steadyResult: steadyEnd ? steadyEnd.result : null,
      steadyErrors: (steadyC.errors ?? 0) + bystanderErrors.length,
      steadyErrorSample: [...steadyErrors, ...bystanderErrors].slice(0, 3).map((e) => `${e.who}: ${e.message}`).join('; '),
      baselineFds,
      idleFds,
      idleConnections: idleMetrics ? idleMetrics.warren_connections : null,
      internalErrors: chaosC.internalErrors ?? 0,
      garbage: chaosC.garbage ?? 0,
      heldOverLimitMax,
      heldOverLimitKinds: JSON.stringify(heldOverLimitKinds),
    };
    const v = verdict(samples, end, {
      warmupS: o.warmup,
      maxRttMs: o.maxRtt,
      rssGrowthMiB: o.rssGrowthMiB,
      rssGrowthPct: o.rssGrowthPct,
      fdGrowth: o.fdGrowth,
      idleFdSlack: o.idleFdSlack,
    });
    const summary = {
      summary: true,
      options: o,
      end,
      steady: steadyC,
      chaos: chaosC,
      errors: allErrors.slice(0, 40),
      verdict: v,
    };
    fs.writeSync(series, JSON.stringify(summary) + '\n');
    const totals =
      `totals: published ${steadyC.published}, confirmed ${steadyC.confirmed} (nacked ${steadyC.confirmNacked}), acked ${steadyC.acked}, ` +
      `nack-requeued ${steadyC.nackedRequeue}, basic.get ${steadyC.gets}; churned connections ${chaosC.churnConnects}, ` +
      `crashed ${chaosC.crashes}, garbage ${chaosC.garbage}, abandoned ${chaosC.abandonedConns} conns / ${chaosC.abandonedChannels} channels, ` +
      `half-closed/silent ${chaosC.halfClosed} (broker dropped ${chaosC.brokerDropped})`;
    const outcomes = Object.entries(chaosC.garbageOutcomes || {})
      .sort()
      .map(([k, n]) => `${k}=${n}`)
      .join(' ');
    process.stdout.write(`${totals}\ngarbage answers (kind:reply): ${outcomes}\n`);
    const repeats = (steadyEnd && steadyEnd.result && steadyEnd.result.repeats) || [];
    for (const r of repeats.slice(0, 5)) {
      process.stdout.write(`consumed twice: ${r.key}: first ${JSON.stringify(r.first)}, again ${JSON.stringify(r.again)}\n`);
    }
    if (allErrors.length) {
      process.stdout.write(`client errors (first ${Math.min(8, allErrors.length)}):\n`);
      for (const e of allErrors.slice(0, 8)) process.stdout.write(`  ${e.from} ${e.who}: ${e.message}\n`);
    }
    process.stdout.write(formatVerdict(v) + `\nseries: ${seriesFile}\n`);
    exitCode = v.ok ? 0 : 1;
  } finally {
    for (const f of cleanup.reverse()) await Promise.resolve(f()).catch(() => {});
    const stillRunning = !broker.exited;
    await stopWarren(broker);
    if (stillRunning && broker.exitSignal === 'SIGKILL') process.stdout.write('warren did not stop on SIGTERM and was killed\n');
    fs.closeSync(series);
  }
  process.exit(exitCode);
}

main().catch((e) => {
  process.stderr.write(`soak: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
