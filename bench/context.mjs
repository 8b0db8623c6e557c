// What a scenario runs with: a control channel on the target, declarations that are undone
// afterwards, load processes that are always ended, and a measured window (warm-up, two
// marks, stop) that yields per-process rates and CPU plus the broker's CPU from /proc.
import { performance } from 'node:perf_hooks';
import { cpuMeter, procRssBytes } from './proc-stats.mjs';
import { RawConnection } from './raw-client.mjs';
import { Worker, workerCpuPercent } from './workers.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Bound for polling a queue's depth until it stops changing. */
const DEPTH_SETTLE_LIMIT_MS = 60000;
const DEPTH_POLL_MS = 100;

export async function createContext({ target, client, scenario, opts, runId, onProgress }) {
  const conn = await RawConnection.connect(target.url);
  let ch = await conn.openChannel();
  const undo = [];
  const workers = [];
  const control = async () => {
    if (ch.closed) ch = await conn.openChannel();
    return ch;
  };

  const ctx = {
    target,
    client,
    opts,
    serverProperties: conn.serverProperties,
    name: (suffix) => `bench.${scenario}.${suffix}.${runId}`,

    async declareQueue(name, qopts = {}) {
      undo.push(async () => (await control()).deleteQueue(name));
      return (await control()).declareQueue(name, qopts);
    },
    async declareExchange(name, type, eopts = {}) {
      undo.push(async () => (await control()).deleteExchange(name));
      return (await control()).declareExchange(name, type, eopts);
    },
    async bindQueue(queue, exchange, key) {
      return (await control()).bindQueue(queue, exchange, key);
    },
    async depth(queue) {
      return (await (await control()).declareQueue(queue, { passive: true })).messageCount;
    },
    /** Polls the depth until it equals `want` or stops changing; returns { depth, at }. */
    async settleDepth(queue, want = -1) {
      const deadline = performance.now() + DEPTH_SETTLE_LIMIT_MS;
      let last = -1;
      let lastAt = performance.now();
      while (performance.now() < deadline) {
        const d = await ctx.depth(queue);
        const now = performance.now();
        if (d === want) return { depth: d, at: now };
        if (d !== last) {
          last = d;
          lastAt = now;
        } else if (want < 0 && now - lastAt >= 3 * DEPTH_POLL_MS) return { depth: d, at: lastAt };
        await sleep(DEPTH_POLL_MS);
      }
      return { depth: last, at: lastAt, timedOut: true };
    },
    rss: () => (target.pid ? procRssBytes(target.pid) : null),

    async spawn(job, label = job.kind) {
      const w = new Worker(`${label} (${client})`);
      workers.push(w);
      await w.request({ cmd: 'setup', job: { client, url: target.url, ...job } }, 'ready');
      return w;
    },

    /** Sleeps, reporting progress fractions of `ms` to the progress bar. */
    async sleep(ms) {
      const t0 = performance.now();
      while (performance.now() - t0 < ms) {
        await sleep(Math.min(250, ms - (performance.now() - t0)));
        onProgress(Math.min(1, (performance.now() - t0) / ms));
      }
    },

    /**
     * Starts consumers, then publishers/probes; discards a warm-up; measures `seconds` between
     * two marks; stops everyone. Returns per-worker counter rates, CPU and stop extras.
     */
    async measure({ consumers = [], publishers = [] }) {
      const all = [...consumers, ...publishers];
      // Backlog bound: consumers report what they consumed; publishers hear the total.
      const seen = consumers.map(() => 0);
      consumers.forEach((w, i) => {
        w.onProgress = (m) => {
          seen[i] = m.consumed;
          const total = seen.reduce((a, b) => a + b, 0);
          for (const p of publishers) p.post({ cmd: 'credit', consumed: total });
        };
      });
      for (const w of consumers) await w.request({ cmd: 'go' }, 'going');
      const tGo = performance.now();
      for (const w of publishers) await w.request({ cmd: 'go' }, 'going');
      await sleep(opts.warmupMs);
      const m0 = await Promise.all(all.map((w) => w.request({ cmd: 'mark' }, 'mark')));
      const broker = target.pid ? cpuMeter(target.pid) : () => null;
      await ctx.sleep(opts.seconds * 1000);
      const m1 = await Promise.all(all.map((w) => w.request({ cmd: 'mark' }, 'mark')));
      const brokerCpu = broker();
      const tStop = performance.now();
      const fin = await Promise.all(all.map((w) => w.request({ cmd: 'stop' }, 'stopped')));
      const per = all.map((w, i) => {
        const secs = (m1[i].at - m0[i].at) / 1000;
        const rate = {};
        for (const k of Object.keys(m1[i].counters)) rate[k] = (m1[i].counters[k] - m0[i].counters[k]) / secs;
        return { label: w.label, rate, cpu: workerCpuPercent(m0[i], m1[i]), extra: fin[i].extra, total: fin[i].counters };
      });
      return { workers: per, brokerCpu, tGo, tStop };
    },

    async close() {
      for (const w of workers) w.kill();
      for (const fn of undo.reverse()) {
        try {
          await fn();
        } catch {
          // best effort: a failed scenario may have lost the object already
        }
      }
      await Promise.race([conn.close(), sleep(3000)]);
      conn.socket.destroy();
    },
  };
  return ctx;
}

/** Summarises the load processes' CPU for the report: each process's % of one core. */
export function loadCpu(workers) {
  return Object.fromEntries(workers.map((w) => [w.label, w.cpu]));
}
