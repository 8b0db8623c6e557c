// The spill store: per-queue runs read sequentially, interleaved queues, discard and purge
// without reads, segment deletion once every run has moved past, damage counted and skipped.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredMessage } from '../../src/store/message-store.js';
import { SpillStore } from '../../src/store/spill-store.js';
import { removeDir, tempDir } from './helpers.js';

const stores: SpillStore[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await removeDir(d);
});

async function open(segmentSize = 4096): Promise<{ store: SpillStore; dir: string }> {
  const dir = tempDir('spill');
  dirs.push(dir);
  const store = new SpillStore({ dir, segmentSize, writeChunkSize: 8192 });
  stores.push(store);
  await store.open();
  return { store, dir };
}

function msg(label: string, bodySize = 0): StoredMessage {
  const body = Buffer.alloc(Math.max(bodySize, label.length), 0x2e);
  body.write(label);
  return { exchange: 'ex', routingKey: `rk.${label}`, header: Buffer.from([0, 60, 0, 0, label.length]), body, enqueuedAt: 1_700_000_000_000 };
}

function label(m: StoredMessage | null): string | null {
  if (m === null) return null;
  const s = m.body.toString('latin1');
  const dot = s.indexOf('.');
  return dot < 0 ? s : s.slice(0, dot);
}

function written(store: SpillStore): Promise<void> {
  return new Promise((resolve, reject) => store.whenDurable((e) => (e ? reject(e) : resolve())));
}

/** Lets the writer loop delete segments it was asked to collect. */
async function settle(store: SpillStore): Promise<void> {
  await written(store);
  await store.idle();
}

function segFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.seg'));
}

/** Overwrites bytes of the only segment file containing `needle`, at `delta` from it. */
function damage(dir: string, needle: string, delta: number, bytes: Buffer): void {
  let hits = 0;
  for (const f of segFiles(dir)) {
    const file = path.join(dir, f);
    const at = fs.readFileSync(file).indexOf(needle);
    if (at < 0) continue;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, bytes, 0, bytes.length, at + delta);
    fs.closeSync(fd);
    hits++;
  }
  expect(hits).toBe(1);
}

describe('SpillStore', () => {
  it('gives a queue its messages back in order across many segments, with one run per segment, and deletes consumed segments', async () => {
    const { store, dir } = await open();
    const n = 2000;
    for (let i = 0; i < n; i++) store.append('q', msg(`m${i}`, 20));
    // Half before the writes complete (served from the pending list), half from disk.
    const got: (string | null)[] = [];
    for (let i = 0; i < 10; i++) got.push(label(store.take('q')));
    await written(store);
    const segs = store.stats().segments;
    expect(segs).toBeGreaterThan(20);
    expect(store.stats().runs).toBeLessThanOrEqual(segs);
    for (let i = 10; i < n / 2; i++) got.push(label(store.take('q')));
    await settle(store);
    // Segments wholly consumed are gone; the rest are still there.
    expect(store.stats().segmentsDeleted).toBeGreaterThan(segs / 3);
    expect(segFiles(dir).length).toBeLessThan(segs);
    for (let i = n / 2; i < n; i++) got.push(label(store.take('q')));
    expect(got).toEqual(Array.from({ length: n }, (_, i) => `m${i}`));
    expect(store.messageCount('q')).toBe(0);
    expect(() => store.take('q')).toThrow();
    await settle(store);
    expect(segFiles(dir).length).toBe(1); // only the active segment
    expect(store.stats()).toMatchObject({ messages: 0, corruptRecords: 0, runs: 0, taken: n });
  });

  it('reads records not written yet from the write buffers, bodies written out of line included', async () => {
    const { store } = await open(1024 * 1024);
    const sizes = [10, 100_000, 20, 40_000, 0, 17_000];
    for (let i = 0; i < sizes.length; i++) store.append('q', msg(`m${i}`, sizes[i]));
    // Nothing is written yet: every take is served from memory, each whole and intact.
    for (let i = 0; i < sizes.length; i++) {
      const m = store.take('q');
      expect(label(m)).toBe(`m${i}`);
      expect(m?.body.length).toBe(Math.max(sizes[i] as number, `m${i}`.length));
      expect(m?.routingKey).toBe(`rk.m${i}`);
      expect(m?.header).toEqual(Buffer.from([0, 60, 0, 0, 2]));
    }
    await written(store);
    expect(store.stats().corruptRecords).toBe(0);
  });

  it('keeps interleaved queues apart, small and large bodies, taking in any pattern', async () => {
    const { store } = await open(256 * 1024);
    const names = ['a', 'bb', 'ccc'];
    const expected = new Map<string, string[]>(names.map((q) => [q, []]));
    let rnd = 7;
    const next = (): number => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff);
    const got = new Map<string, string[]>(names.map((q) => [q, []]));
    const takeSome = (): void => {
      for (const q of names) {
        const k = next() % 4;
        for (let i = 0; i < k && store.messageCount(q) > 0; i++) got.get(q)?.push(label(store.take(q)) ?? 'LOST');
      }
    };
    for (let i = 0; i < 3000; i++) {
      const q = names[next() % (i < 1500 ? 3 : 2)] as string;
      const l = `${q}${i}`;
      // Mostly small; some large bodies open a gap over MAX_RUN_GAP for the other queues.
      store.append(q, msg(l, next() % 50 === 0 ? 100_000 : next() % 40));
      expected.get(q)?.push(l);
      if (i % 97 === 0) takeSome();
      if (i % 500 === 0) await written(store);
    }
    await written(store);
    for (const q of names) while (store.messageCount(q) > 0) got.get(q)?.push(label(store.take(q)) ?? 'LOST');
    for (const q of names) expect(got.get(q)).toEqual(expected.get(q));
    await settle(store);
    expect(store.stats()).toMatchObject({ messages: 0, corruptRecords: 0, segments: 1 });
  });

  it('discard and purge remove from the head without reading; a refilled queue starts afresh', async () => {
    const { store, dir } = await open();
    for (let i = 0; i < 300; i++) {
      store.append('q', msg(`q${i}`, 30));
      store.append('other', msg(`o${i}`, 30));
    }
    await written(store);
    const reads = store.pagingReads;
    for (let i = 0; i < 100; i++) expect(store.discard('q')).toBe(true);
    expect(store.pagingReads).toBe(reads);
    expect(label(store.take('q'))).toBe('q100');
    expect(store.purge('q')).toBe(199);
    expect(store.messageCount('q')).toBe(0);
    expect(store.discard('q')).toBe(false);
    // The other queue still holds every segment.
    await settle(store);
    const segs = segFiles(dir).length;
    expect(segs).toBe(store.stats().segments);
    // Refilled under the same name: old records lie before the new runs and are never seen.
    for (let i = 0; i < 50; i++) store.append('q', msg(`new${i}`, 30));
    await written(store);
    const fresh: (string | null)[] = [];
    while (store.messageCount('q') > 0) fresh.push(label(store.take('q')));
    expect(fresh).toEqual(Array.from({ length: 50 }, (_, i) => `new${i}`));
    // Once the other queue is purged too, every segment but the active one goes.
    expect(store.purge('other')).toBe(300);
    await settle(store);
    expect(segFiles(dir).length).toBe(1);
    expect(store.stats()).toMatchObject({ messages: 0, corruptRecords: 0, discarded: 100 + 199 + 300 });
  });

  it('a record with a bad checksum is counted and dropped; its neighbours come in order', async () => {
    const { store, dir } = await open(64 * 1024);
    for (let i = 0; i < 200; i++) {
      store.append('q', msg(`m${String(i).padStart(3, '0')}`, 10));
      store.append('x', msg(`x${String(i).padStart(3, '0')}`, 10));
    }
    await written(store);
    damage(dir, 'm100', 5, Buffer.from('!'));
    const got: (string | null)[] = [];
    while (store.messageCount('q') > 0) got.push(label(store.take('q')));
    const want: (string | null)[] = Array.from({ length: 200 }, (_, i) => `m${String(i).padStart(3, '0')}`);
    want[100] = null;
    expect(got).toEqual(want);
    expect(store.stats().corruptRecords).toBe(1);
  });

  it('a damaged length field, or several records wiped, costs exactly the messages damaged', async () => {
    const { store, dir } = await open(64 * 1024);
    const pad = (i: number): string => String(i).padStart(3, '0');
    for (let i = 0; i < 200; i++) {
      store.append('q', msg(`m${pad(i)}`, 10));
      if (i % 3 === 0) store.append('x', msg(`x${pad(i)}`, 10));
    }
    await written(store);
    // The body of m050 starts after its record header, payload fields and header bytes; find the record start by its routing key.
    const rkOffset = 8 + 9 + 1 + 1 + 8 + 1 + 2 + 1; // record header, type+seq, queue name 'q', enqueuedAt, exchange 'ex', rk length byte
    damage(dir, 'rk.m050', -rkOffset, Buffer.from([0xff, 0xff, 0x00, 0x10]));
    // Wipe m120 through m122 (and the x record among them) entirely.
    damage(dir, 'rk.m120', -rkOffset, Buffer.alloc(3 * 60, 0x41));
    const got: (string | null)[] = [];
    while (store.messageCount('q') > 0) got.push(label(store.take('q')));
    const lost = got.map((g, i) => (g === null ? i : -1)).filter((i) => i >= 0);
    // m050 and the records the wipe covered (at least m120-m122, as far as 180 bytes reach) are lost, nothing else.
    expect(lost[0]).toBe(50);
    expect(lost.slice(1, 4)).toEqual([120, 121, 122]);
    expect(lost.length).toBeLessThanOrEqual(5);
    for (let i = 0; i < 200; i++) if (!lost.includes(i)) expect(got[i]).toBe(`m${pad(i)}`);
    expect(store.stats().corruptRecords).toBe(lost.length);
    // The other queue's reader fares the same way over the same damage.
    let xs = 0;
    while (store.messageCount('x') > 0) if (store.take('x') !== null) xs++;
    expect(xs).toBeGreaterThanOrEqual(67 - 2);
  });
});
