// The same load jobs as jobs-raw.mjs, written the way an application uses amqplib: publish
// until the channel asks to wait for 'drain', one callback per confirm, one ack per message.
import { performance } from 'node:perf_hooks';
import amqp from 'amqplib';
import { percentiles } from './stats.mjs';

/** Publishes per event-loop turn before yielding, so IPC and socket reads still run. */
const PUBLISHES_PER_TURN = 1000;
/** Latency probe: the most messages sent in one timer tick after a stall. */
const MAX_CATCH_UP = 100;
const CLOSE_WAIT_MS = 2000;

function closeSoon(conn) {
  return Promise.race([conn.close().catch(() => {}), new Promise((r) => setTimeout(r, CLOSE_WAIT_MS))]);
}

async function connect(url) {
  const conn = await amqp.connect(url);
  conn.on('error', () => {}); // reported through failed operations instead
  return conn;
}

async function publisher(job, counters, reached) {
  const conn = await connect(job.url);
  const ch = job.confirmWindow ? await conn.createConfirmChannel() : await conn.createChannel();
  ch.on('error', () => {});
  const body = Buffer.alloc(job.bodySize, 0x61);
  const opts = { persistent: job.persistent };
  const keys = job.routingKeys;
  let idx = 0;
  let running = false;
  let consumed = 0;
  let paused = false;
  const overBacklog = () => job.backlog > 0 && counters.published - consumed / (job.fanout || 1) >= job.backlog;

  const pump = () => {
    for (let i = 0; i < PUBLISHES_PER_TURN && running; i++) {
      if (overBacklog()) {
        paused = true;
        return;
      }
      if (job.count && counters.published >= job.count) {
        running = false;
        reached('published');
        return;
      }
      const ok = ch.publish(job.exchange, keys[idx++ % keys.length], body, opts);
      counters.published++;
      if (!ok) {
        ch.once('drain', pump);
        return;
      }
    }
    if (running) setImmediate(pump);
  };

  let inflight = 0;
  const onConfirm = (err) => {
    inflight--;
    if (err) counters.nacked++;
    else counters.confirmed++;
    if (running) topUp();
  };
  const topUp = () => {
    while (inflight < job.confirmWindow) {
      if (overBacklog()) {
        paused = true;
        return;
      }
      inflight++;
      counters.published++;
      ch.publish(job.exchange, keys[idx++ % keys.length], body, opts, onConfirm);
    }
  };

  return {
    go() {
      running = true;
      if (job.confirmWindow) topUp();
      else pump();
    },
    credit(n) {
      consumed = n;
      if (paused && running && !overBacklog()) {
        paused = false;
        if (job.confirmWindow) topUp();
        else pump();
      }
    },
    async stop() {
      running = false;
      await closeSoon(conn);
      return {};
    },
  };
}

async function consumer(job, counters, reached) {
  const conn = await connect(job.url);
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  if (!job.noAck && job.prefetch) await ch.prefetch(job.prefetch);
  const onMessage = (msg) => {
    if (msg === null) return;
    counters.consumed++;
    counters.bytes += msg.content.length;
    if (!job.noAck) ch.ack(msg);
    if (job.expect && counters.consumed === job.expect) reached('consumed');
  };
  return {
    async go() {
      for (const q of job.queues) await ch.consume(q, onMessage, { noAck: job.noAck });
    },
    async stop() {
      await closeSoon(conn);
      return {};
    },
  };
}

async function latency(job, counters) {
  const pub = await connect(job.url);
  const pch = await pub.createChannel();
  const con = await connect(job.url);
  const cch = await con.createChannel();
  const samples = new Float64Array(Math.ceil(job.rate * job.maxSeconds) + 1000);
  let n = 0;
  await cch.consume(
    job.queue,
    (msg) => {
      if (msg === null) return;
      counters.consumed++;
      if (msg.content.length >= 8 && n < samples.length) samples[n++] = performance.now() - msg.content.readDoubleLE(0);
    },
    { noAck: true },
  );
  let timer = null;
  let t0 = 0;
  let sent = 0;
  let marked = false;
  const tick = () => {
    let due = Math.floor(((performance.now() - t0) * job.rate) / 1000) - sent;
    if (due > MAX_CATCH_UP) {
      sent += due - MAX_CATCH_UP;
      due = MAX_CATCH_UP;
    }
    for (let i = 0; i < due; i++) {
      const body = Buffer.alloc(job.bodySize);
      body.writeDoubleLE(performance.now(), 0);
      pch.publish('', job.queue, body);
      sent++;
      counters.published++;
    }
  };
  return {
    go() {
      t0 = performance.now();
      timer = setInterval(tick, 1);
    },
    mark() {
      // Samples count from the first mark (the end of the warm-up) on.
      if (!marked) n = 0;
      marked = true;
    },
    async stop() {
      clearInterval(timer);
      const result = percentiles(samples.subarray(0, n));
      await Promise.all([closeSoon(pub), closeSoon(con)]);
      return result;
    },
  };
}

async function idle(job, counters, reached) {
  const conns = [];
  let failed = 0;
  let firstError = '';
  return {
    async go() {
      const t0 = performance.now();
      let next = 0;
      const lane = async () => {
        // Stop at the first failure: the broker's limit is the finding, and waiting out a
        // handshake timeout per remaining connection would only stretch the run.
        while (next < job.connections && failed === 0) {
          next++;
          try {
            const c = await connect(job.url);
            conns.push(c);
            await c.createChannel();
            counters.opened++;
          } catch (e) {
            failed++;
            firstError ||= e.message;
          }
        }
      };
      void Promise.all(Array.from({ length: job.concurrency }, lane)).then(() => {
        counters.setupMs = performance.now() - t0;
        reached('opened');
      });
    },
    async stop() {
      for (let i = 0; i < conns.length; i += 100) await Promise.all(conns.slice(i, i + 100).map(closeSoon));
      return { failed, firstError, setupMs: counters.setupMs };
    },
  };
}

export function amqplibJob(job, counters, reached) {
  switch (job.kind) {
    case 'publish':
      return publisher(job, counters, reached);
    case 'consume':
      return consumer(job, counters, reached);
    case 'latency':
      return latency(job, counters, reached);
    case 'idle':
      return idle(job, counters, reached);
    default:
      throw new Error(`unknown job kind ${job.kind}`);
  }
}
