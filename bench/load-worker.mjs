// A load process (started with child_process.fork by run.mjs): runs one publisher, consumer,
// latency probe or idle-connection job with either the raw-frame client or amqplib, and answers
// the parent's IPC commands: setup -> ready, go -> going, mark -> counters + own CPU, stop -> final report.
import { performance } from 'node:perf_hooks';
import { rawJob } from './jobs-raw.mjs';
import { amqplibJob } from './jobs-amqplib.mjs';

/** Every worker exits on its own if the parent never stops it (a bound on a lost run). */
const ORPHAN_LIMIT_MS = 30 * 60 * 1000;

const counters = { published: 0, confirmed: 0, nacked: 0, consumed: 0, bytes: 0, opened: 0 };
let job = null;
let runner = null;

function send(msg) {
  if (process.send) process.send(msg);
}

function snapshot() {
  return { counters: { ...counters }, cpu: process.cpuUsage(), at: performance.now() };
}

/** Tells the parent when a consumer or bounded publisher reaches its target count. */
function reached(what) {
  send({ type: 'reached', what, ...snapshot() });
}

async function handle(msg) {
  try {
    if (msg.cmd === 'setup') {
      job = msg.job;
      const make = job.client === 'amqplib' ? amqplibJob : rawJob;
      runner = await make(job, counters, reached);
      if (job.progressMs) setInterval(() => send({ type: 'progress', consumed: counters.consumed }), job.progressMs).unref();
      send({ type: 'ready' });
    } else if (msg.cmd === 'go') {
      await runner.go();
      send({ type: 'going' });
    } else if (msg.cmd === 'credit') {
      if (runner.credit) runner.credit(msg.consumed);
    } else if (msg.cmd === 'mark') {
      if (runner.mark) runner.mark();
      send({ type: 'mark', ...snapshot() });
    } else if (msg.cmd === 'stop') {
      const extra = runner ? await runner.stop() : {};
      send({ type: 'stopped', ...snapshot(), extra });
      setTimeout(() => process.exit(0), 50);
    }
  } catch (e) {
    send({ type: 'error', message: e && e.stack ? e.stack : String(e) });
    setTimeout(() => process.exit(1), 50);
  }
}

process.on('message', (msg) => void handle(msg));
process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', (e) => {
  send({ type: 'error', message: e && e.stack ? e.stack : String(e) });
  setTimeout(() => process.exit(1), 50);
});
setTimeout(() => process.exit(2), ORPHAN_LIMIT_MS).unref();
