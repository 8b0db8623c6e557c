// A soak load process (forked by soak.mjs): runs the steady or the chaos half of the load, posts
// its counters every second, and on 'stop' winds down (steady: publishers and their confirms,
// then consumers, then the drain that settles the ledger) and reports.
import { startChaos } from './chaos.mjs';
import { startSteady } from './steady.mjs';

/** A worker exits on its own if the parent never stops it. */
const ORPHAN_LIMIT_MS = 6 * 60 * 60 * 1000;
const MAX_ERRORS_KEPT = 20;

const STEADY_COUNTERS = { published: 0, confirmed: 0, confirmNacked: 0, consumed: 0, acked: 0, nackedRequeue: 0, gets: 0, pausedTicks: 0, outstanding: 0 };
const CHAOS_COUNTERS = {
  churnConnects: 0,
  connectMsMax: 0,
  crashes: 0,
  garbage: 0,
  garbageOutcomes: {},
  internalErrors: 0,
  abandonedConns: 0,
  abandonedChannels: 0,
  heldDeliveries: 0,
  halfClosed: 0,
  brokerDropped: 0,
  heldSockets: 0,
  heldOverLimit: 0,
  heldOverLimitByKind: {},
};
/** This process's counters (one role's set, plus errors); filled in on 'start'. */
const counters = { errors: 0 };
const errors = [];
let role = null;
let running = null;

function send(msg) {
  if (process.send) process.send(msg);
}

function onError(who, message) {
  counters.errors++;
  if (errors.length < MAX_ERRORS_KEPT) errors.push({ at: Date.now(), who, message });
}

async function handle(msg) {
  try {
    if (msg.cmd === 'start') {
      role = msg.role;
      Object.assign(counters, role === 'steady' ? STEADY_COUNTERS : CHAOS_COUNTERS);
      running = role === 'steady' ? startSteady(msg, counters, onError) : startChaos(msg, counters, onError);
      setInterval(() => {
        if (role === 'steady') counters.outstanding = running.ledger.outstanding();
        send({ type: 'counters', counters, errors });
      }, 1000).unref();
      send({ type: 'started' });
    } else if (msg.cmd === 'stop') {
      let result = {};
      if (role === 'steady') {
        await running.stopPublishers();
        await running.stopConsumers();
        const drained = await running.drain();
        const l = running.ledger;
        result = {
          ...drained,
          confirmed: l.confirmed,
          accounted: l.accounted,
          missing: l.outstanding(),
          missingSample: l.sample(20),
          unconfirmedConsumed: l.unconfirmedConsumed(),
          unconfirmedSample: l.sample(10, true),
          repeats: l.repeats,
        };
      } else {
        await running.stop();
      }
      send({ type: 'stopped', counters, errors, result });
      setTimeout(() => process.exit(0), 50);
    }
  } catch (e) {
    send({ type: 'failed', message: e && e.stack ? e.stack : String(e), counters, errors });
    setTimeout(() => process.exit(1), 50);
  }
}

process.on('message', (m) => void handle(m));
process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', (e) => {
  // amqplib reports some socket failures this way; they are counted, not fatal to the soak.
  onError('uncaught', e && e.message ? e.message : String(e));
});
process.on('unhandledRejection', (e) => onError('unhandled rejection', e && e.message ? e.message : String(e)));
setTimeout(() => process.exit(2), ORPHAN_LIMIT_MS).unref();
