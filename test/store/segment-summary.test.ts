// Segment summaries: recovery reads them instead of sealed segments, and must find exactly what a
// full read finds; a summary that does not match its segment is never trusted.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecoveredMessage } from '../../src/store/message-store.js';
import { SEAL_RECORD_SIZE } from '../../src/store/record.js';
import { recoveredLists } from '../../src/store/recovered-queue.js';
import { segmentPaths } from '../../src/store/recovery.js';
import { SegmentStore } from '../../src/store/segment-store.js';
import { durable, msg } from './conformance.js';
import { removeDir, tempDir } from './helpers.js';

const dirs: string[] = [];
const stores: SegmentStore[] = [];

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await removeDir(d);
});

function newDir(): string {
  const d = tempDir('sumtest');
  dirs.push(d);
  return d;
}

/** Small segments, so a few hundred messages span many sealed ones. */
const SEGMENT_SIZE = 4096;

async function open(dir: string): Promise<[SegmentStore, Map<string, RecoveredMessage[]>]> {
  const s = new SegmentStore({ dir, segmentSize: SEGMENT_SIZE });
  stores.push(s);
  return [s, recoveredLists(await s.open())];
}

function summaries(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.sum'))
    .sort()
    .map((n) => path.join(dir, n));
}

/** What a store found, bodies included (each read checks its record's CRC). */
function contents(s: SegmentStore, rec: Map<string, RecoveredMessage[]>): unknown {
  return [...rec].map(([q, list]) => [q, list.map((m) => ({ ...m, header: m.header.toString('hex'), body: s.read(q, m.seq).body.toString() }))]);
}

/** Messages in three queues with acks, deliveries and a purge, across many segments; closed cleanly. */
async function history(dir: string): Promise<void> {
  const [s] = await open(dir);
  const seqs: Record<string, number[]> = { a: [], b: [], c: [] };
  for (let i = 0; i < 300; i++) {
    const q = ['a', 'b', 'c'][i % 3] as string;
    const header = Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, i & 0xff, 1, 2]);
    seqs[q]?.push(s.append(q, msg(`${q}${i}-${'x'.repeat(250 + (i % 50))}`, `rk${i % 7}`, i % 2 === 0 ? '' : 'ex', header, 1_700_000_000_000 + i)));
    if (i % 5 === 0) s.markDelivered(q, seqs[q]?.[seqs[q].length - 1] as number);
    if (i % 11 === 0 && (seqs[q]?.length ?? 0) > 2) s.ack(q, seqs[q]?.[1 + (i % (seqs[q].length - 1))] as number);
    if (i === 200) s.purge('c');
    if (i % 50 === 0) await durable(s);
  }
  await s.close();
  stores.splice(stores.indexOf(s), 1);
}

describe('segment summaries', () => {
  it('a store reads the summaries of sealed segments and finds what a full read of them finds', async () => {
    const dir = newDir();
    await history(dir);
    const segs = segmentPaths(dir);
    expect(segs.length).toBeGreaterThan(12);
    // Every segment is sealed (roll or clean close), and every sealed segment has its summary.
    expect(summaries(dir).length).toBe(segs.length);
    const bare = newDir();
    for (const f of segs) fs.copyFileSync(f, path.join(bare, path.basename(f)));

    const [s, rec] = await open(dir);
    expect(s.summarisedSegments).toBe(segs.length);
    const [full, fullRec] = await open(bare);
    expect(full.summarisedSegments).toBe(0);
    expect(rec.get('a')?.length).toBeGreaterThan(50);
    expect(rec.get('c')?.length).toBeLessThan(40);
    expect([...rec.values()].some((l) => l.some((m) => m.deliveryCount > 0))).toBe(true);
    expect(contents(s, rec)).toEqual(contents(full, fullRec));
    expect(s.stats()).toMatchObject({ messages: full.stats().messages, messageBytes: full.stats().messageBytes, corruptRecords: 0 });
  });

  it('the columns agree with the messages they describe (property flags read at the scan)', async () => {
    const dir = newDir();
    await history(dir);
    const s = new SegmentStore({ dir, segmentSize: SEGMENT_SIZE });
    stores.push(s);
    const rec = await s.open();
    let n = 0;
    for (const [q, list] of rec) {
      for (let i = 0; i < list.length; i++) {
        const m = list.at(i);
        expect(list.propertyFlagsAt(i)).toBe(m.header.readUInt16BE(12));
        expect(list.bodySizeAt(i)).toBe(s.read(q, m.seq).body.length);
        expect(list.exchangeAt(i)).toBe(m.exchange);
        n++;
      }
      expect(() => list.seqAt(list.length)).toThrow(RangeError);
    }
    expect(n).toBeGreaterThan(100);
  });

  it('a full read of a sealed segment without a summary writes one for the next start', async () => {
    const dir = newDir();
    await history(dir);
    for (const f of summaries(dir)) fs.rmSync(f);
    const [s, rec] = await open(dir);
    expect(s.summarisedSegments).toBe(0);
    const want = contents(s, rec);
    await s.close();
    stores.splice(stores.indexOf(s), 1);
    const [s2, rec2] = await open(dir);
    expect(s2.summarisedSegments).toBeGreaterThan(12);
    expect(contents(s2, rec2)).toEqual(want);
  });

  it('a damaged, mismatched or orphaned summary is removed and its segment read in full', async () => {
    const dir = newDir();
    await history(dir);
    const bare = newDir();
    for (const f of segmentPaths(dir)) fs.copyFileSync(f, path.join(bare, path.basename(f)));
    const [full, fullRec] = await open(bare);
    const want = contents(full, fullRec);

    const sums = summaries(dir);
    const segs = segmentPaths(dir);
    // A flipped byte (its CRC fails).
    const damaged = fs.readFileSync(sums[3] as string);
    damaged[damaged.length >> 1]! ^= 0x10;
    fs.writeFileSync(sums[3] as string, damaged);
    // Another segment's summary, intact, under this one's name (the id inside does not match).
    fs.copyFileSync(sums[5] as string, sums[6] as string);
    // A segment whose seal is gone (as a crash before the seal reached the disk could leave it).
    const unsealed = segs[9] as string;
    fs.truncateSync(unsealed, fs.statSync(unsealed).size - SEAL_RECORD_SIZE);
    // A summary whose segment was deleted.
    const orphan = path.join(dir, '000000009999.sum');
    fs.copyFileSync(sums[1] as string, orphan);

    const [s, rec] = await open(dir);
    expect(s.summarisedSegments).toBe(segs.length - 3);
    expect(contents(s, rec)).toEqual(want);
    expect(s.stats().corruptRecords).toBe(0);
    expect(fs.existsSync(orphan)).toBe(false);
    // Read in full, the two sealed ones got a fresh summary; the unsealed one has none.
    expect(fs.existsSync(sums[3] as string)).toBe(true);
    expect(fs.existsSync(sums[6] as string)).toBe(true);
    expect(fs.existsSync(unsealed.replace(/\.seg$/, '.sum'))).toBe(false);
  });

  it('a damaged body in a summarised segment is found at its read, as for any sealed segment', async () => {
    const dir = newDir();
    const [w] = await open(dir);
    const seqs: number[] = [];
    for (let i = 0; i < 5; i++) seqs.push(w.append('q', msg(`body-${i}-${'y'.repeat(400)}`)));
    await w.close();
    stores.splice(stores.indexOf(w), 1);
    const seg = segmentPaths(dir)[0] as string;
    const buf = fs.readFileSync(seg);
    const at = buf.indexOf('body-2-');
    buf[at + 10]! ^= 0x01;
    fs.writeFileSync(seg, buf);

    const [s, rec] = await open(dir);
    expect(s.summarisedSegments).toBe(1);
    expect(rec.get('q')?.length).toBe(5);
    expect(() => s.read('q', seqs[2] as number)).toThrow(/checksum/);
    expect(s.read('q', seqs[3] as number).body.toString()).toBe(`body-3-${'y'.repeat(400)}`);
  });

  it('an empty content header (the store does not look inside) comes back empty, with and without a summary', async () => {
    const dir = newDir();
    const [w] = await open(dir);
    // Bodies are most of the segment, so its seal writes a summary.
    w.append('q', msg(`first${'x'.repeat(300)}`, 'rk', 'ex', Buffer.alloc(0)));
    w.append('q', msg(`second${'x'.repeat(300)}`));
    await w.close();
    stores.splice(stores.indexOf(w), 1);
    for (const summarised of [1, 0]) {
      if (summarised === 0) for (const f of summaries(dir)) fs.rmSync(f);
      const s = new SegmentStore({ dir, segmentSize: SEGMENT_SIZE });
      stores.push(s);
      const list = (await s.open()).get('q');
      expect(s.summarisedSegments).toBe(summarised);
      expect(list?.length).toBe(2);
      expect(list?.headerAt(0).length).toBe(0);
      expect(list?.propertyFlagsAt(0)).toBe(0);
      expect(list?.bodySizeAt(0)).toBe(305);
      expect(list?.headerAt(1).length).toBe(14);
      await s.close();
      stores.splice(stores.indexOf(s), 1);
    }
  });

  it('a segment of small messages gets no summary at its seal (it would be nearly the segment again)', async () => {
    const dir = newDir();
    const [w] = await open(dir);
    for (let i = 0; i < 200; i++) w.append('q', msg(`m${i}`));
    await w.close();
    stores.splice(stores.indexOf(w), 1);
    expect(segmentPaths(dir).length).toBeGreaterThan(1);
    expect(summaries(dir)).toEqual([]);
    const [s, rec] = await open(dir);
    expect(s.summarisedSegments).toBe(0);
    expect(rec.get('q')?.length).toBe(200);
  });

  it('deleting a segment deletes its summary', async () => {
    const dir = newDir();
    const [s] = await open(dir);
    const seqs: number[] = [];
    for (let i = 0; i < 200; i++) seqs.push(s.append('q', msg(`m${i}-${'z'.repeat(100)}`)));
    await durable(s);
    expect(summaries(dir).length).toBeGreaterThan(3);
    for (const seq of seqs) s.ack('q', seq);
    // Deletion runs after the acks are durable; a second round lets the writer finish it.
    await durable(s);
    await durable(s);
    await s.close();
    stores.splice(stores.indexOf(s), 1);
    const left = new Set(segmentPaths(dir).map((f) => path.basename(f, '.seg')));
    expect(left.size).toBeLessThan(3);
    for (const f of summaries(dir)) expect(left.has(path.basename(f, '.sum'))).toBe(true);
  });
});
