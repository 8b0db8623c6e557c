// The leader pipeline merges segment bytes that queue up behind a full window (SegmentRun), so a
// busy leader sends fewer, larger appends. Merging must never reorder entries, leave a gap in the
// expected sequences, or change the bytes a follower writes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeDelete, FrameType } from '../../src/ha/frames.js';
import { MemoryLog, type AppendFault } from '../../src/ha/memory-log.js';
import { MERGE_LIMIT_BYTES, SegmentRun } from '../../src/ha/segment-run.js';
import { FencedError, Sequencer } from '../../src/ha/sequencer.js';
import { ManualClock } from '../../src/util/clock.js';

const ROOM = 8 * 1024 * 1024;

function seqr(log: MemoryLog, clock: ManualClock, window: number): { s: Sequencer; fenced: FencedError[] } {
  const fenced: FencedError[] = [];
  const s = new Sequencer({ log: log.handle(), clock, node: 'a', epoch: 1, base: log.lastSeq, window, onFenced: (e) => fenced.push(e) });
  return { s, fenced };
}

async function run(clock: ManualClock, ms: number, step = 10): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(step);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

const run1 = (file: string, position: number, bytes: Buffer): SegmentRun => new SegmentRun(`s.${file}`, file, position, [bytes], bytes.length, ROOM);

/** Each log entry as (kind, file, position, bytes). */
function entries(log: MemoryLog): { type: FrameType; file?: string; position?: number; bytes?: Buffer }[] {
  return log.all().map((e) => {
    const f = decodeFrame(e.data);
    return f.type === FrameType.Segment ? { type: f.type, file: f.file, position: f.position, bytes: Buffer.from(f.bytes) } : { type: f.type };
  });
}

describe('coalescing in the leader pipeline', () => {
  it('merges adjacent bytes of one file queued behind a full window into one append', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    log.appendDelayMs = 10;
    const { s } = seqr(log, clock, 1);
    const got: number[] = [];
    for (let i = 0; i < 10; i++) void s.appendItem(run1('f', i * 4, Buffer.from(`r${i}..`.slice(0, 4)))).then((n) => got.push(n));
    await run(clock, 100);
    // The first went out alone; the nine behind it as one frame.
    expect(entries(log).map((e) => [e.position, e.bytes?.length])).toEqual([
      [0, 4],
      [4, 36],
    ]);
    expect(got).toEqual([1, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
    expect(s.merged).toBe(8);
    expect(Buffer.concat(entries(log).map((e) => e.bytes as Buffer)).toString()).toBe('r0..r1..r2..r3..r4..r5..r6..r7..r8..r9..');
  });

  it('never merges across another entry, another file or a gap, and keeps the order', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    log.appendDelayMs = 10;
    const { s } = seqr(log, clock, 1);
    const all = [
      s.appendItem(run1('f', 0, Buffer.from('aa'))),
      s.appendItem(run1('f', 2, Buffer.from('bb'))),
      s.append('ctl', encodeDelete([])),
      s.appendItem(run1('f', 4, Buffer.from('cc'))),
      s.appendItem(run1('g', 6, Buffer.from('dd'))),
      s.appendItem(run1('g', 9, Buffer.from('ee'))),
    ];
    await run(clock, 200);
    expect(await Promise.all(all)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(entries(log).map((e) => (e.type === FrameType.Segment ? `${e.file}@${e.position}:${e.bytes?.toString()}` : 'delete'))).toEqual(['f@0:aa', 'f@2:bb', 'delete', 'f@4:cc', 'g@6:dd', 'g@9:ee']);
  });

  it('stops merging at the merge limit', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    log.appendDelayMs = 10;
    const { s } = seqr(log, clock, 1);
    const chunk = Buffer.alloc(256 * 1024, 7);
    const n = 1 + Math.ceil((3 * MERGE_LIMIT_BYTES) / chunk.length);
    const all = Array.from({ length: n }, (_, i) => s.appendItem(run1('f', i * chunk.length, chunk)));
    await run(clock, 200);
    await Promise.all(all);
    const sizes = entries(log).map((e) => e.bytes?.length as number);
    expect(Math.max(...sizes)).toBe(MERGE_LIMIT_BYTES);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(n * chunk.length);
  });

  it('a fenced pipeline rejects every merged append', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    log.appendDelayMs = 10;
    const { s, fenced } = seqr(log, clock, 1);
    const first = s.appendItem(run1('f', 0, Buffer.from('a')));
    log.appendForeign('ctl', Buffer.from('rival'));
    const merged = [s.appendItem(run1('f', 1, Buffer.from('b'))), s.appendItem(run1('f', 2, Buffer.from('c')))];
    const results = await Promise.allSettled([first, ...merged, run(clock, 500)]);
    expect(results.slice(0, 3).map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(fenced.length).toBe(1);
  });

  it('property: under timeouts and failures, merged appends rebuild the file byte for byte, in order, with consecutive sequences', async () => {
    const fault = fc.constantFrom<AppendFault>({ kind: 'fail' }, { kind: 'timeout-applied' }, { kind: 'timeout-lost' });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ len: fc.integer({ min: 1, max: 64 }), gapBefore: fc.boolean(), plain: fc.boolean() }), { minLength: 1, maxLength: 40 }),
        fc.array(fault, { maxLength: 4 }),
        fc.integer({ min: 1, max: 4 }),
        async (ops, faults, window) => {
          const clock = new ManualClock();
          const log = new MemoryLog(clock);
          log.appendDelayMs = 5;
          log.inject(...faults);
          const { s, fenced } = seqr(log, clock, window);
          const file = Buffer.alloc(64 * 41 + 41, 0);
          let pos = 0;
          let byte = 1;
          const acks: Promise<number>[] = [];
          for (const op of ops) {
            if (op.plain) acks.push(s.append('ctl', encodeDelete([])));
            if (op.gapBefore) pos++;
            const bytes = Buffer.alloc(op.len, byte++ & 0xff || 1);
            bytes.copy(file, pos);
            acks.push(s.appendItem(run1('f', pos, bytes)));
            pos += op.len;
          }
          await run(clock, 20_000, 50);
          const seqs = await Promise.all(acks);
          expect(fenced).toEqual([]);
          for (let i = 1; i < seqs.length; i++) expect(seqs[i] as number).toBeGreaterThanOrEqual(seqs[i - 1] as number);
          expect(log.all().map((e) => e.seq)).toEqual(Array.from({ length: log.all().length }, (_, i) => i + 1));
          const rebuilt = Buffer.alloc(file.length, 0);
          for (const e of entries(log)) if (e.type === FrameType.Segment) (e.bytes as Buffer).copy(rebuilt, e.position as number);
          expect(rebuilt.equals(file)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});
