// A batch larger than one frame goes out as several slices. When the pipeline is closed (fenced,
// or the turn given up) every slice is rejected: the leader must stop replicating, not die of an
// unhandled rejection (vitest fails a test on one).

import { describe, expect, it } from 'vitest';
import { decodeFrame, FrameType, PAYLOAD_HEADROOM } from '../../src/ha/frames.js';
import { MemoryLog } from '../../src/ha/memory-log.js';
import { groupSubjects } from '../../src/ha/replicated-log.js';
import { Replicator } from '../../src/ha/replicator.js';
import { Sequencer } from '../../src/ha/sequencer.js';
import type { Segment } from '../../src/store/segment.js';
import type { SegmentLog } from '../../src/store/segment-log.js';
import { ManualClock } from '../../src/util/clock.js';

const MAX_PAYLOAD = PAYLOAD_HEADROOM + 200;

function setup(): { log: MemoryLog; clock: ManualClock; seq: Sequencer; rep: Replicator; failures: Error[]; segFailures: Error[] } {
  const clock = new ManualClock();
  const log = new MemoryLog(clock);
  log.appendDelayMs = 10;
  const seq = new Sequencer({ log: log.handle(), clock, node: 'a', epoch: 1, base: 0, window: 1, onFenced: () => undefined });
  const failures: Error[] = [];
  const segFailures: Error[] = [];
  const segLog = { replicated: () => undefined, replicationFailed: (e: Error) => segFailures.push(e) } as unknown as SegmentLog;
  const rep = new Replicator(segLog, { sequencer: seq, log: log.handle(), subjects: groupSubjects('g'), dataDir: '/data', maxPayload: MAX_PAYLOAD, onFailed: (e) => failures.push(e) });
  return { log, clock, seq, rep, failures, segFailures };
}

const seg = { path: '/data/vhosts/v1/messages/000000000001.seg' } as unknown as Segment;

async function settle(clock: ManualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    clock.advance(10);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

describe('replicating a batch larger than one frame', () => {
  it('sends it as slices at their positions, and moves replicatedPos once all are in', async () => {
    const { log, clock, rep } = setup();
    const body = Buffer.alloc(1000, 9);
    rep.batch(seg, 64, [body], body.length, 5064);
    await settle(clock, 500);
    const frames = log.all().map((e) => decodeFrame(e.data));
    expect(frames.length).toBeGreaterThan(1);
    let pos = 64;
    for (const f of frames) {
      if (f.type !== FrameType.Segment) throw new Error('not a segment frame');
      expect(f.position).toBe(pos);
      pos += f.bytes.length;
    }
    expect(pos).toBe(64 + 1000);
    expect(rep.replicatedPos).toBe(5064);
  });

  it('a pipeline closed under its slices fails the replication once, with no unhandled rejection', async () => {
    const { clock, seq, rep, failures, segFailures } = setup();
    const body = Buffer.alloc(1000, 9);
    rep.batch(seg, 0, [body], body.length, 1000);
    seq.close(new Error('turn given up'));
    await settle(clock, 200);
    expect(failures.length).toBe(1);
    expect(segFailures.length).toBe(1);
    expect(rep.replicatedPos).toBe(0);
  });
});
