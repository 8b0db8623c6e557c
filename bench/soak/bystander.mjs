// The bystander: an innocent client that does a publish -> consume round trip on its own queue
// every 100 ms and opens a fresh connection every few seconds. A broker stall shows up as a long
// round trip here, whatever the rest of the load is doing.
import amqp from 'amqplib';
import { Actor, closeConnection, withTimeout } from './actor.mjs';

const PROBE_EVERY_MS = 100;
const CONNECT_EVERY_MS = 5000;
const CONNECT_TIMEOUT_MS = 30000;

export function startBystander(url, onError) {
  let rtts = [];
  let connects = [];
  let sentAt = null;
  let lost = 0;
  let completed = 0;
  let timer = null;

  const actor = new Actor(
    url,
    'bystander',
    async (conn, self) => {
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      ch.on('close', () => self.lose('bystander: channel closed by the broker'));
      const { queue } = await ch.assertQueue('', { exclusive: true });
      let seq = 0;
      const send = () => {
        if (sentAt !== null || self.stopping) return;
        sentAt = performance.now();
        ch.publish('', queue, Buffer.from(String(++seq)));
      };
      await ch.consume(
        queue,
        (msg) => {
          if (msg === null || sentAt === null || Number(msg.content.toString()) !== seq) return;
          const rtt = performance.now() - sentAt;
          sentAt = null;
          rtts.push(rtt);
          completed++;
          // One probe in flight at a time; the next leaves on the next 100 ms tick.
        },
        { noAck: true },
      );
      timer = setInterval(send, PROBE_EVERY_MS);
      conn.once('close', () => {
        clearInterval(timer);
        if (sentAt !== null) lost++;
        sentAt = null;
      });
      self.beforeClose = async () => clearInterval(timer);
    },
    onError,
  );

  let connecting = false;
  const connectProbe = setInterval(async () => {
    if (connecting) return;
    connecting = true;
    const t0 = performance.now();
    try {
      const conn = await withTimeout(amqp.connect(url), CONNECT_TIMEOUT_MS, null);
      if (conn === null) throw new Error(`no connection within ${CONNECT_TIMEOUT_MS / 1000} s`);
      conn.on('error', () => {});
      connects.push(performance.now() - t0);
      await closeConnection(conn);
    } catch (e) {
      onError('bystander connect', e.message);
    } finally {
      connecting = false;
    }
  }, CONNECT_EVERY_MS);

  return {
    /** Round trips finished since the last call; a probe still in flight counts with its age so far. */
    take() {
      const inFlight = sentAt === null ? 0 : performance.now() - sentAt;
      const out = { rtts, inFlight, connects, lost };
      rtts = [];
      connects = [];
      return out;
    },
    /** One more round trip now, for the end-of-run liveness check. */
    async check(timeoutMs) {
      const t0 = performance.now();
      const n0 = completed;
      while (performance.now() - t0 < timeoutMs) {
        if (completed > n0 + 1) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    },
    async stop() {
      clearInterval(connectProbe);
      await actor.stop();
    },
  };
}
