// A standby persists its applied sequence at most every persistEveryMs (on the injected clock):
// segment bytes in between are written but not yet recorded; any other frame, and close(), record
// at once. What is recorded never leads what is written: a reopened copy resumes from it.

import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Follower } from '../../src/ha/follower.js';
import { encodeDelete, encodeMark, encodeSegment, FrameType } from '../../src/ha/frames.js';
import type { LogEntry } from '../../src/ha/replicated-log.js';
import { ManualClock } from '../../src/util/clock.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = fs.mkdtempSync(path.join(tmpdir(), 'warren-ha-persist-'));
  dirs.push(d);
  return d;
}

const FILE = 'vhosts/v1/messages/00000001.seg';
let seq = 0;
function seg(position: number, text: string): LogEntry {
  return { seq: ++seq, subject: 'wlog.p.seg.x', data: encodeSegment(FILE, position, Buffer.from(text)) };
}

describe('follower persist interval', () => {
  it('records the applied sequence at most every persistEveryMs, at once for other frames, and at close', async () => {
    seq = 0;
    const D = dataDir();
    const clock = new ManualClock();
    const f = await Follower.open({ dataDir: D, sync: true, persistEveryMs: 200, clock });
    await f.apply([seg(0, 'aaaa')]);
    // The first batch is recorded (nothing was before it).
    expect(f.persisted).toBe(1);
    await f.apply([seg(4, 'bbbb')]);
    await f.apply([seg(8, 'cccc')]);
    expect(f.applied).toBe(3);
    expect(f.persisted).toBe(1);
    expect(Follower.appliedIn(D)).toBe(1);
    // Written all the same: promotion reads the files, not the record.
    expect(fs.readFileSync(path.join(D, FILE), 'utf8')).toBe('aaaabbbbcccc');
    clock.advance(200);
    await f.apply([seg(12, 'dddd')]);
    expect(f.persisted).toBe(4);
    expect(Follower.appliedIn(D)).toBe(4);
    // A heartbeat waits like segment bytes; a DELETE does not.
    await f.apply([{ seq: ++seq, subject: 'wlog.p.ctl', data: encodeMark(FrameType.Heartbeat, 1, 0, 'n') }]);
    expect(f.persisted).toBe(4);
    await f.apply([{ seq: ++seq, subject: 'wlog.p.ctl', data: encodeDelete(['vhosts/v1/messages/00000009.seg']) }]);
    expect(f.persisted).toBe(6);
    await f.apply([seg(16, 'eeee')]);
    expect(f.persisted).toBe(6);
    await f.close();
    expect(Follower.appliedIn(D)).toBe(7);
    const again = await Follower.open({ dataDir: D, sync: true, persistEveryMs: 200, clock });
    expect(again.applied).toBe(7);
    await again.close();
  });

  it('records after every batch without an interval', async () => {
    seq = 0;
    const D = dataDir();
    const f = await Follower.open({ dataDir: D, sync: true });
    await f.apply([seg(0, 'aaaa')]);
    await f.apply([seg(4, 'bbbb')]);
    expect(Follower.appliedIn(D)).toBe(2);
    await f.close();
  });
});
