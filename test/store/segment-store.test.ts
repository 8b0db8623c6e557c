// Segment store damage and crash cases: torn tails, flipped bytes, empty and foreign files, deletion, order.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecoveredMessage } from '../../src/store/message-store.js';
import { RecordType, SEAL_RECORD_SIZE, SEGMENT_HEADER_SIZE, encodeMessage, encodeSmall, isSealed, sealRecord, writeSegmentHeader } from '../../src/store/record.js';
import { recoveredLists } from '../../src/store/recovered-queue.js';
import { segmentPaths } from '../../src/store/recovery.js';
import { segmentFileName } from '../../src/store/segment.js';
import { SegmentStore } from '../../src/store/segment-store.js';
import type { SegmentStoreOptions } from '../../src/store/segment-store-options.js';
import { durable, msg } from './conformance.js';
import { removeDir, tempDir } from './helpers.js';

const dirs: string[] = [];
const stores: SegmentStore[] = [];

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await removeDir(d);
});

function newDir(): string {
  const d = tempDir('segtest');
  dirs.push(d);
  return d;
}

async function openStore(
  dir: string,
  opts: Partial<SegmentStoreOptions> = {},
): Promise<[SegmentStore, Map<string, RecoveredMessage[]>]> {
  const s = new SegmentStore({ dir, ...opts });
  stores.push(s);
  return [s, recoveredLists(await s.open())];
}

function bodies(s: SegmentStore, q: string, rec: Map<string, RecoveredMessage[]>): string[] {
  return (rec.get(q) ?? []).map((m) => s.read(q, m.seq).body.toString());
}

/**
 * Writes n messages m0..m(n-1) to queue q, closes, and returns the first segment's path. Unless
 * `sealed`, the seal a clean close appends is cut off: the file is then as a broker killed
 * while writing it left it, which is where torn and damaged records can be.
 */
async function fill(dir: string, n: number, sealed = false): Promise<string> {
  const [s] = await openStore(dir);
  for (let i = 0; i < n; i++) s.append('q', msg(`m${i}`));
  await s.close();
  const first = segmentPaths(dir)[0];
  if (first === undefined) throw new Error('no segment');
  expect(isSealed(fs.readFileSync(first)), 'a clean close seals the segment').toBe(true);
  if (!sealed) fs.truncateSync(first, fs.statSync(first).size - SEAL_RECORD_SIZE);
  return first;
}

/** Removes the summary a segment's seal may have written (segment-summary.ts): these tests are about the walk of the segment. */
function removeSummary(segFile: string): void {
  // Only segments whose bodies are most of the file get one (segment-log.ts: seal).
  fs.rmSync(segFile.replace(/\.seg$/, '.sum'), { force: true });
}

/** Offsets of the records in a segment file, walking the length fields. */
function recordOffsets(file: string): number[] {
  const buf = fs.readFileSync(file);
  const out: number[] = [];
  for (let p = SEGMENT_HEADER_SIZE; p < buf.length; p += 8 + buf.readUInt32LE(p)) out.push(p);
  return out;
}

describe('SegmentStore recovery', () => {
  it('cuts a torn tail record and keeps everything before it', async () => {
    const dir = newDir();
    const file = await fill(dir, 10);
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 3);
    const [s, rec] = await openStore(dir);
    expect(bodies(s, 'q', rec)).toEqual([...Array(9).keys()].map((i) => `m${i}`));
    expect(s.stats().truncatedBytes).toBeGreaterThan(0);
    expect(s.stats().corruptRecords).toBe(0);
    expect(fs.statSync(file).size).toBeLessThan(size - 3);
    s.append('q', msg('after'));
    await s.close();
    const [s2, rec2] = await openStore(dir);
    expect(bodies(s2, 'q', rec2)).toEqual([...[...Array(9).keys()].map((i) => `m${i}`), 'after']);
    expect(s2.stats().truncatedBytes).toBe(0);
  });

  it('cuts a zero-filled tail (size extended, data never written)', async () => {
    const dir = newDir();
    const file = await fill(dir, 3);
    fs.appendFileSync(file, Buffer.alloc(4096));
    const [s, rec] = await openStore(dir);
    expect(bodies(s, 'q', rec)).toEqual(['m0', 'm1', 'm2']);
    expect(s.stats().truncatedBytes).toBe(4096);
  });

  it('never returns a record whose checksum fails (flipped body byte), and counts it', async () => {
    const dir = newDir();
    const file = await fill(dir, 10);
    const offs = recordOffsets(file);
    const buf = fs.readFileSync(file);
    const at = offs[4] as number;
    const end = at + 8 + buf.readUInt32LE(at);
    buf[end - 1] = (buf[end - 1] as number) ^ 0x01; // last body byte of m4
    fs.writeFileSync(file, buf);
    const [s, rec] = await openStore(dir);
    expect(bodies(s, 'q', rec)).toEqual(['m0', 'm1', 'm2', 'm3', 'm5', 'm6', 'm7', 'm8', 'm9']);
    expect(s.stats().corruptRecords).toBe(1);
    expect(s.stats().truncatedBytes).toBe(0);
  });

  it('resynchronises after a flipped length byte instead of dropping the rest', async () => {
    const dir = newDir();
    const file = await fill(dir, 10);
    const offs = recordOffsets(file);
    const buf = fs.readFileSync(file);
    const at = offs[2] as number;
    buf[at + 3] = 0x40; // length of m2 now ~1 GiB
    fs.writeFileSync(file, buf);
    const [s, rec] = await openStore(dir);
    expect(bodies(s, 'q', rec)).toEqual(['m0', 'm1', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']);
    expect(s.stats().corruptRecords).toBe(1);
    expect(s.stats().truncatedBytes).toBe(0);
  });

  it('a damaged last record is dropped and cut', async () => {
    const dir = newDir();
    const file = await fill(dir, 4);
    const buf = fs.readFileSync(file);
    buf[buf.length - 2] = (buf[buf.length - 2] as number) ^ 0xff;
    fs.writeFileSync(file, buf);
    const [s, rec] = await openStore(dir);
    expect(bodies(s, 'q', rec)).toEqual(['m0', 'm1', 'm2']);
    expect(s.stats().corruptRecords).toBe(1);
  });

  it('sealed segment: a damaged body is found by the first read, never delivered, and counted then', async () => {
    const dir = newDir();
    const file = await fill(dir, 10, true);
    const offs = recordOffsets(file);
    const buf = fs.readFileSync(file);
    const at = offs[4] as number;
    const end = at + 8 + buf.readUInt32LE(at);
    buf[end - 1] = (buf[end - 1] as number) ^ 0x01; // last body byte of m4
    fs.writeFileSync(file, buf);
    const [s, rec] = await openStore(dir);
    // The framing is intact and the segment sealed: recovery does not read the CRC of bodies.
    const list = rec.get('q') ?? [];
    expect(list.length).toBe(10);
    expect(s.stats().corruptRecords).toBe(0);
    const read = list.map((m) => {
      try {
        return s.readBody('q', m.seq).toString();
      } catch (err) {
        return (err as Error).message.includes('checksum') ? 'DAMAGED' : 'OTHER';
      }
    });
    expect(read).toEqual(['m0', 'm1', 'm2', 'm3', 'DAMAGED', 'm5', 'm6', 'm7', 'm8', 'm9']);
    expect(s.stats().corruptRecords).toBe(1);
  });

  it('sealed segment: damaged framing or a damaged small record falls back to the full check', async () => {
    for (const damage of ['length', 'ack'] as const) {
      const dir = newDir();
      {
        const [s] = await openStore(dir);
        const seqs: number[] = [];
        for (let i = 0; i < 10; i++) seqs.push(s.append('q', msg(`m${i}`)));
        s.ack('q', seqs[7] as number);
        await s.close();
      }
      const file = segmentPaths(dir)[0] as string;
      const offs = recordOffsets(file);
      const buf = fs.readFileSync(file);
      expect(isSealed(buf)).toBe(true);
      if (damage === 'length') buf[(offs[2] as number) + 3] = 0x40; // m2's length now ~1 GiB
      else buf[(offs[10] as number) + 12]! ^= 0x01; // a byte of the ack's seq
      fs.writeFileSync(file, buf);
      // The segment's summary would be read instead of it: this is about the walk of the segment.
      removeSummary(file);
      const [s, rec] = await openStore(dir);
      const want = damage === 'length' ? ['m0', 'm1', 'm3', 'm4', 'm5', 'm6', 'm8', 'm9'] : ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9'];
      expect(bodies(s, 'q', rec), damage).toEqual(want);
      expect(s.stats().corruptRecords, damage).toBe(1);
    }
  });

  it('sealed segment: a damaged seq in one message costs that message only, not every later one', async () => {
    for (const damaged of [4, 9]) {
      const dir = newDir();
      const file = await fill(dir, 10, true);
      const offs = recordOffsets(file);
      const buf = fs.readFileSync(file);
      // A high byte of the seq (payload: type, then u64 seq): it now claims a seq far above the others'.
      buf[(offs[damaged] as number) + 8 + 1 + 5]! ^= 0x01;
      fs.writeFileSync(file, buf);
      removeSummary(file);
      const [s, rec] = await openStore(dir);
      // As the full check finds it: the damaged record alone is dropped.
      const want = [...Array(10).keys()].filter((i) => i !== damaged).map((i) => `m${i}`);
      expect(bodies(s, 'q', rec), `m${damaged}`).toEqual(want);
      expect(s.stats().corruptRecords, `m${damaged}`).toBe(1);
      // And the damaged seq does not push the seqs handed out next far ahead.
      expect(s.append('q', msg('after')), `m${damaged}`).toBeLessThan(2 ** 32);
    }
  });

  it('a torn seal is a torn tail: cut, and the records before it kept', async () => {
    const dir = newDir();
    const file = await fill(dir, 5, true);
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 5);
    const [s, rec] = await openStore(dir);
    expect(bodies(s, 'q', rec)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(s.stats().truncatedBytes).toBe(SEAL_RECORD_SIZE - 5);
    expect(s.stats().corruptRecords).toBe(0);
  });

  it('seals a finished segment once an fsync covers it, and the active one at close', async () => {
    const dir = newDir();
    const [s] = await openStore(dir, { segmentSize: 1024 });
    for (let i = 0; i < 40; i++) s.append('q', msg(`m${i}`.padEnd(100, '.')));
    await durable(s);
    const files = segmentPaths(dir);
    expect(files.length).toBeGreaterThan(2);
    // Finished segments are sealed after their sync; the active one is not yet.
    expect(files.slice(0, -1).every((f) => isSealed(fs.readFileSync(f)))).toBe(true);
    expect(isSealed(fs.readFileSync(files[files.length - 1] as string))).toBe(false);
    await s.close();
    expect(isSealed(fs.readFileSync(files[files.length - 1] as string))).toBe(true);
    const [s2, rec] = await openStore(dir, { segmentSize: 1024 });
    expect((rec.get('q') ?? []).length).toBe(40);
    expect(s2.stats().corruptRecords).toBe(0);
  });

  it('a seal that cannot be written (disk full) fails nothing: confirms succeed and the store keeps working', async () => {
    // fs.write is used only for seals (records go out with writev); make it fail as ENOSPC would.
    const cjsFs = createRequire(import.meta.url)('node:fs') as typeof fs;
    const realWrite = cjsFs.write;
    let refused = 0;
    cjsFs.write = ((...args: unknown[]) => {
      const cb = args[args.length - 1] as (err: NodeJS.ErrnoException | null, n: number) => void;
      refused++;
      const err: NodeJS.ErrnoException = new Error('ENOSPC: no space left on device, write');
      err.code = 'ENOSPC';
      process.nextTick(() => cb(err, 0));
    }) as typeof fs.write;
    syncBuiltinESMExports();
    try {
      const dir = newDir();
      const [s] = await openStore(dir, { segmentSize: 1024 });
      for (let i = 0; i < 40; i++) s.append('q', msg(`m${i}`.padEnd(100, '.')));
      await durable(s); // these are on disk: the lost seals only cost a full check at recovery
      expect(refused).toBeGreaterThan(0);
      s.append('q', msg('after'));
      await durable(s);
      await s.close();
      cjsFs.write = realWrite;
      syncBuiltinESMExports();
      const [s2, rec] = await openStore(dir, { segmentSize: 1024 });
      expect((rec.get('q') ?? []).length).toBe(41);
      expect(s2.stats().corruptRecords).toBe(0);
    } finally {
      cjsFs.write = realWrite;
      syncBuiltinESMExports();
    }
  });

  it('accepts an empty last segment, a zero-length one and a header-only one, and removes them', async () => {
    const dir = newDir();
    await fill(dir, 3);
    const ids = segmentPaths(dir).map((p) => Number(path.basename(p, '.seg')));
    const next = Math.max(...ids) + 1;
    fs.writeFileSync(path.join(dir, segmentFileName(next)), Buffer.alloc(0));
    const header = Buffer.alloc(SEGMENT_HEADER_SIZE);
    writeSegmentHeader(header, 0, 1000);
    fs.writeFileSync(path.join(dir, segmentFileName(next + 1)), header);
    const [s, rec] = await openStore(dir);
    expect(bodies(s, 'q', rec)).toEqual(['m0', 'm1', 'm2']);
    // The header-only segment said seqs had reached 1000: never go back.
    expect(s.append('q', msg('x'))).toBeGreaterThanOrEqual(1000);
    await s.close();
    const names = fs.readdirSync(dir);
    expect(names).not.toContain(segmentFileName(next));
    expect(names).not.toContain(segmentFileName(next + 1));
  });

  it('sets aside a file with a foreign header and carries on', async () => {
    const dir = newDir();
    await fill(dir, 2);
    fs.writeFileSync(path.join(dir, segmentFileName(999)), Buffer.from('not a segment at all'));
    const [s, rec] = await openStore(dir);
    expect(bodies(s, 'q', rec)).toEqual(['m0', 'm1']);
    expect(s.stats().corruptRecords).toBe(1);
    expect(fs.existsSync(path.join(dir, `${segmentFileName(999)}.corrupt`))).toBe(true);
  });

  it('ignores acks and delivered marks for unknown positions (hand-made segment)', async () => {
    const dir = newDir();
    fs.mkdirSync(dir, { recursive: true });
    const buf = Buffer.alloc(4096);
    writeSegmentHeader(buf, 0, 1);
    let p = SEGMENT_HEADER_SIZE;
    p = encodeSmall(buf, p, RecordType.Ack, 777, null);
    p = encodeSmall(buf, p, RecordType.Delivered, 778, null);
    const start = p;
    p = encodeMessage(buf, p, 5, Buffer.from('q'), msg('hand-made'), true);
    sealRecord(buf, start, p, null);
    p = encodeSmall(buf, p, RecordType.Ack, 4, null); // before the message's seq: unknown
    fs.writeFileSync(path.join(dir, segmentFileName(1)), buf.subarray(0, p));
    const [s, rec] = await openStore(dir);
    expect(bodies(s, 'q', rec)).toEqual(['hand-made']);
    expect(rec.get('q')?.[0]?.seq).toBe(5);
    expect(s.stats().unknownPositions).toBe(3);
    expect(s.append('q', msg('next'))).toBeGreaterThan(777);
  });

  it('keeps order across many segments and several reopenings', async () => {
    const dir = newDir();
    const opts = { segmentSize: 1024 };
    let [s] = await openStore(dir, opts);
    const expected = new Map<string, string[]>([['a', []], ['b', []], ['c', []]]);
    const live: Array<[string, number, string]> = [];
    let rnd = 12345;
    const next = (): number => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 700; i++) {
        const q = ['a', 'b', 'c'][next() % 3] as string;
        const body = `r${round}-${i}-${'x'.repeat(next() % 200)}`;
        live.push([q, s.append(q, msg(body)), body]);
      }
      for (let i = live.length - 1; i >= 0; i--) {
        if (next() % 3 === 0) {
          const [q, seq] = live[i] as [string, number, string];
          expect(s.ack(q, seq)).toBe(true);
          live.splice(i, 1);
        }
      }
      await s.close();
      const [s2, rec] = await openStore(dir, opts);
      for (const q of expected.keys()) {
        expect(bodies(s2, q, rec)).toEqual(live.filter(([lq]) => lq === q).map(([, , b]) => b));
      }
      s = s2;
    }
    expect(s.stats().segments).toBeGreaterThan(10);
  });

  it('deletes a fully acked segment, and recovery afterwards reads only what is left', async () => {
    const dir = newDir();
    const [s] = await openStore(dir, { segmentSize: 4096 });
    const seqs: number[] = [];
    for (let i = 0; i < 200; i++) seqs.push(s.append('q', msg(`m${i}`.padEnd(200, '.'))));
    await durable(s);
    const before = segmentPaths(dir).length;
    expect(before).toBeGreaterThan(8);
    for (const seq of seqs.slice(0, 195)) s.ack('q', seq);
    await s.close();
    expect(s.stats().segmentsDeleted).toBeGreaterThan(0);
    const after = segmentPaths(dir).length;
    expect(after).toBeLessThan(5);
    let t = 0;
    const [s2, rec] = await openStore(dir, { segmentSize: 4096, now: () => (t += 7) });
    expect(bodies(s2, 'q', rec).map((b) => b.replace(/\.+$/, ''))).toEqual(['m195', 'm196', 'm197', 'm198', 'm199']);
    expect(s2.stats().recoveryMs).toBe(7);
  });

  it('keeps a segment whose acks name a live older segment, so acked messages never come back', async () => {
    const dir = newDir();
    const opts = { segmentSize: 1024 };
    const [s] = await openStore(dir, opts);
    const pad = (t: string): Buffer => Buffer.from(t.padEnd(300, '.'));
    const a = [0, 1, 2].map((i) => s.append('q', msg(pad(`a${i}`))));
    const b = [0, 1, 2, 3, 4, 5].map((i) => s.append('r', msg(pad(`b${i}`))));
    // The ack of a1 lands in a newer segment than a1's.
    s.ack('q', a[1] as number);
    for (const seq of b) s.ack('r', seq);
    // Empty the segment holding that ack too (z acked), then roll on (y stays).
    const z = [0, 1, 2, 3, 4, 5].map((i) => s.append('z', msg(pad(`z${i}`))));
    for (const seq of z) s.ack('z', seq);
    for (let i = 0; i < 6; i++) s.append('y', msg(pad(`y${i}`)));
    await s.close();
    expect(s.stats().segmentsDeleted).toBeGreaterThan(0);
    const [s2, rec] = await openStore(dir, opts);
    expect(bodies(s2, 'q', rec).map((x) => x.replace(/\.+$/, ''))).toEqual(['a0', 'a2']);
    expect(rec.get('r')).toBeUndefined();
    expect(rec.get('z')).toBeUndefined();
    const pinned = s2.stats().segments;
    s2.ack('q', a[0] as number);
    s2.ack('q', a[2] as number);
    for (const m of rec.get('y') ?? []) s2.ack('y', m.seq);
    await s2.close();
    const [s3, rec3] = await openStore(dir, opts);
    expect(rec3.size).toBe(0);
    expect(s3.stats().segments).toBeLessThan(pinned);
    expect(s3.stats().segments).toBeLessThanOrEqual(2);
  });

  it('what a confirm covered is on disk without a clean close (copy of the files at confirm time)', async () => {
    const dir = newDir();
    const copy = newDir();
    const [s] = await openStore(dir, { segmentSize: 64 * 1024 });
    const big = Buffer.alloc(100_000, 7); // written from the caller's buffer (writev path)
    const seqs: number[] = [];
    for (let i = 0; i < 300; i++) seqs.push(s.append('q', msg(i === 150 ? big : `c${i}`)));
    s.ack('q', seqs[0] as number);
    await durable(s);
    // Snapshot the directory while the store is still open: as if the process died now.
    for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(copy, f));
    s.append('q', msg('unconfirmed'));
    const [c, rec] = await openStore(copy, { segmentSize: 64 * 1024 });
    const got = rec.get('q') ?? [];
    expect(got.length).toBeGreaterThanOrEqual(299);
    expect(got.slice(0, 299).map((m) => m.seq)).toEqual(seqs.slice(1));
    expect(Buffer.compare(c.read('q', seqs[150] as number).body, big)).toBe(0);
  });

  it('refuses a segment of another format version instead of dropping or misreading it', async () => {
    const dir = newDir();
    await fill(dir, 2);
    const file = segmentPaths(dir)[0] as string;
    const buf = fs.readFileSync(file);
    buf.writeUInt32LE(1, 4); // format version 1: MESSAGE records without enqueuedAt
    fs.writeFileSync(file, buf);
    const s = new SegmentStore({ dir });
    await expect(s.open()).rejects.toThrow(/format version 1/);
    expect(fs.existsSync(file)).toBe(true);
  });

  it('read and readBody verify the checksum of a record damaged after open', async () => {
    const dir = newDir();
    const file = await fill(dir, 3);
    const [s, rec] = await openStore(dir);
    const offs = recordOffsets(file);
    const buf = fs.readFileSync(file);
    const at = offs[1] as number;
    const end = at + 8 + buf.readUInt32LE(at);
    buf[end - 1] = (buf[end - 1] as number) ^ 0x01; // last body byte of m1
    fs.writeFileSync(file, buf);
    const seqs = (rec.get('q') ?? []).map((m) => m.seq);
    expect(s.readBody('q', seqs[0] as number).toString()).toBe('m0');
    expect(() => s.readBody('q', seqs[1] as number)).toThrow(/checksum/);
    expect(() => s.read('q', seqs[1] as number)).toThrow(/checksum/);
    expect(s.read('q', seqs[2] as number).body.toString()).toBe('m2');
  });

  it('keeps at most maxReadFds read descriptors open while paging a backlog over many segments', async () => {
    const dir = newDir();
    const opts = { segmentSize: 1024 };
    const [s] = await openStore(dir, opts);
    const n = 300;
    for (let i = 0; i < n; i++) s.append('q', msg(`m${i}`.padEnd(150, '.')));
    await s.close();
    const procFds = (): number => (fs.existsSync('/proc/self/fd') ? fs.readdirSync('/proc/self/fd').length : 0);
    const [s2, rec] = await openStore(dir, { ...opts, maxReadFds: 3 });
    expect(s2.stats().segments).toBeGreaterThan(30);
    const list = rec.get('q') ?? [];
    expect(list.length).toBe(n);
    const fdsBefore = procFds();
    let rnd = 99;
    for (let k = 0; k < 3 * n; k++) {
      rnd = (rnd * 1103515245 + 12345) & 0x7fffffff;
      const i = rnd % n;
      const m = list[i] as RecoveredMessage;
      expect(s2.readBody('q', m.seq).toString().replace(/\.+$/, '')).toBe(`m${i}`);
      expect(s2.openReadFds).toBeLessThanOrEqual(3);
    }
    expect(s2.openReadFds).toBe(3);
    if (fdsBefore > 0) expect(procFds() - fdsBefore).toBeLessThanOrEqual(3);
    // Emptied segments are deleted with their read descriptors closed.
    for (const m of list) s2.ack('q', m.seq);
    await durable(s2);
    // Deletion follows the durable point in the writer loop: poll briefly.
    for (let t = 0; t < 200 && s2.stats().segments > 2; t++) await new Promise((r) => setTimeout(r, 5));
    expect(s2.openReadFds).toBe(0);
    expect(s2.stats().segments).toBeLessThanOrEqual(2);
    await s2.close();
    expect(s2.openReadFds).toBe(0);
  });

  it('counts deliveries past 0xffff exactly across a restart', async () => {
    const dir = newDir();
    const [s] = await openStore(dir);
    const a = s.append('q', msg('a'));
    for (let i = 0; i < 70_000; i++) s.markDelivered('q', a);
    await s.close();
    const [s2, rec] = await openStore(dir);
    expect(rec.get('q')?.[0]?.deliveryCount).toBe(70_000);
    s2.markDelivered('q', a);
    await s2.close();
    const [, rec3] = await openStore(dir);
    expect(rec3.get('q')?.[0]?.deliveryCount).toBe(70_001);
  });

  it('counts a MESSAGE record whose seq does not exceed the previous one as corrupt (hand-made segment)', async () => {
    const dir = newDir();
    fs.mkdirSync(dir, { recursive: true });
    const buf = Buffer.alloc(4096);
    writeSegmentHeader(buf, 0, 1);
    let p = SEGMENT_HEADER_SIZE;
    for (const [seq, body] of [[10, 'ten'], [10, 'dup'], [7, 'back'], [11, 'eleven']] as const) {
      const start = p;
      p = encodeMessage(buf, p, seq, Buffer.from('q'), msg(body), true);
      sealRecord(buf, start, p, null);
    }
    fs.writeFileSync(path.join(dir, segmentFileName(1)), buf.subarray(0, p));
    const [s, rec] = await openStore(dir);
    expect(bodies(s, 'q', rec)).toEqual(['ten', 'eleven']);
    expect(s.stats().corruptRecords).toBe(2);
  });

  it('serves reads of not-yet-written large bodies from the write buffers', async () => {
    const dir = newDir();
    const [s] = await openStore(dir, { copyBodyBelow: 10 });
    const body = Buffer.from('this body is written by writev from the caller buffer');
    const seq = s.append('q', msg(body));
    // The record spans the write chunk (metadata) and the caller's buffer (body): read whole, CRC checked.
    expect(s.read('q', seq).body.equals(body)).toBe(true);
    expect(s.readBody('q', seq).equals(body)).toBe(true);
    const small = s.append('q', msg(Buffer.from('short')));
    expect(s.take('q', small).body.toString()).toBe('short');
    expect(s.stats().corruptRecords).toBe(0);
    await durable(s);
    const again = s.read('q', seq).body;
    expect(again).not.toBe(body);
    expect(again.equals(body)).toBe(true);
  });
});
