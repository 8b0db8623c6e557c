// Heap cost of the segment store's in-memory index per stored message (not a vitest test).
// Usage: npx tsc -p tsconfig.json --outDir /tmp/warren-dist && node --expose-gc test/store/memory-bench.mjs /tmp/warren-dist [count]
// Measures heapUsed (plus arrayBuffers, where typed-array backing stores live) after appending
// `count` messages and waiting for durability, then again in a fresh store that recovered them.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = process.argv[2];
const count = Number(process.argv[3] ?? 1_000_000);
if (dist === undefined || typeof globalThis.gc !== 'function') {
  console.error('usage: node --expose-gc test/store/memory-bench.mjs <dist dir> [count]');
  process.exit(2);
}
const { SegmentStore } = await import(pathToFileURL(path.join(dist, 'store/segment-store.js')).href);

function usage() {
  for (let i = 0; i < 4; i++) globalThis.gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, ab: m.arrayBuffers };
}

function report(label, before, after, n) {
  const heap = after.heap - before.heap;
  const ab = after.ab - before.ab;
  console.log(
    `${label}: heapUsed +${(heap / 1e6).toFixed(1)} MB (${(heap / n).toFixed(1)} B/msg), ` +
      `arrayBuffers +${(ab / 1e6).toFixed(1)} MB (${(ab / n).toFixed(1)} B/msg), ` +
      `total ${((heap + ab) / n).toFixed(1)} B/msg`,
  );
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-membench-'));
const header = Buffer.alloc(14);
header.writeUInt16BE(60, 0);
const body = Buffer.from('0123456789abcdef');
const queues = ['q0', 'q1', 'q2', 'q3'];
try {
  const s = new SegmentStore({ dir, sync: 'off' });
  await s.open();
  const before = usage();
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    s.append(queues[i & 3], { exchange: 'ex', routingKey: 'rk', header, body, enqueuedAt: now + i });
  }
  await new Promise((resolve, reject) => s.whenDurable((err) => (err ? reject(err) : resolve())));
  const after = usage();
  report(`append ${count}`, before, after, count);
  await s.close();

  const base = usage();
  const s2 = new SegmentStore({ dir, sync: 'off' });
  // In a function so nothing in this scope keeps the returned lists alive afterwards.
  const openAndMeasure = async () => {
    const t0 = performance.now();
    const rec = await s2.open();
    const ms = performance.now() - t0;
    let n = 0;
    for (const list of rec.values()) n += list.length;
    report(`recovered ${n} (store + returned lists), open ${ms.toFixed(0)} ms`, base, usage(), n);
    return n;
  };
  const n = await openAndMeasure();
  report(`recovered ${n} (store only, lists dropped)`, base, usage(), n);
  await s2.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
