// Deep-queue memory and drain rate of warren alone, without the full harness (bench/run.mjs).
// Usage: npm run build && node bench/deep-queue-memory.mjs [count=1000000] [bodySize=16] [--persistent] [--ttl=ms]
//
// Forks a child that runs startBroker (dist/) on port 0 with a fresh data dir and answers memory
// probes (after a full GC) over IPC; this process publishes `count` messages into one queue with
// the raw-frame client, waits until they are all in, probes, drains them with a no-ack consumer
// (timing it), waits a moment and probes again. Prints one JSON line.
// WARREN_NODE_ARGS adds node flags for the broker child (e.g. "--cpu-prof --cpu-prof-dir=bench/out").
// WARREN_HEAP_SNAPSHOT=file makes the child write a heap snapshot there when the queue is full.
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { publishBytes } from './amqp-frames.mjs';
import { RawConnection } from './raw-client.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
/** Publishes are written in batches of this many bytes; the publisher waits for 'drain' between them. */
const BATCH_BYTES = 256 * 1024;

if (process.argv[2] === '--child') {
  const { startBroker } = await import(pathToFileURL(path.join(here, '..', 'dist', 'index.js')).href);
  const dataDir = process.argv[3];
  const b = await startBroker({ port: 0, host: '127.0.0.1', dataDir, logLevel: 'warn' });
  let peak = 0;
  setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20).unref();
  process.on('message', async (msg) => {
    if (msg.cmd === 'mem') {
      for (let i = 0; i < 3; i++) globalThis.gc?.();
      const m = process.memoryUsage();
      if (msg.snapshot && process.env.WARREN_HEAP_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.WARREN_HEAP_SNAPSHOT);
      process.send({ type: 'mem', rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, external: m.external, peak });
      peak = m.rss;
    } else if (msg.cmd === 'stop') {
      void b.close().then(() => process.exit(0));
    }
  });
  process.send({ type: 'ready', port: b.port });
} else {
  const args = process.argv.slice(2);
  const count = Number(args.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
  const bodySize = Number(args.filter((a) => /^\d+$/.test(a))[1] ?? 16);
  const persistent = args.includes('--persistent');
  const ttlArg = args.find((a) => a.startsWith('--ttl='));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-deep-'));
  const child = fork(fileURLToPath(import.meta.url), ['--child', dataDir], {
    execArgv: ['--expose-gc', ...(process.env.WARREN_NODE_ARGS ?? '').split(' ').filter(Boolean)],
  });
  const waitMsg = (type) => new Promise((r) => child.once('message', (m) => (m.type === type ? r(m) : r(waitMsg(type)))));
  const { port } = await waitMsg('ready');
  const mem = async (snapshot = false) => {
    child.send({ cmd: 'mem', snapshot });
    const m = await waitMsg('mem');
    return { rssMiB: m.rss / MiB, heapMiB: m.heapUsed / MiB, arrayBuffersMiB: m.arrayBuffers / MiB, peakRssMiB: m.peak / MiB };
  };
  const url = `amqp://guest:guest@127.0.0.1:${port}/`;
  const conn = await RawConnection.connect(url);
  const ch = await conn.openChannel();
  const q = 'deep';
  const qargs = ttlArg ? { 'x-message-ttl': Number(ttlArg.slice(6)) } : {};
  await ch.declareQueue(q, { durable: persistent, args: qargs });
  const m0 = await mem();

  const one = publishBytes(ch.id, '', q, Buffer.alloc(bodySize, 0x61), { persistent, frameMax: conn.frameMax }).bytes;
  const per = Math.max(1, Math.floor(BATCH_BYTES / one.length));
  const batch = Buffer.concat(new Array(per).fill(one));
  const t0 = performance.now();
  let sent = 0;
  await new Promise((resolve) => {
    const pump = () => {
      while (sent < count) {
        const k = Math.min(per, count - sent);
        sent += k;
        if (!conn.write(k === per ? batch : batch.subarray(0, k * one.length))) {
          conn.socket.once('drain', pump);
          return;
        }
      }
      resolve();
    };
    pump();
  });
  for (;;) {
    const { messageCount } = await ch.declareQueue(q, { passive: true });
    if (messageCount >= count) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const fillSecs = (performance.now() - t0) / 1000;
  const m1 = await mem(true);

  const cons = await RawConnection.connect(url);
  const cch = await cons.openChannel();
  let got = 0;
  const t1 = performance.now();
  await new Promise((resolve) => {
    cch.onMessage = () => {
      if (++got === count) resolve();
    };
    void cch.consume(q, { noAck: true });
  });
  const drainSecs = (performance.now() - t1) / 1000;
  await new Promise((r) => setTimeout(r, 500));
  const m2 = await mem();
  await cons.close();
  await conn.close();
  child.send({ cmd: 'stop' });
  await new Promise((r) => child.once('exit', r));
  fs.rmSync(dataDir, { recursive: true, force: true });
  const r1 = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 10) / 10]));
  console.log(
    JSON.stringify({
      count,
      bodySize,
      persistent,
      fillPerSec: Math.round(count / fillSecs),
      drainPerSec: Math.round(count / drainSecs),
      bytesPerMsg: Math.round((((m1.rssMiB - m0.rssMiB) * MiB) / count) * 10) / 10,
      empty: r1(m0),
      full: r1(m1),
      drained: r1(m2),
    }),
  );
}
