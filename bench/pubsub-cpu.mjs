// CPU cost per message of publishing and delivering to a no-ack consumer through the real
// Connection, Channel and Queue code, fed from an in-memory socket (no network, no client
// process), so two builds can be compared on a busy machine (the sibling of publish-cpu.mjs,
// which covers publishing with confirms).
//
//   node bench/pubsub-cpu.mjs [ROOT]     (N=200000 by default)
//
// ROOT is a checkout with a built dist/ (default: this one). 16 B transient messages to one queue
// with a no-ack consumer on another channel of the same connection, 200 publishes per socket chunk.
// Prints {cpuUsPerMsg, wallMs} as JSON.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const { startBroker } = await import(join(root, 'dist/index.js'));
const { Connection } = await import(join(root, 'dist/server/connection.js'));
const W = await import(join(root, 'dist/protocol/frame-writer.js'));
const M = await import(join(root, 'dist/protocol/generated/amqp.js'));
const { FrameReader } = await import(join(root, 'dist/protocol/frame-reader.js'));
const { createRequire } = await import('node:module');
const { pino } = createRequire(join(root, 'package.json'))('pino');

let delivered = 0;
let waiter = null;
let gotMethod = null;
class FakeSocket extends EventEmitter {
  writableLength = 0;
  remoteAddress = '127.0.0.1';
  constructor() {
    super();
    this.reader = new FrameReader(
      {
        onMethodFrame: (ch, p) => {
          // basic.deliver is class 60 method 60: counted from its bytes, the rest decoded.
          if (p.readUInt16BE(0) === 60 && p.readUInt16BE(2) === 60) {
            delivered++;
            if (waiter !== null && delivered >= waiter.n) {
              const w = waiter;
              waiter = null;
              w.resolve();
            }
            return;
          }
          const m = M.decodeMethod(p);
          if (gotMethod) {
            const g = gotMethod;
            gotMethod = null;
            g(m);
          }
        },
        onHeaderFrame() {},
        onBodyFrame() {},
        onBodyParts() {},
        onHeartbeatFrame() {},
      },
      1 << 20,
    );
  }
  write(b) {
    this.reader.push(Buffer.from(b));
    return true;
  }
  cork() {}
  uncork() {}
  end() {}
  destroy() {}
  pause() {}
  resume() {}
  setNoDelay() {}
}

const dir = mkdtempSync(join(tmpdir(), 'micro-'));
const running = await startBroker({ host: '127.0.0.1', port: 0, dataDir: dir, logLevel: 'silent' });
const sock = new FakeSocket();
const conn = new Connection(1, sock, running.broker, { removeConnection() {} }, pino({ level: 'silent' }));
const send = (b) => sock.emit('data', b);
const call = (b) => new Promise((r) => ((gotMethod = r), send(b)));
await call(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
await call(W.encodeMethodFrame(0, { id: M.CONNECTION_START_OK, clientProperties: {}, mechanism: 'PLAIN', response: Buffer.from('\x00guest\x00guest'), locale: 'en_US' }));
send(W.encodeMethodFrame(0, { id: M.CONNECTION_TUNE_OK, channelMax: 0, frameMax: 131072, heartbeat: 0 }));
await call(W.encodeMethodFrame(0, { id: M.CONNECTION_OPEN, virtualHost: '/', capabilities: '', insist: false }));
await call(W.encodeMethodFrame(1, { id: M.CHANNEL_OPEN, outOfBand: '' }));
await call(W.encodeMethodFrame(2, { id: M.CHANNEL_OPEN, outOfBand: '' }));
await call(W.encodeMethodFrame(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: 'micro', passive: false, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: {} }));
await call(W.encodeMethodFrame(2, { id: M.BASIC_CONSUME, ticket: 0, queue: 'micro', consumerTag: 'c', noLocal: false, noAck: true, exclusive: false, nowait: false, arguments: {} }));
const body = Buffer.alloc(16, 120);
const B = 200;
const one = Buffer.concat([
  W.encodeMethodFrame(1, { id: M.BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: 'micro', mandatory: false, immediate: false }),
  W.encodeHeaderFrame(1, W.encodeContentHeaderPayload(60, body.length, {})),
  W.encodeBodyFrame(1, body),
]);
const batch = Buffer.concat(Array(B).fill(one));
async function run(n) {
  const start = delivered;
  const done = new Promise((resolve) => (waiter = { n: start + n, resolve }));
  for (let sent = 0; sent < n; sent += B) {
    while (sent - (delivered - start) >= 10 * B) await new Promise((r) => setImmediate(r));
    send(Buffer.from(batch));
    if ((sent / B) % 5 === 0) await new Promise((r) => setImmediate(r));
  }
  await done;
}
await run(20000); // warm-up
const N = Number(process.env.N ?? 200000);
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
await run(N);
const c = process.cpuUsage(c0);
const wall = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(JSON.stringify({ root, n: N, cpuUsPerMsg: +((c.user + c.system) / N).toFixed(3), wallMs: Math.round(wall) }));
conn.destroy();
await running.close();
rmSync(dir, { recursive: true, force: true });
