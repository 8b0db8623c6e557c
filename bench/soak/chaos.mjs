// The hostile half of the load: clients that connect and close continuously, crash mid-frame,
// send garbage, open channels (some holding unacked deliveries) and abandon them, and leave
// sockets half-closed or silent. Each kind runs in its own loop, one attempt at a time.
import crypto from 'node:crypto';
import amqp from 'amqplib';
import { FRAME_BODY, FRAME_HEADER, FRAME_METHOD, PROTOCOL_HEADER, frame, headerFrame, methodFrame } from '../amqp-frames.mjs';
import { closeConnection, sleep, withTimeout } from './actor.mjs';
import { RawProbe } from './raw.mjs';
import { ABANDON_QUEUES } from './topology.mjs';

/** How long a garbage client waits for the broker to end the conversation. */
const OUTCOME_WAIT_MS = 5000;
const ABANDON_POOL = 6;
/** Half-closed and silent sockets we hold at most (the oldest is dropped beyond this). */
const HELD_MAX = 400;
/** RabbitMQ destroys a half-closed socket after 30 s; one held longer than this counts as leaked. */
const HELD_LIMIT_MS = 35000;
const HEARTBEAT = frame(8, 0, Buffer.alloc(0));

const pick = (a) => a[Math.floor(Math.random() * a.length)];
const randInt = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1));

export function startChaos({ url, port, pace, skip = [] }, counters, onError) {
  let stopping = false;
  const held = new Set();
  const abandoned = new Set();
  const loops = [];
  const every = (ms) => sleep(ms / pace);

  const loop = (name, body, gapMs) => {
    if (skip.includes(name)) return;
    loops.push(
      (async () => {
        while (!stopping) {
          try {
            await body();
          } catch (e) {
            if (!stopping) onError(name, e && e.message ? e.message : String(e));
          }
          await every(gapMs);
        }
      })(),
    );
  };

  // Clean connect / work / close, two at a time.
  for (let i = 0; i < 2; i++) loop('churn', () => churnOnce(url, counters), 100);
  loop('crash', () => crashOnce(port, counters), 250);
  loop('garbage', () => garbageOnce(port, counters), 250);
  loop(
    'abandon',
    async () => {
      if (abandoned.size >= ABANDON_POOL) return;
      const entry = abandonOnce(url, counters).catch((e) => onError('abandon', e.message));
      abandoned.add(entry);
      entry.finally(() => abandoned.delete(entry));
    },
    1000,
  );
  loop('half-close', () => halfCloseOnce(port, counters, held), 1000);

  // Held sockets the broker should have let go of by now. After close-ok the broker has already
  // sent its FIN, so whether it still holds the socket shows only when we write: a socket it has
  // released answers with a reset.
  const sweep = setInterval(() => {
    const now = Date.now();
    let over = 0;
    const byKind = {};
    for (const h of held) {
      if (now - h.since <= HELD_LIMIT_MS) continue;
      over++;
      byKind[h.kind] = (byKind[h.kind] || 0) + 1;
      if (h.kind === 'closed-by-client') h.probe.write(HEARTBEAT);
    }
    counters.heldOverLimit = over;
    counters.heldOverLimitByKind = byKind;
    counters.heldSockets = held.size;
  }, 1000);

  return {
    async stop() {
      stopping = true;
      clearInterval(sweep);
      await withTimeout(Promise.all(loops), 10000);
      await withTimeout(Promise.all([...abandoned]), 20000);
      for (const h of held) h.probe.destroy();
      held.clear();
    },
  };
}

async function churnOnce(url, counters) {
  const t0 = performance.now();
  const conn = await amqp.connect(url);
  conn.on('error', () => {});
  counters.connectMsMax = Math.max(counters.connectMsMax, performance.now() - t0);
  counters.churnConnects++;
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    switch (randInt(0, 3)) {
      case 0:
        for (let i = 0; i < 5; i++) ch.publish('', 'soak.q.ttl', Buffer.from('churn'));
        break;
      case 1:
        await ch.checkQueue('soak.q.direct');
        break;
      case 2:
        // A channel error (404) on purpose: the channel closes, the connection stays.
        await ch.checkQueue('soak.no-such-queue').catch(() => {});
        break;
      default: {
        const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
        await ch.bindQueue(queue, 'soak.fanout', '');
        await ch.consume(queue, () => {}, { noAck: true });
        await sleep(50);
      }
    }
  } finally {
    await closeConnection(conn);
  }
}

/** Connects, gets partway, and vanishes without a word (FIN or RST). */
async function crashOnce(port, counters) {
  const p = await RawProbe.connect(port);
  const variant = randInt(0, 5);
  try {
    if (variant === 0) {
      p.write(PROTOCOL_HEADER.subarray(0, 4));
    } else if (variant === 1) {
      await p.handshake({ stopAfter: 'half-start-ok' });
    } else {
      if (!(await p.handshake())) throw new Error('crash client: handshake failed');
      if (!(await p.openChannel(1))) throw new Error('crash client: channel.open failed');
      if (variant === 2) {
        const f = methodFrame(1, 50, 10, (w) => w.short(0).shortstr('soak.crash').bits(false, false, false, true, false).table({}));
        p.write(f.subarray(0, f.length >> 1));
      } else if (variant === 3 || variant === 4) {
        // publish + header announcing 10,000 bytes + half of the body frame
        p.write(methodFrame(1, 60, 40, (w) => w.short(0).shortstr('').shortstr('soak.q.ttl').bits(false, false)));
        p.write(headerFrame(1, 10000));
        const b = frame(FRAME_BODY, 1, crypto.randomBytes(10000));
        p.write(b.subarray(0, variant === 3 ? 5000 : 3));
      }
    }
    await sleep(10);
  } finally {
    if (variant === 5 && typeof p.socket.resetAndDestroy === 'function') p.socket.resetAndDestroy();
    else p.destroy();
    counters.crashes++;
  }
}

const GARBAGE = [
  'random-after-header',
  'not-amqp',
  'bad-frame-type',
  'bad-frame-end',
  'oversize-frame',
  'huge-size-field',
  'random-method',
  'unopened-channel',
  'body-without-header',
  'random-content-header',
  'garbage-before-start-ok',
];

/** Sends one kind of garbage and records how the broker answered ("kind:code"). */
async function garbageOnce(port, counters) {
  const kind = pick(GARBAGE);
  const p = await RawProbe.connect(port);
  try {
    if (kind === 'random-after-header') {
      p.write(PROTOCOL_HEADER);
      p.write(crypto.randomBytes(randInt(16, 4096)));
    } else if (kind === 'not-amqp') {
      p.write(Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    } else if (kind === 'garbage-before-start-ok') {
      p.write(PROTOCOL_HEADER);
      await p.saw(0, '10.10');
      p.write(frame(FRAME_METHOD, 0, crypto.randomBytes(randInt(4, 300))));
    } else {
      if (!(await p.handshake())) throw new Error('garbage client: handshake failed');
      if (!(await p.openChannel(1))) throw new Error('garbage client: channel.open failed');
      const publish = methodFrame(1, 60, 40, (w) => w.short(0).shortstr('').shortstr('soak.q.ttl').bits(false, false));
      switch (kind) {
        case 'bad-frame-type':
          p.write(frame(9, 0, crypto.randomBytes(8)));
          break;
        case 'bad-frame-end': {
          const f = methodFrame(2, 20, 10, (w) => w.shortstr(''));
          f[f.length - 1] = 0x00;
          p.write(f);
          break;
        }
        case 'oversize-frame':
          p.write(frame(FRAME_BODY, 1, Buffer.alloc(p.frameMax + 1)));
          break;
        case 'huge-size-field': {
          const h = Buffer.alloc(16);
          h[0] = FRAME_METHOD;
          h.writeUInt16BE(1, 1);
          h.writeUInt32BE(0xfffffff0, 3);
          p.write(h);
          break;
        }
        case 'random-method': {
          // valid framing, a real class id, random method id and arguments
          const payload = crypto.randomBytes(randInt(4, 200));
          payload.writeUInt16BE(pick([10, 20, 40, 50, 60, 85, 90]), 0);
          p.write(frame(FRAME_METHOD, 1, payload));
          break;
        }
        case 'unopened-channel':
          p.write(methodFrame(7, 60, 40, (w) => w.short(0).shortstr('').shortstr('soak.q.ttl').bits(false, false)));
          break;
        case 'body-without-header':
          p.write(frame(FRAME_BODY, 1, Buffer.from('orphan body')));
          break;
        case 'random-content-header': {
          const payload = crypto.randomBytes(randInt(14, 200));
          payload.writeUInt16BE(60, 0);
          payload.writeUInt16BE(0, 2);
          payload.writeUInt32BE(0, 4);
          payload.writeUInt32BE(16, 8); // body size 16; the property flags and list are random
          p.write(publish);
          p.write(frame(FRAME_HEADER, 1, payload));
          break;
        }
      }
    }
    const out = await p.outcome(OUTCOME_WAIT_MS);
    const answer = out.code !== null ? String(out.code) : out.protocolHeader ? 'protocol-header' : out.ended ? 'closed' : 'no-answer';
    const key = `${kind}:${answer}`;
    counters.garbageOutcomes[key] = (counters.garbageOutcomes[key] || 0) + 1;
    if (out.code === 541) counters.internalErrors++;
    counters.garbage++;
  } finally {
    p.destroy();
  }
}

/** Opens channels (some consuming without ever acking), then drops the connection after a while. */
async function abandonOnce(url, counters) {
  const conn = await amqp.connect(url);
  conn.on('error', () => {});
  counters.abandonedConns++;
  const channels = randInt(1, 8);
  for (let i = 0; i < channels; i++) {
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    counters.abandonedChannels++;
    const what = randInt(0, 2);
    if (what === 0) {
      await ch.prefetch(5);
      await ch.consume(pick(ABANDON_QUEUES), () => counters.heldDeliveries++, { noAck: false });
    } else if (what === 1) {
      await ch.assertQueue('', { exclusive: true });
    }
  }
  await sleep(randInt(3000, 15000));
  if (Math.random() < 0.5) await closeConnection(conn);
  else conn.connection.stream.destroy();
}

/**
 * Leaves a socket the broker must clean up: after connection.close / close-ok the client never
 * closes its side; or the client half-closes (FIN) right after the handshake; or it never speaks.
 */
async function halfCloseOnce(port, counters, held) {
  const kind = pick(['closed-by-client', 'fin-after-open', 'silent']);
  const p = await RawProbe.connect(port, { allowHalfOpen: true });
  if (kind !== 'silent') {
    if (!(await p.handshake())) {
      p.destroy();
      throw new Error('half-close client: handshake failed');
    }
    if (kind === 'closed-by-client') {
      p.write(methodFrame(0, 10, 50, (w) => w.short(200).shortstr('bye').short(0).short(0)));
      await p.saw(0, '10.51', 5000);
    } else {
      p.socket.end();
    }
  }
  counters.halfClosed++;
  const h = { probe: p, kind, since: Date.now() };
  held.add(h);
  if (p.ended && kind !== 'closed-by-client') {
    held.delete(h);
    counters.brokerDropped++;
    p.destroy();
    return;
  }
  const dropped = () => {
    if (!held.delete(h)) return;
    counters.brokerDropped++;
    p.destroy();
  };
  p.socket.once('close', dropped);
  // For the other kinds the broker's FIN means it has let go of the connection.
  if (kind !== 'closed-by-client') p.socket.once('end', dropped);
  if (held.size > HELD_MAX) {
    const oldest = held.values().next().value;
    held.delete(oldest);
    oldest.probe.destroy();
  }
}
