// Bystander latency while a queue does bulk work: a separate connection (in a worker thread, so
// this process's own client work cannot delay it) does a passive queue.declare every few ms and
// records each round trip, while
//   requeue: a consumer holding N unacked messages disconnects (and, second case, nacks them all
//            with requeue on a live channel);
//   consumers: C consumers exist on one queue (deliver rate of M messages through them), then
//            their channel closes (the broker removes all C at once).
//
//   node bench/requeue-lag.mjs [--url amqp://...] [--warren-root DIR] [--unacked N]
//                              [--consumers C] [--messages M] [--interval MS] [--only requeue|consumers]
//                              [--warren-node-args "--cpu-prof --cpu-prof-dir=bench/out"]
//
// Without --url, warren is started from DIR/dist (default: this checkout) on a free port, with
// bench/loop-lag-probe.mjs preloaded: each line then also gives the broker's own max event-loop lag.
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqplib from 'amqplib';
import { startWarren } from './targets.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const o = { url: '', root: path.join(here, '..'), unacked: 100_000, consumers: 100_000, messages: 20_000, interval: 5, only: '', nodeArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--url') o.url = v;
    else if (k === '--warren-root') o.root = path.resolve(v);
    else if (k === '--unacked') o.unacked = Number(v);
    else if (k === '--consumers') o.consumers = Number(v);
    else if (k === '--messages') o.messages = Number(v);
    else if (k === '--interval') o.interval = Number(v);
    else if (k === '--only') o.only = v;
    else if (k === '--warren-node-args') o.nodeArgs = v.split(' ').filter(Boolean);
    else throw new Error(`unknown argument ${k}`);
    i++;
  }
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Connect, retrying: a broker that stalled for seconds may have timed out a handshake meanwhile. */
async function connect(url) {
  for (let i = 0; ; i++) {
    try {
      return await amqplib.connect(url);
    } catch (e) {
      if (i === 4) throw e;
      await sleep(500);
    }
  }
}

/** The bystander: its own connection in a worker thread; windows of RTT samples on request. */
const BYSTANDER = `
const { parentPort, workerData } = require('node:worker_threads');
const amqplib = require(workerData.amqplib);
let samples = [];
let stop = false;
let errors = 0;
parentPort.on('message', (m) => {
  if (m === 'mark') { samples = []; errors = 0; }
  else if (m === 'take') { parentPort.postMessage({ samples, errors }); samples = []; errors = 0; }
  else if (m === 'stop') { stop = true; }
});
async function open() {
  const conn = await amqplib.connect(workerData.url);
  conn.on('error', () => {});
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  await ch.assertQueue(workerData.queue, { durable: false });
  return { conn, ch };
}
(async () => {
  let c = await open();
  parentPort.postMessage('ready');
  while (!stop) {
    const t0 = performance.now();
    try {
      await c.ch.checkQueue(workerData.queue);
    } catch {
      // A broker stalled long enough to drop the connection: the stall counts, then reconnect.
      errors++;
      for (;;) {
        try { c = await open(); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
      }
    }
    samples.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, workerData.interval));
  }
  await c.conn.close().catch(() => {});
  parentPort.postMessage('stopped');
})().catch((e) => { parentPort.postMessage({ error: String(e) }); });
`;

/** The broker's own event-loop lag, when it is a warren started here with bench/loop-lag-probe.mjs. */
const lag = { file: '', since: 0 };

/** Max event-loop delay the broker saw since the last mark, or NaN when not measured. */
function brokerLag() {
  if (lag.file === '' || !fs.existsSync(lag.file)) return NaN;
  let max = NaN;
  for (const l of fs.readFileSync(lag.file, 'utf8').split('\n')) {
    const [t, v] = l.split(' ').map(Number);
    if (t >= lag.since && !(v <= max)) max = v;
  }
  return max;
}

class Bystander {
  constructor(url, interval) {
    this.worker = new Worker(BYSTANDER, {
      eval: true,
      workerData: { url, interval, queue: 'bench.bystander', amqplib: fileURLToPath(import.meta.resolve('amqplib')) },
    });
    this.waiters = [];
    this.worker.on('message', (m) => {
      if (m && m.error) throw new Error(`bystander: ${m.error}`);
      const w = this.waiters.shift();
      if (w) w(m);
    });
  }
  next() {
    return new Promise((r) => this.waiters.push(r));
  }
  async ready() {
    await this.next();
  }
  mark() {
    lag.since = Date.now();
    this.worker.postMessage('mark');
  }
  async take() {
    const p = this.next();
    this.worker.postMessage('take');
    const { samples, errors } = await p;
    const r = summarise(samples);
    r.errors = errors;
    await sleep(150); // the probe's next line covers the end of the window
    r.lag = brokerLag();
    return r;
  }
  async stop() {
    const p = this.next();
    this.worker.postMessage('stop');
    await p;
    await this.worker.terminate();
  }
}

function summarise(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => (s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(p * s.length))]);
  return { n: s.length, p50: q(0.5), p99: q(0.99), max: s.length === 0 ? NaN : s[s.length - 1] };
}

const fmt = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const line = (what, r, extra = '') =>
  console.log(`${what.padEnd(44)} rtt n=${String(r.n).padStart(5)} p50=${fmt(r.p50)} ms p99=${fmt(r.p99)} ms max=${fmt(r.max)} ms | broker loop lag max=${fmt(r.lag)} ms | ${r.errors ? `bystander reconnected ${r.errors}x | ` : ''}${extra}`);

/** Wait until the queue holds `count` ready messages (polled on its own connection). */
async function waitDepth(url, queue, count, timeoutMs) {
  const conn = await connect(url);
  const ch = await conn.createChannel();
  const t0 = performance.now();
  try {
    for (;;) {
      const { messageCount } = await ch.checkQueue(queue);
      if (messageCount >= count) return performance.now() - t0;
      if (performance.now() - t0 > timeoutMs) return NaN;
      await sleep(20);
    }
  } finally {
    await conn.close();
  }
}

async function fill(url, queue, n) {
  const conn = await connect(url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { durable: false });
  await ch.purgeQueue(queue);
  const body = Buffer.alloc(16, 'x');
  for (let i = 0; i < n; i++) {
    if (!ch.sendToQueue(queue, body)) await new Promise((r) => ch.once('drain', r));
  }
  await ch.waitForConfirms();
  await conn.close();
}

/** A consumer that takes all n messages without acking; resolves once it holds them. */
async function holdUnacked(url, queue, n) {
  const conn = await connect(url);
  const ch = await conn.createChannel();
  let got = 0;
  let resolve = null;
  const done = new Promise((r) => (resolve = r));
  const { consumerTag } = await ch.consume(queue, () => {
    if (++got === n) resolve();
  });
  await done;
  return { conn, ch, consumerTag };
}

async function requeueCases(url, by, n) {
  const queue = 'bench.requeue';
  // 1. The consumer's connection closes with n unacked.
  await fill(url, queue, n);
  let holder = await holdUnacked(url, queue, n);
  await sleep(200);
  by.mark();
  const t0 = performance.now();
  await holder.conn.close();
  const back = await waitDepth(url, queue, n, 120_000);
  await sleep(300);
  line(`disconnect with ${n} unacked`, await by.take(), `all back after ${fmt(performance.now() - t0)} ms (poll ${fmt(back)})`);
  // 2. nack(all, requeue) on a live channel.
  holder = await holdUnacked(url, queue, n);
  await sleep(200);
  // Cancelled first, so the requeued messages stay in the queue.
  await holder.ch.cancel(holder.consumerTag);
  by.mark();
  const t1 = performance.now();
  holder.ch.nackAll(true);
  await waitDepth(url, queue, n, 120_000);
  await sleep(300);
  line(`nack(multiple, requeue) of ${n}`, await by.take(), `all back after ${fmt(performance.now() - t1)} ms`);
  await holder.conn.close().catch(() => undefined);
  const conn = await connect(url);
  const ch = await conn.createChannel();
  await ch.deleteQueue(queue);
  await conn.close();
}

/** Channels the consumers are spread over (amqplib has one RPC in flight per channel, so this pipelines consume). */
const CONSUMER_CHANNELS = 10;

async function consumerCases(url, by, c, m) {
  const queue = 'bench.many-consumers';
  const conn = await connect(url);
  const setup = await conn.createChannel();
  await setup.assertQueue(queue, { durable: false });
  await setup.purgeQueue(queue);
  const chans = [];
  for (let i = 0; i < CONSUMER_CHANNELS; i++) {
    const ch = await conn.createChannel();
    await ch.prefetch(10);
    chans.push(ch);
  }
  let received = 0;
  let allIn = null;
  by.mark();
  const tc = performance.now();
  await Promise.all(
    chans.map(async (ch, k) => {
      const onMessage = (msg) => {
        ch.ack(msg);
        if (++received === m && allIn) allIn();
      };
      const n = Math.floor(c / CONSUMER_CHANNELS) + (k < c % CONSUMER_CHANNELS ? 1 : 0);
      const pending = [];
      for (let i = 0; i < n; i++) {
        pending.push(ch.consume(queue, onMessage));
        if (pending.length === 1000) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending);
    }),
  );
  line(`declare ${c} consumers (${CONSUMER_CHANNELS} channels)`, await by.take(), `in ${fmt(performance.now() - tc)} ms`);
  // Deliver rate through them.
  const pub = await connect(url);
  const pch = await pub.createChannel();
  const body = Buffer.alloc(16, 'x');
  const done = new Promise((r) => (allIn = r));
  by.mark();
  const t0 = performance.now();
  for (let i = 0; i < m; i++) {
    if (!pch.sendToQueue(queue, body)) await new Promise((r) => pch.once('drain', r));
  }
  await done;
  const secs = (performance.now() - t0) / 1000;
  line(`deliver ${m} to ${c} consumers`, await by.take(), `${fmt(m / secs / 1000)}k msg/s`);
  // One channel closes: its consumers are removed at once.
  by.mark();
  const t1 = performance.now();
  await (chans.pop()).close();
  await pch.checkQueue(queue);
  await sleep(300);
  line(`close 1 channel with ${Math.floor(c / CONSUMER_CHANNELS)} consumers`, await by.take(), `close + next op ${fmt(performance.now() - t1)} ms`);
  // The connection closes: all the others go.
  by.mark();
  const t2 = performance.now();
  await conn.close();
  await pch.checkQueue(queue);
  await sleep(300);
  line(`close connection with the other consumers`, await by.take(), `close + next op ${fmt(performance.now() - t2)} ms`);
  await pch.deleteQueue(queue);
  await pub.close();
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  let url = o.url;
  let target = null;
  if (url === '') {
    lag.file = path.join(os.tmpdir(), `warren-lag-${process.pid}.txt`);
    fs.rmSync(lag.file, { force: true });
    process.env.WARREN_LAG_FILE = lag.file;
    const probe = ['--import', path.join(here, 'loop-lag-probe.mjs')];
    target = await startWarren({ root: o.root, sync: 'batch', nodeArgs: [...probe, ...o.nodeArgs], logFile: '/dev/null' });
    url = target.url;
  }
  console.log(`# ${o.url === '' ? `warren from ${o.root}` : url}, bystander passive declare every ${o.interval} ms, ${new Date().toISOString()}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  const by = new Bystander(url, o.interval);
  try {
    await by.ready();
    await sleep(200);
    line('idle', await by.take());
    if (o.only !== 'consumers') await requeueCases(url, by, o.unacked);
    if (o.only !== 'requeue') await consumerCases(url, by, o.consumers, o.messages);
  } finally {
    await by.stop();
    if (target) await target.stop();
    if (lag.file !== '') fs.rmSync(lag.file, { force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
