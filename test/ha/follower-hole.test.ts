// A follower's copy of a definitions log only grows from its end, or is rewritten from a position
// inside it (a frame applied again, a torn tail cut). A DEFS frame beyond its end means the copy
// missed records: CopyHoleError (an UnappliableEntryError, so the follow loop stops), nothing
// written. A frame at position 0 starts a file and is never a hole.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CopyHoleError, Follower } from '../../src/ha/follower.js';
import { splitDefs } from '../../src/ha/frames.js';
import { MemoryLog } from '../../src/ha/memory-log.js';
import { groupSubjects, UnappliableEntryError } from '../../src/ha/replicated-log.js';
import { vhostId } from '../../src/store/data-dir.js';
import { ManualClock } from '../../src/util/clock.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const subjects = groupSubjects('hole');
const tmp = tempDirs('warren-ha-hole');
const FILE = `vhosts/${vhostId('/')}/definitions/definitions.log`;

function defs(log: MemoryLog, position: number, bytes: string, file = FILE): void {
  log.appendForeign(subjects.defs, splitDefs(file, position, Buffer.from(bytes), 1 << 20)[0] as Buffer);
}

/** Applies every entry of `log` after what `f` applied; the error thrown, or null. */
async function applyRest(f: Follower, log: MemoryLog): Promise<Error | null> {
  try {
    await f.apply(await log.handle().read(f.applied + 1, 1_000, 0));
    return null;
  } catch (err) {
    return err as Error;
  }
}

describe('follower: a definitions frame beyond the end of the copy is a hole', () => {
  it('frames at 0, at the end and inside the file apply; one past the end throws CopyHoleError and writes nothing', async () => {
    const data = tmp('copy');
    const file = path.join(data, ...FILE.split('/'));
    const log = new MemoryLog(new ManualClock());
    const f = await Follower.open({ dataDir: data, sync: false });
    defs(log, 0, 'HEADER-r1');
    defs(log, 9, '-r2');
    // The same record again (a replay after a crash), then a torn tail cut by a new leader's first record.
    defs(log, 9, '-r2');
    defs(log, 9, '-R2');
    expect(await applyRest(f, log)).toBeNull();
    expect(fs.readFileSync(file, 'utf8')).toBe('HEADER-r1-R2');
    expect(f.applied).toBe(4);

    // 12 bytes held: a record at 20 follows records this copy never got.
    defs(log, 20, '-r4');
    const err = await applyRest(f, log);
    expect(err).toBeInstanceOf(CopyHoleError);
    expect(err).toBeInstanceOf(UnappliableEntryError);
    expect(err?.name).toBe('CopyHoleError');
    expect(err?.message).toBe(`replicated log entry 5 (${subjects.defs}): definitions frame at position 20 of ${FILE}, which this copy holds only 12 bytes of: records were missed`);
    expect(fs.readFileSync(file, 'utf8')).toBe('HEADER-r1-R2');
    expect(f.applied).toBe(4);
    await f.close();
    expect(Follower.appliedIn(data)).toBe(4);
  });

  it('a frame past 0 of a file the copy does not have is a hole, and the file is not made; at 0 it starts the file', async () => {
    const data = tmp('copy');
    const other = `vhosts/${vhostId('other')}/definitions/definitions.log`;
    const log = new MemoryLog(new ManualClock());
    const f = await Follower.open({ dataDir: data, sync: false });
    defs(log, 40, '-r9', other);
    const err = await applyRest(f, log);
    expect(err).toBeInstanceOf(CopyHoleError);
    expect(err?.message).toMatch(/which this copy holds only 0 bytes of/);
    expect(fs.existsSync(path.join(data, ...other.split('/')))).toBe(false);
    expect(f.applied).toBe(0);
    await f.close();

    // The copy rebuilt from a stream that starts the file: no hole.
    const fresh = new MemoryLog(new ManualClock());
    defs(fresh, 0, 'HEADER-r1', other);
    const g = await Follower.open({ dataDir: tmp('fresh'), sync: false });
    expect(await applyRest(g, fresh)).toBeNull();
    expect(g.stats().defs).toBe(1);
    await g.close();
  });
});
