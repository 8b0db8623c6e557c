// A Prometheus scrape of many queues must not stall the broker. Starts warren (a built dist/)
// with the metrics listener, declares --queues transient queues, then measures a bystander's
// AMQP round trip (publish one message to its own queue, receive it; one at a time, back to back)
// while idle and while /metrics/per-object and /metrics are scraped (by curl, in its own process), and reports the scrape times
// and the bystander's latency percentiles for each window.
//
//   node bench/metrics-scrape.mjs [--queues 100000] [--scrapes 3] [--warren-root DIR]
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { publishBytes } from './amqp-frames.mjs';
import { RawConnection } from './raw-client.mjs';
import { freePort, startWarren } from './targets.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const opt = { queues: 100000, scrapes: 3, root: ROOT };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--queues') opt.queues = Number(process.argv[++i]);
  else if (a === '--scrapes') opt.scrapes = Number(process.argv[++i]);
  else if (a === '--warren-root') opt.root = path.resolve(process.argv[++i]);
  else throw new Error(`unknown argument ${a}`);
}

const metricsPort = await freePort();
const logFile = path.join(os.tmpdir(), `warren-metrics-scrape-${process.pid}.log`);
const target = await startWarren({ root: opt.root, sync: 'off', nodeArgs: [], logFile, extraArgs: ['--metrics-port', String(metricsPort)] });
try {
  const admin = await RawConnection.connect(target.url);
  const ch = await admin.openChannel();
  const t0 = performance.now();
  const inFlight = [];
  for (let i = 0; i < opt.queues; i++) {
    inFlight.push(ch.declareQueue(`scrape-q-${i}`));
    if (inFlight.length === 2000) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
  console.log(`declared ${opt.queues} queues in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // The bystander: a ping-pong through its own queue, one message in flight.
  const by = await RawConnection.connect(target.url);
  const bch = await by.openChannel();
  await bch.declareQueue('bystander');
  let sentAt = 0;
  let onPong = null;
  bch.onMessage = () => onPong?.();
  await bch.consume('bystander', { noAck: true });
  const ping = publishBytes(bch.id, '', 'bystander', Buffer.from('ping')).bytes;
  const pingOnce = () =>
    new Promise((resolve) => {
      onPong = () => resolve(performance.now() - sentAt);
      sentAt = performance.now();
      by.write(ping);
    });
  /** Round trips back to back until `until()` is true; returns their times in ms. */
  const measure = async (until) => {
    const rtts = [];
    while (!until()) rtts.push(await pingOnce());
    return rtts;
  };
  const pct = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
  };
  const row = (label, rtts, extra = '') =>
    console.log(`${label.padEnd(22)} n=${String(rtts.length).padStart(6)}  p50 ${pct(rtts, 50).toFixed(2)} ms  p99 ${pct(rtts, 99).toFixed(2)} ms  max ${Math.max(...rtts).toFixed(1)} ms${extra}`);

  const idleEnd = performance.now() + 3000;
  row('idle (3 s)', await measure(() => performance.now() > idleEnd));
  for (const p of ['/metrics/per-object', '/metrics']) {
    for (let s = 0; s < opt.scrapes; s++) {
      let done = false;
      let bytes = 0;
      const start = performance.now();
      // curl in its own process: reading 100 MB here would stall this process's bystander, not the broker.
      const scrape = new Promise((resolve, reject) =>
        execFile('curl', ['-sS', '-o', '/dev/null', '-w', '%{size_download}', `http://127.0.0.1:${metricsPort}${p}`], (err, out) => {
          done = true;
          if (err) return reject(err);
          bytes = Number(out);
          resolve(performance.now() - start);
        }),
      );
      const rtts = await measure(() => done);
      const ms = await scrape;
      row(`${p} #${s + 1}`, rtts, `   scrape ${(ms / 1000).toFixed(2)} s, ${(bytes / 1e6).toFixed(1)} MB`);
    }
  }
  await by.close();
  await admin.close();
} finally {
  await target.stop();
  fs.rmSync(logFile, { force: true });
}
