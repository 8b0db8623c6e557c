// Prints the hottest functions of a V8 .cpuprofile (from `node --cpu-prof`) by self time,
// with the share of all samples, so a profile can be read without a browser.
//
//   node bench/profile-top.mjs FILE.cpuprofile [--top N]
//   npm run bench -- --target warren --scenario pubsub-ack --warren-node-args "--cpu-prof --cpu-prof-dir=bench/out"
import fs from 'node:fs';
import path from 'node:path';

const argv = process.argv.slice(2);
const file = argv.find((a) => !a.startsWith('--'));
const topIdx = argv.indexOf('--top');
const top = topIdx >= 0 ? Number(argv[topIdx + 1]) : 25;
if (!file) {
  console.error('usage: node bench/profile-top.mjs FILE.cpuprofile [--top N]');
  process.exit(2);
}
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const hits = new Map();
for (const id of prof.samples) hits.set(id, (hits.get(id) || 0) + 1);
const total = prof.samples.length;
const self = new Map();
for (const [id, n] of hits) {
  const f = byId.get(id).callFrame;
  const where = f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : '(native)';
  const key = `${f.functionName || '(anonymous)'}  ${where}`;
  self.set(key, (self.get(key) || 0) + n);
}
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`${total} samples, ${((prof.endTime - prof.startTime) / 1e6).toFixed(1)} s`);
for (const [key, n] of rows) console.log(`${((100 * n) / total).toFixed(1).padStart(5)}%  ${key}`);
