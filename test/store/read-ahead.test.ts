// Paging reads through read-ahead windows: one read(2) serves a run of records, across
// segment boundaries and other queues' records, and every record's CRC is still checked.

import * as fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
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

async function open(segmentSize: number): Promise<[SegmentStore, string]> {
  const dir = tempDir('readahead');
  dirs.push(dir);
  const s = new SegmentStore({ dir, segmentSize, sync: 'off' });
  stores.push(s);
  await s.open();
  return [s, dir];
}

describe('read-ahead', () => {
  it('reads a run of records spanning many segments in far fewer read(2) calls, in order and intact', async () => {
    const [s] = await open(64 * 1024);
    const seqs: number[] = [];
    for (let i = 0; i < 20_000; i++) seqs.push(s.append('q', msg(`body-${i}`, `rk${i % 7}`)));
    await durable(s);
    const segments = s.stats().segments;
    expect(segments).toBeGreaterThan(10);
    const before = s.pagingReads;
    for (let i = 0; i < seqs.length; i++) {
      const m = s.read('q', seqs[i] as number);
      expect(m.body.toString()).toBe(`body-${i}`);
      expect(m.routingKey).toBe(`rk${i % 7}`);
      s.ack('q', seqs[i] as number);
    }
    const reads = s.pagingReads - before;
    // At least one read per segment, but nowhere near one per record.
    expect(reads).toBeGreaterThanOrEqual(segments - 1);
    expect(reads).toBeLessThan(seqs.length / 50);
  });

  it('serves two interleaved queues from the same log, each in order', async () => {
    const [s] = await open(256 * 1024);
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      a.push(s.append('a', msg(`a${i}`)));
      if (i % 3 === 0) b.push(s.append('b', msg(`b${i}`)));
    }
    await durable(s);
    const before = s.pagingReads;
    // Alternate runs of each queue, like two refills taking turns.
    let ia = 0;
    let ib = 0;
    while (ia < a.length || ib < b.length) {
      for (let k = 0; k < 500 && ia < a.length; k++, ia++) expect(s.read('a', a[ia] as number).body.toString()).toBe(`a${ia}`);
      for (let k = 0; k < 200 && ib < b.length; k++, ib++) expect(s.readBody('b', b[ib] as number).toString()).toBe(`b${ib * 3}`);
    }
    expect(s.pagingReads - before).toBeLessThan((a.length + b.length) / 50);
  });

  it('readBody returns a buffer of its own, not a view into the read-ahead window', async () => {
    const [s] = await open(1024 * 1024);
    const seqs = [s.append('q', msg('x'.repeat(16))), s.append('q', msg('y'.repeat(16)))];
    await durable(s);
    const body = s.readBody('q', seqs[0] as number);
    expect(body.toString()).toBe('x'.repeat(16));
    expect(body.buffer.byteLength).toBeLessThan(64 * 1024);
  });

  it('never returns a record whose CRC fails inside a window, counts it, and still serves its neighbours', async () => {
    const [s, dir] = await open(8 * 1024 * 1024);
    const seqs: number[] = [];
    for (let i = 0; i < 1000; i++) seqs.push(s.append('q', msg(`m${String(i).padStart(4, '0')}`)));
    await durable(s);
    // Flip the last body byte of message 500 on disk ("m0500" ends in '0').
    const file = segmentPaths(dir)[0] as string;
    const buf = fs.readFileSync(file);
    const at = buf.indexOf('m0500');
    expect(at).toBeGreaterThan(0);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([(buf[at + 4] as number) ^ 1]), 0, 1, at + 4);
    fs.closeSync(fd);
    const got: string[] = [];
    let failures = 0;
    for (const seq of seqs) {
      try {
        got.push(s.read('q', seq).body.toString());
      } catch (err) {
        expect(String(err)).toMatch(/checksum mismatch/);
        failures++;
      }
    }
    expect(failures).toBe(1);
    expect(got.length).toBe(999);
    expect(got).not.toContain('m0500');
    expect(got[499]).toBe('m0499');
    expect(got[500]).toBe('m0501');
    expect(s.stats().corruptRecords).toBe(1);
    expect(() => s.readBody('q', seqs[500] as number)).toThrow(/checksum mismatch/);
  });

  it('reads records still being written from memory and those written later from disk', async () => {
    const [s] = await open(1024 * 1024);
    const first = s.append('q', msg('first'));
    await durable(s);
    expect(s.read('q', first).body.toString()).toBe('first'); // opens a window ending at the written end
    const second = s.append('q', msg('second'));
    expect(s.read('q', second).body.toString()).toBe('second'); // pending: from memory
    await durable(s);
    expect(s.read('q', second).body.toString()).toBe('second'); // past the window: a new read
  });
});
