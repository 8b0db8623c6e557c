// CPU cost per message of publishing with confirms through the real Connection and Channel code,
// fed from an in-memory socket (no network, no client process), so that two builds can be
// compared on a busy machine: the load generator's CPU is not in the figure, and the number of
// group commits shows whether confirm batching changed.
//
//   node bench/publish-cpu.mjs [ROOT] [persistent|transient]     (N=200000 by default)
//
// ROOT is a checkout with a built dist/ (default: this one). 16 B messages, persistent or not,
// to a durable queue (x-max-length 1000, so memory stays flat), 200 publishes per socket chunk,
// at most 2,000 unconfirmed. Prints {cpuUsPerMsg, wallMs, syncs} as JSON.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const persistent = process.argv[3] !== 'transient';
const { startBroker } = await import(join(root, 'dist/index.js'));
const { Connection } = await import(join(root, 'dist/server/connection.js'));
const W = await import(join(root, 'dist/protocol/frame-writer.js'));
const M = await import(join(root, 'dist/protocol/generated/amqp.js'));
const { FrameReader } = await import(join(root, 'dist/protocol/frame-reader.js'));
const { createRequire } = await import('node:module'); const { pino } = createRequire(join(root, 'package.json'))('pino');

class FakeSocket extends EventEmitter {
  writableLength = 0; remoteAddress = '127.0.0.1';
  constructor(onFrame) { super(); this.reader = new FrameReader({
    onMethodFrame: (ch, p) => onFrame(M.decodeMethod(p)), onHeaderFrame() {}, onBodyFrame() {}, onBodyParts() {}, onHeartbeatFrame() {},
  }, 1 << 20); }
  write(b) { this.reader.push(Buffer.from(b)); return true; }
  cork() {} uncork() {} end() {} destroy() {} pause() {} resume() {} setNoDelay() {}
}

const dir = mkdtempSync(join(tmpdir(), 'micro-'));
const running = await startBroker({ host: '127.0.0.1', port: 0, dataDir: dir, logLevel: 'silent' });
const broker = running.broker;
let acked = 0; let waiter = null; let gotMethod = null;
const sock = new FakeSocket((m) => {
  if (m.id === M.BASIC_ACK) { acked = m.deliveryTag; if (waiter && acked >= waiter.n) { const w = waiter; waiter = null; w.resolve(); } }
  else if (gotMethod) { const g = gotMethod; gotMethod = null; g(m); }
});
const conn = new Connection(1, sock, broker, { removeConnection() {} }, pino({ level: 'silent' }));
const send = (b) => sock.emit('data', b);
const call = (b) => new Promise((r) => { gotMethod = r; send(b); });
await call(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
const resp = Buffer.from('\x00guest\x00guest');
await new Promise((r) => { gotMethod = r; send(W.encodeMethodFrame(0, { id: M.CONNECTION_START_OK, clientProperties: {}, mechanism: 'PLAIN', response: resp, locale: 'en_US' })); });
send(W.encodeMethodFrame(0, { id: M.CONNECTION_TUNE_OK, channelMax: 0, frameMax: 131072, heartbeat: 0 }));
await call(W.encodeMethodFrame(0, { id: M.CONNECTION_OPEN, virtualHost: '/', capabilities: '', insist: false }));
await call(W.encodeMethodFrame(1, { id: M.CHANNEL_OPEN, outOfBand: '' }));
await call(W.encodeMethodFrame(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: 'micro', passive: false, durable: true, exclusive: false, autoDelete: false, nowait: false, arguments: { 'x-max-length': 1000 } }));
await call(W.encodeMethodFrame(1, { id: M.CONFIRM_SELECT, nowait: false }));
const body = Buffer.alloc(16, 120);
const B = 200;
const one = Buffer.concat([
  W.encodeMethodFrame(1, { id: M.BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: 'micro', mandatory: false, immediate: false }),
  W.encodeHeaderFrame(1, W.encodeContentHeaderPayload(60, body.length, persistent ? { deliveryMode: 2 } : {})),
  W.encodeBodyFrame(1, body),
]);
const batch = Buffer.concat(Array(B).fill(one));
async function run(n) {
  let sent = 0;
  const done = new Promise((resolve) => { waiter = { n: acked + n, resolve }; });
  // keep up to 10 batches in flight
  const start = acked;
  while (sent < n) {
    while (sent - (acked - start) >= 10 * B) await new Promise((r) => setImmediate(r));
    send(Buffer.from(batch)); sent += B;
    if ((sent / B) % 5 === 0) await new Promise((r) => setImmediate(r));
  }
  await done;
}
await run(20000); // warm-up
const N = Number(process.env.N ?? 200000);
const c0 = process.cpuUsage(); const t0 = process.hrtime.bigint();
await run(N);
const c = process.cpuUsage(c0); const wall = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(JSON.stringify({ root, persistent, n: N, cpuUsPerMsg: +((c.user + c.system) / N).toFixed(3), wallMs: Math.round(wall), syncs: broker.persistence?.messages.stats().syncs }));
conn.destroy();
await running.close();
rmSync(dir, { recursive: true, force: true });
