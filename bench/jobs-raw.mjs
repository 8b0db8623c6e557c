// Load jobs built on the raw-frame client: pre-encoded publishing (optionally with a confirm
// window), consuming with coalesced acks, a fixed-rate latency probe and idle connections.
// Each job factory returns { go(), mark()?, stop() } for load-worker.mjs.
import { performance } from 'node:perf_hooks';
import { publishBytes } from './amqp-frames.mjs';
import { RawConnection } from './raw-client.mjs';
import { percentiles } from './stats.mjs';

/** Publishes are written in batches of at least this many bytes (one write per batch). */
const BATCH_BYTES = 64 * 1024;
/** Batches written per event-loop turn before yielding, so IPC and acks are still read. */
const BATCHES_PER_TURN = 32;
/** Confirm tags are tracked in a ring this large; it must exceed the confirm window. */
const CONFIRM_RING = 1 << 16;
/** Latency probe: the most messages sent in one timer tick after a stall (no catch-up burst). */
const MAX_CATCH_UP = 100;
/** Closing a connection may wait this long for close-ok before the socket is destroyed. */
const CLOSE_WAIT_MS = 2000;

function closeSoon(conn) {
  return Promise.race([conn.close(), new Promise((r) => setTimeout(r, CLOSE_WAIT_MS))]).finally(() => conn.socket.destroy());
}

async function publisher(job, counters, reached) {
  const conn = await RawConnection.connect(job.url);
  const ch = await conn.openChannel();
  if (job.confirmWindow) await ch.confirmSelect();
  const body = Buffer.alloc(job.bodySize, 0x61);
  const msgs = job.routingKeys.map(
    (k) => publishBytes(ch.id, job.exchange, k, body, { persistent: job.persistent, frameMax: conn.frameMax }).bytes,
  );
  // Whole cycles over the routing keys, so every queue gets the same share.
  const parts = [];
  let size = 0;
  do {
    for (const m of msgs) {
      parts.push(m);
      size += m.length;
    }
  } while (size < BATCH_BYTES);
  const batch = Buffer.concat(parts);
  const batchCount = parts.length;
  let running = false;
  // Backlog bound (see context.mjs): stop while more than job.backlog messages are unconsumed.
  let consumed = 0;
  let paused = false;
  const overBacklog = () => job.backlog > 0 && counters.published - consumed / (job.fanout || 1) >= job.backlog;

  const pump = () => {
    for (let i = 0; i < BATCHES_PER_TURN && running; i++) {
      if (overBacklog()) {
        paused = true;
        return;
      }
      let buf = batch;
      let k = batchCount;
      if (job.count) {
        const left = job.count - counters.published;
        if (left <= 0) {
          running = false;
          reached('published');
          return;
        }
        if (left < k) {
          buf = Buffer.concat(parts.slice(0, left));
          k = left;
        }
      }
      counters.published += k;
      if (!conn.write(buf)) {
        conn.socket.once('drain', pump);
        return;
      }
    }
    if (running) setImmediate(pump);
  };

  // Publisher confirms: keep `confirmWindow` messages unconfirmed, topping up on each ack.
  const window = job.confirmWindow;
  const one = msgs[0];
  const windowBytes = window ? Buffer.concat(new Array(window).fill(one)) : null;
  const ring = new Uint8Array(CONFIRM_RING);
  let low = 1; // lowest delivery tag not yet confirmed
  const topUp = () => {
    const k = window - (counters.published - (low - 1));
    if (k <= 0) return;
    if (overBacklog()) {
      paused = true;
      return;
    }
    counters.published += k;
    conn.write(windowBytes.subarray(0, k * one.length));
  };
  ch.onConfirm = (tag, multiple, nack) => {
    if (multiple) for (let t = low; t <= tag; t++) ring[t & (CONFIRM_RING - 1)] = 1;
    else ring[tag & (CONFIRM_RING - 1)] = 1;
    let n = 0;
    while (low <= counters.published && ring[low & (CONFIRM_RING - 1)] === 1) {
      ring[low & (CONFIRM_RING - 1)] = 0;
      low++;
      n++;
    }
    if (nack) counters.nacked += n;
    else counters.confirmed += n;
    if (running) topUp();
  };

  return {
    go() {
      running = true;
      if (window) topUp();
      else pump();
    },
    credit(n) {
      consumed = n;
      if (paused && running && !overBacklog()) {
        paused = false;
        if (window) topUp();
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
  const conn = await RawConnection.connect(job.url);
  const ch = await conn.openChannel();
  if (!job.noAck && job.prefetch) await ch.qos(job.prefetch);
  ch.onMessage = (tag, first, size) => {
    counters.consumed++;
    counters.bytes += size;
    if (job.expect && counters.consumed === job.expect) reached('consumed');
  };
  return {
    async go() {
      for (const q of job.queues) await ch.consume(q, { noAck: job.noAck });
    },
    async stop() {
      await closeSoon(conn);
      return {};
    },
  };
}

async function latency(job, counters) {
  const pub = await RawConnection.connect(job.url);
  const pch = await pub.openChannel();
  const con = await RawConnection.connect(job.url);
  const cch = await con.openChannel();
  const samples = new Float64Array(Math.ceil(job.rate * job.maxSeconds) + 1000);
  let n = 0;
  cch.onMessage = (tag, first) => {
    counters.consumed++;
    if (first && first.length >= 8 && n < samples.length) samples[n++] = performance.now() - first.readDoubleLE(0);
  };
  await cch.consume(job.queue, { noAck: true });
  const { bytes: template, bodyOffset } = publishBytes(pch.id, '', job.queue, Buffer.alloc(job.bodySize));
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
      const b = Buffer.from(template);
      b.writeDoubleLE(performance.now(), bodyOffset);
      pub.write(b);
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
            const c = await RawConnection.connect(job.url);
            conns.push(c);
            await c.openChannel();
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

export function rawJob(job, counters, reached) {
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
