// The steady half of the load: one publisher per route (confirms on some, persistent and
// transient bodies of mixed sizes), one consumer per queue (manual acks, some multiple, some
// nacks with requeue), a basic.get poller, and the final drain that settles the ledger.
import amqp from 'amqplib';
import { Actor, closeConnection, sleep, withTimeout } from './actor.mjs';
import { Ledger } from './ledger.mjs';
import { DEAD_QUEUE, GET_QUEUES, ROUTES, allQueues, declareTopology } from './topology.mjs';

const TICK_MS = 20;
/** A publisher pauses while this many of its messages are published but not yet consumed. */
const BACKLOG_LIMIT = 3000;
const PREFETCH = 100;
/** Acks are sent with `multiple` once this many deliveries are waiting (or after ACK_DELAY_MS). */
const ACK_BATCH = 8;
const ACK_DELAY_MS = 50;
const NACK_RATE = 0.02;
const CONFIRM_WAIT_MS = 15000;
/** The final drain gives up after this long without finding an outstanding id. */
const DRAIN_IDLE_MS = 15000;

const MAX_BODY = 256 * 1024;
const BODY = Buffer.alloc(MAX_BODY, 0x62);

/** Mostly small bodies, some of a few KiB, a few that span several frames. */
function bodySize() {
  const r = Math.random();
  if (r < 0.7) return 16 + Math.floor(Math.random() * 500);
  if (r < 0.96) return 1024 + Math.floor(Math.random() * 15 * 1024);
  return 64 * 1024 + Math.floor(Math.random() * (MAX_BODY - 64 * 1024));
}

export function startSteady({ url, rate }, counters, onError) {
  const ledger = new Ledger(ROUTES);
  const perRoute = new Map(ROUTES.map((r) => [r.name, { published: 0, consumedCopies: 0 }]));
  const actors = { publishers: [], consumers: [] };

  const recordConsumed = (q, msg, via) => {
    const id = msg.properties.messageId;
    ledger.consume(q, id, { via, tag: msg.fields.deliveryTag, redelivered: msg.fields.redelivered });
    counters.consumed++;
    const route = typeof id === 'string' ? perRoute.get(id.slice(0, id.indexOf('.'))) : undefined;
    if (route) route.consumedCopies++;
  };

  for (const route of ROUTES) {
    const routeRate = route.name === 'ttl' ? rate / 4 : rate;
    const stats = perRoute.get(route.name);
    actors.publishers.push(
      new Actor(url, `publisher ${route.name}`, async (conn, actor) => {
        const ch = route.confirm ? await conn.createConfirmChannel() : await conn.createChannel();
        ch.on('error', () => {});
        ch.on('close', () => actor.lose(`publisher ${route.name}: channel closed by the broker`));
        let credit = 0;
        let waitingDrain = false;
        const tick = () => {
          if (waitingDrain) return;
          const backlog = route.noConsumer ? 0 : stats.published - stats.consumedCopies / route.queues.length;
          if (backlog > BACKLOG_LIMIT) {
            counters.pausedTicks++;
            return;
          }
          credit += (routeRate * TICK_MS) / 1000;
          for (; credit >= 1; credit--) {
            const seq = ++stats.published;
            const id = `${route.name}.${seq}`;
            const opts = { persistent: route.persistent, messageId: id, headers: route.headers };
            const body = BODY.subarray(0, bodySize());
            let ok;
            if (route.confirm) {
              ok = ch.publish(route.exchange, route.key, body, opts, (err) => {
                if (err) counters.confirmNacked++;
                else {
                  counters.confirmed++;
                  ledger.confirm(route, id);
                }
              });
            } else ok = ch.publish(route.exchange, route.key, body, opts);
            counters.published++;
            if (!ok) {
              waitingDrain = true;
              ch.once('drain', () => (waitingDrain = false));
              credit = 0;
              return;
            }
          }
        };
        const timer = setInterval(tick, TICK_MS);
        conn.once('close', () => clearInterval(timer));
        actor.beforeClose = async () => {
          clearInterval(timer);
          if (route.confirm) await withTimeout(ch.waitForConfirms().catch(() => {}), CONFIRM_WAIT_MS);
        };
      }, onError),
    );
  }

  for (const q of allQueues()) {
    if (q === 'soak.q.ttl') continue; // drained by expiry into the dead-letter queue
    if (GET_QUEUES.has(q)) {
      actors.consumers.push(new Actor(url, `getter ${q}`, (conn, actor) => getter(conn, actor, q, recordConsumed, counters), onError));
    } else {
      actors.consumers.push(new Actor(url, `consumer ${q}`, (conn, actor) => consumer(conn, actor, q, recordConsumed, counters), onError));
    }
  }

  return {
    ledger,
    /** Publishers stop first and wait for their confirms, then consumers (unacked requeue), then the drain. */
    async stopPublishers() {
      await Promise.all(actors.publishers.map((a) => a.stop()));
    },
    async stopConsumers() {
      await Promise.all(actors.consumers.map((a) => a.stop()));
    },
    drain: () => drain(url, ledger, recordConsumed),
  };
}

export async function setupTopology(url) {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  await declareTopology(ch);
  await closeConnection(conn);
}

async function consumer(conn, actor, q, recordConsumed, counters) {
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  ch.on('close', () => actor.lose(`consumer ${q}: channel closed by the broker`));
  await ch.prefetch(PREFETCH);
  let batch = [];
  let timer = null;
  const flush = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (batch.length === 0) return;
    const last = batch[batch.length - 1];
    ch.ack(last, true);
    for (const m of batch) recordConsumed(q, m, `consumer (multiple ack up to ${last.fields.deliveryTag})`);
    counters.acked += batch.length;
    batch = [];
  };
  await ch.consume(
    q,
    (msg) => {
      if (msg === null) return actor.lose(`consumer ${q}: cancelled by the broker`);
      if (q !== DEAD_QUEUE && Math.random() < NACK_RATE) {
        ch.nack(msg, false, true);
        counters.nackedRequeue++;
        return;
      }
      batch.push(msg);
      if (batch.length >= ACK_BATCH) flush();
      else if (timer === null) timer = setTimeout(flush, ACK_DELAY_MS);
    },
    { noAck: false },
  );
  // amqplib writes each channel's frames through its own buffer, so an ack sent just before
  // connection.close can reach the broker after it (and be lost); closing the channel first keeps
  // the order, since channel.close follows the ack on the same channel.
  actor.beforeClose = async () => {
    flush();
    await withTimeout(ch.close().catch(() => {}), 5000);
  };
}

async function getter(conn, actor, q, recordConsumed, counters) {
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  ch.on('close', () => actor.lose(`getter ${q}: channel closed by the broker`));
  let running = true;
  conn.once('close', () => (running = false));
  const loop = async () => {
    while (running && !actor.stopping) {
      let msg;
      try {
        msg = await ch.get(q, { noAck: false });
      } catch {
        return;
      }
      counters.gets++;
      if (msg === false) {
        await sleep(25);
        continue;
      }
      if (Math.random() < NACK_RATE) {
        ch.nack(msg, false, true);
        counters.nackedRequeue++;
        continue;
      }
      ch.ack(msg);
      recordConsumed(q, msg, 'basic.get');
      counters.acked++;
    }
  };
  const done = loop();
  actor.beforeClose = async () => {
    running = false;
    await withTimeout(done, 5000);
    await withTimeout(ch.close().catch(() => {}), 5000); // see consumer(): the last ack goes first
  };
}

/** Takes everything left in every queue until each confirmed id is found (or nothing turns up for a while). */
async function drain(url, ledger, recordConsumed) {
  const conn = await amqp.connect(url);
  conn.on('error', () => {});
  const ch = await conn.createChannel();
  const left = {};
  let lastFound = Date.now();
  let drained = 0;
  while (ledger.outstanding() > 0 && Date.now() - lastFound < DRAIN_IDLE_MS) {
    let found = 0;
    for (const q of allQueues()) {
      for (;;) {
        const msg = await ch.get(q, { noAck: false });
        if (msg === false) break;
        const before = ledger.outstanding();
        recordConsumed(q, msg, 'final drain');
        ch.ack(msg);
        drained++;
        if (ledger.outstanding() < before) found++;
      }
    }
    if (found > 0) lastFound = Date.now();
    else await sleep(500);
  }
  for (const q of allQueues()) {
    const { messageCount, consumerCount } = await ch.checkQueue(q);
    left[q] = { messageCount, consumerCount };
  }
  await closeConnection(conn);
  return { drained, left };
}
