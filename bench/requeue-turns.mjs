// CPU time of the queue's own part of a large requeue, per turn of the event loop: a queue of N
// messages (no sockets, no channel) has all N taken and then requeued at once; the first figure is
// the synchronous requeue() call, then the longest later turn (placing slices, merging runs), and
// the total. Three cases: a classic queue (back at their place), a quorum queue (a nack: to the
// back) and a queue whose delivery limit dead-letters every one.
//
//   node --expose-gc bench/requeue-turns.mjs [--warren-root DIR] [--n 100000] [--rounds 5]
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (k, d) => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : d);
const root = path.resolve(opt('--warren-root', path.join(here, '..')));
const N = Number(opt('--n', 100_000));
const ROUNDS = Number(opt('--rounds', 5));
const { Queue } = await import(pathToFileURL(path.join(root, 'dist/broker/queue/queue.js')).href);
const { Message } = await import(pathToFileURL(path.join(root, 'dist/broker/message.js')).href);
const { ManualClock } = await import(pathToFileURL(path.join(root, 'dist/util/clock.js')).href);

const policy = {
  type: 'classic', messageTtl: undefined, expires: undefined, maxLength: undefined, maxLengthBytes: undefined,
  overflow: 'drop-head', deadLetterExchange: undefined, deadLetterRoutingKey: undefined, maxPriority: undefined,
  singleActiveConsumer: false, deliveryLimit: undefined, consumerTimeout: undefined, deduplication: false,
  dedupCacheSize: undefined, dedupCacheTtl: undefined,
};
const host = {
  now: () => 0, clock: new ManualClock(0), onQueueUnused() {}, onEntryRemoved() {}, deadLetter() {}, deliveryFailed() {},
  persist: () => -1, onDelivered() {}, canPage: false, pageAfterMessages: 1e9, spill: () => -1, loadPaged: () => null, dropPaged() {},
};
const header = Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0]);
const body = Buffer.alloc(16, 120);
const cpuMs = (f) => { const t = process.cpuUsage(); f(); const d = process.cpuUsage(t); return (d.user + d.system) / 1000; };
const turn = () => new Promise((r) => setImmediate(r));

async function once(extra, cause) {
  const q = new Queue('q', { durable: false, exclusive: false, autoDelete: false, args: {}, policy: { ...policy, ...extra }, owner: null }, host);
  for (let i = 0; i < N; i++) q.enqueue(new Message('', 'q', header, [body], 16), undefined);
  const held = [];
  for (let i = 0; i < N; i++) { const e = q.take(); q.delivered(e); held.push(e); }
  await turn();
  // Collect the setup's garbage first, so the turns measured pay only for the requeue's own.
  globalThis.gc?.();
  // Older builds take one argument; the extra one is ignored there.
  const first = cpuMs(() => q.requeue(held, cause));
  let longest = 0;
  let total = first;
  let turns = 0;
  // Let setImmediate work run, timing each turn by wrapping the measurement around one immediate.
  for (let idle = 0; idle < 3; ) {
    const t = process.cpuUsage();
    await turn();
    const d = process.cpuUsage(t);
    const ms = (d.user + d.system) / 1000;
    total += ms;
    if (ms > 0.5) { turns++; idle = 0; } else idle++;
    if (ms > longest) longest = ms;
  }
  if (q.depth !== (extra.deliveryLimit === 0 ? 0 : N)) throw new Error(`depth ${q.depth}`);
  return { first, longest, total, turns };
}

const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`# ${root}, N=${N}, ${ROUNDS} rounds (median), CPU ms; ${new Date().toISOString()}`);
for (const [name, extra, cause] of [['classic, channel closed', {}, 'released'], ['quorum, nack', { type: 'quorum', deliveryLimitDefaulted: true, deliveryLimit: 20 }, 'client'], ['delivery limit 0 (all dead-lettered)', { deliveryLimit: 0 }, 'client']]) {
  const rs = [];
  for (let i = 0; i < ROUNDS; i++) rs.push(await once(extra, cause));
  console.log(`${name.padEnd(40)} requeue() ${med(rs.map((r) => r.first)).toFixed(1)}  longest later turn ${med(rs.map((r) => r.longest)).toFixed(1)}  total ${med(rs.map((r) => r.total)).toFixed(1)}  busy turns ${med(rs.map((r) => r.turns))}`);
}
