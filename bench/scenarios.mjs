// The benchmark scenarios. Each declares its metrics (unit, which direction is better, and the
// speed target as a warren/RabbitMQ ratio) and a run(ctx) that returns { metrics, cpu, extra }.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadCpu } from './context.mjs';
import { cpuMeter } from './proc-stats.mjs';

const MiB = 1024 * 1024;
const BOTH = ['raw', 'amqplib'];
/**
 * Publishers pause while more than this many messages are unconsumed, so pub/sub scenarios
 * measure a sustainable rate instead of a queue growing without bound. 50,000 covers the
 * 10 ms progress relay at rates of millions of msg/s; big bodies are capped at 64 MiB in queues.
 * --backlog N overrides the count. 50,000 stays below warren's paging threshold (131,072
 * ready messages per queue, Config.pageAfterMessages), so pub/sub rounds measure the in-memory path.
 */
const BACKLOG_MESSAGES = 50000;
const BACKLOG_BYTES = 64 * MiB;
/** Consumers report their count to the parent this often (ms). */
const PROGRESS_MS = 10;
/** Transient scenarios aim at 2x RabbitMQ's rate (the project's speed target). */
const TRANSIENT = { ratio: 2, cmp: '>=' };
/** warren pages a queue's ready messages beyond this many, or beyond this many bytes of bodies (src/broker/queue/queue.ts). */
const WARREN_PAGE_COUNT = 131072;
const WARREN_PAGE_BYTES = 128 * MiB;
/** Deep queue: RSS is read this long after the last message was drained. */
const DRAINED_SETTLE_MS = 2000;
/** Deep queue: RSS is sampled this often while filling, for the peak. */
const RSS_SAMPLE_MS = 100;
const msgRate = { key: 'rate', unit: 'msg/s', better: 'higher', target: TRANSIENT };

function cpuOf(m) {
  return { broker: m.brokerCpu, load: loadCpu(m.workers) };
}

/** Samples the broker's RSS until stop(), which returns the highest value seen. */
function rssPeak(ctx) {
  let max = ctx.rss();
  const timer = setInterval(() => {
    const r = ctx.rss();
    if (r !== null && (max === null || r > max)) max = r;
  }, RSS_SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      const r = ctx.rss();
      return r !== null && (max === null || r > max) ? r : max;
    },
  };
}

/** Bytes of the files under a directory (allocated size, as du counts), or null if it is unreadable. */
function dirBytes(dir) {
  try {
    let total = 0;
    for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (e.isFile()) total += fs.statSync(path.join(e.parentPath ?? e.path, e.name)).blocks * 512;
    }
    return total;
  } catch {
    return null;
  }
}

/** One publisher process and one consumer process over `queues` queues or a fanout exchange. */
async function pubsub(ctx, p) {
  const { bodySize = 16, noAck = true, prefetch = 0, durable = false, confirmWindow = 0, fanout = 0, queues = 1 } = p;
  const names = [];
  let exchange = '';
  if (fanout) {
    exchange = ctx.name('fanout');
    await ctx.declareExchange(exchange, 'fanout');
  }
  for (let i = 0; i < (fanout || queues); i++) {
    const q = ctx.name(`q${i}`);
    await ctx.declareQueue(q, { durable });
    if (fanout) await ctx.bindQueue(q, exchange, '');
    names.push(q);
  }
  const backlog = Math.min(ctx.opts.backlog ?? BACKLOG_MESSAGES, Math.floor(BACKLOG_BYTES / bodySize));
  const cons = await ctx.spawn({ kind: 'consume', queues: names, noAck, prefetch, progressMs: PROGRESS_MS }, 'consumer');
  const pub = await ctx.spawn(
    { kind: 'publish', exchange, routingKeys: fanout ? [''] : names, bodySize, persistent: durable, confirmWindow, backlog, fanout },
    'publisher',
  );
  const m = await ctx.measure({ consumers: [cons], publishers: [pub] });
  const [c, pb] = m.workers;
  return {
    delivered: c.rate.consumed,
    published: pb.rate.published,
    confirmed: pb.rate.confirmed,
    mbps: c.rate.bytes / MiB,
    cpu: cpuOf(m),
  };
}

function throughput(name, description, p, extraMetrics = []) {
  return {
    name,
    description,
    clients: BOTH,
    metrics: [msgRate, ...extraMetrics],
    async run(ctx) {
      const r = await pubsub(ctx, p);
      return {
        metrics: { rate: r.delivered, mbps: r.mbps },
        cpu: r.cpu,
        extra: { publishedPerSec: r.published, deliveredPerSec: r.delivered },
      };
    },
  };
}

const mbps = { key: 'mbps', unit: 'MiB/s', better: 'higher', target: TRANSIENT };

export const SCENARIOS = [
  {
    name: 'publish-only',
    description: '16 B messages, no consumer; accepted rate from the final queue depth (passive declare)',
    clients: BOTH,
    metrics: [msgRate],
    async run(ctx) {
      const q = ctx.name('q');
      await ctx.declareQueue(q);
      const pub = await ctx.spawn({ kind: 'publish', exchange: '', routingKeys: [q], bodySize: 16 }, 'publisher');
      const m = await ctx.measure({ publishers: [pub] });
      const settled = await ctx.settleDepth(q);
      const accepted = settled.depth / ((settled.at - m.tGo) / 1000);
      return {
        metrics: { rate: accepted },
        cpu: cpuOf(m),
        extra: { depth: settled.depth, sentPerSec: m.workers[0].rate.published, settleTimedOut: !!settled.timedOut },
      };
    },
  },
  throughput('pubsub-noack', '16 B, one publisher, one no-ack consumer', {}),
  throughput('pubsub-ack', '16 B, consumer with manual ack and prefetch 100', { noAck: false, prefetch: 100 }),
  {
    name: 'confirm-persistent',
    description: 'durable queue, delivery-mode 2, 256 confirms in flight, consumer acking (prefetch 100)',
    clients: BOTH,
    metrics: [{ key: 'rate', unit: 'confirms/s', better: 'higher', target: { ratio: 1.5, cmp: '>=' } }],
    async run(ctx) {
      const r = await pubsub(ctx, { durable: true, confirmWindow: 256, noAck: false, prefetch: 100 });
      return {
        metrics: { rate: r.confirmed },
        cpu: r.cpu,
        extra: { publishedPerSec: r.published, deliveredPerSec: r.delivered },
      };
    },
  },
  throughput('fanout-4', '16 B to a fanout exchange bound to 4 queues; rate counts deliveries', { fanout: 4 }),
  throughput('body-1k', '1 KiB bodies, no-ack consumer', { bodySize: 1024 }, [mbps]),
  throughput('body-64k', '64 KiB bodies, no-ack consumer', { bodySize: 65536 }, [mbps]),
  throughput('queues-200', '16 B round-robin over 200 queues, one consumer on all of them', { queues: 200 }),
  {
    name: 'idle-connections',
    description: 'N idle connections with one channel each: broker RSS growth per connection',
    clients: ['raw'],
    freshBroker: true,
    metrics: [{ key: 'kibPerConn', unit: 'KiB/conn', better: 'lower', target: { ratio: 0.5, cmp: '<=' } }],
    async run(ctx) {
      const n = ctx.opts.connections;
      const rss0 = ctx.rss();
      const w = await ctx.spawn({ kind: 'idle', connections: n, concurrency: 20 }, 'connector');
      await w.request({ cmd: 'go' }, 'going');
      const mark0 = await w.request({ cmd: 'mark' }, 'mark');
      await w.waitFor('reached', 180000);
      await ctx.sleep(1000);
      const rss1 = ctx.rss();
      const mark1 = await w.request({ cmd: 'mark' }, 'mark');
      const fin = await w.request({ cmd: 'stop' }, 'stopped', 180000);
      const opened = mark1.counters.opened;
      return {
        metrics: { kibPerConn: rss0 && rss1 && opened ? (rss1 - rss0) / 1024 / opened : null },
        cpu: { broker: null, load: { connector: null } },
        extra: {
          opened,
          failed: fin.extra.failed,
          firstError: fin.extra.firstError,
          connectPerSec: opened / ((mark1.counters.setupMs ?? mark1.at - mark0.at) / 1000),
          rssBeforeMiB: rss0 / MiB,
          rssAfterMiB: rss1 / MiB,
        },
      };
    },
  },
  {
    name: 'deep-queue',
    description: 'publish N messages (16 B, or --deep-body) into one queue with no consumer, then drain them with a no-ack consumer',
    clients: ['raw'],
    freshBroker: true,
    metrics: [
      { key: 'rssMiB', unit: 'MiB RSS growth', better: 'lower', target: { ratio: 0.5, cmp: '<=' } },
      { key: 'drain', unit: 'msg/s drained', better: 'higher', target: TRANSIENT },
    ],
    async run(ctx) {
      const n = ctx.opts.deepCount;
      const bodySize = ctx.opts.deepBody;
      const q = ctx.name('q');
      await ctx.declareQueue(q);
      const rss0 = ctx.rss();
      const peak = rssPeak(ctx);
      const pub = await ctx.spawn({ kind: 'publish', exchange: '', routingKeys: [q], bodySize, count: n }, 'publisher');
      const t0 = performance.now();
      await pub.request({ cmd: 'go' }, 'going');
      // A bounded fill: past the limit the publisher stops and the depth it reached is drained.
      const fillLimited = await pub.waitFor('reached', ctx.opts.deepFillLimit * 1000).then(
        () => false,
        (e) => {
          if (pub.error) throw e;
          return true;
        },
      );
      if (fillLimited) await pub.request({ cmd: 'stop' }, 'stopped');
      const full = await ctx.settleDepth(q, fillLimited ? -1 : n);
      const rss1 = ctx.rss();
      const peakFill = peak.stop();
      const spillBytes = ctx.target.dataDir ? dirBytes(path.join(ctx.target.dataDir, 'spill')) : null;
      if (!fillLimited) await pub.request({ cmd: 'stop' }, 'stopped');
      const cons = await ctx.spawn({ kind: 'consume', queues: [q], noAck: true, expect: full.depth }, 'consumer');
      const m0 = await cons.request({ cmd: 'mark' }, 'mark');
      const tDrain = performance.now();
      const meter = ctx.target.pid ? cpuMeter(ctx.target.pid) : () => null;
      await cons.request({ cmd: 'go' }, 'going');
      const done = await cons.waitFor('reached', 600000);
      const drainSecs = (performance.now() - tDrain) / 1000;
      const brokerCpu = meter();
      const consCpu = (100 * (done.cpu.user + done.cpu.system - m0.cpu.user - m0.cpu.system)) / ((done.at - m0.at) * 1000);
      await ctx.sleep(DRAINED_SETTLE_MS);
      const rss2 = ctx.rss();
      await cons.request({ cmd: 'stop' }, 'stopped');
      const mib = (b) => (b === null ? null : b / MiB);
      return {
        metrics: { rssMiB: rss0 && rss1 ? (rss1 - rss0) / MiB : null, drain: full.depth / drainSecs },
        cpu: { broker: brokerCpu, load: { 'consumer (raw)': consCpu } },
        extra: {
          count: n,
          bodySize,
          depth: full.depth,
          fillSecs: (full.at - t0) / 1000,
          fillPerSec: full.depth / ((full.at - t0) / 1000),
          fillLimited,
          fillTimedOut: !!full.timedOut,
          drainSecs,
          bytesPerMessage: rss0 && rss1 ? (rss1 - rss0) / full.depth : null,
          rssBeforeMiB: mib(rss0),
          rssFullMiB: mib(rss1),
          rssPeakFillMiB: mib(peakFill),
          rssDrainedMiB: mib(rss2),
          // warren only: its queue keeps min(131,072, 128 MiB of bodies) ready messages in memory
          // and pages the rest (queue.ts); the spill store's size on disk corroborates it.
          pagedExpected: ctx.target.name === 'warren' ? Math.max(0, full.depth - Math.min(WARREN_PAGE_COUNT, Math.ceil(WARREN_PAGE_BYTES / Math.max(1, bodySize)))) : null,
          spillMiB: mib(spillBytes),
        },
      };
    },
  },
  {
    name: 'latency-1k',
    description: '16 B at a fixed 1,000 msg/s, publisher and consumer in one process; end-to-end latency',
    clients: BOTH,
    metrics: ['p50', 'p95', 'p99'].map((k) => ({
      key: k,
      unit: `ms ${k}`,
      better: 'lower',
      target: k === 'p99' ? { ratio: 1, cmp: '<=' } : null,
    })),
    async run(ctx) {
      const q = ctx.name('q');
      await ctx.declareQueue(q);
      const maxSeconds = ctx.opts.seconds + ctx.opts.warmupMs / 1000 + 10;
      const probe = await ctx.spawn({ kind: 'latency', queue: q, rate: 1000, bodySize: 16, maxSeconds }, 'probe');
      const m = await ctx.measure({ publishers: [probe] });
      const lat = m.workers[0].extra;
      return {
        metrics: { p50: lat.p50, p95: lat.p95, p99: lat.p99 },
        cpu: cpuOf(m),
        extra: { samples: lat.samples, max: lat.max, deliveredPerSec: m.workers[0].rate.consumed },
      };
    },
  },
];
