// What a follower makes durable before it records an applied sequence: the directory entry of the
// access snapshot's partial file (made, or started again for another snapshot) is fsynced too,
// not only the file's bytes. fsyncDir is observed, not replaced.

import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Follower, HA_DIR } from '../../src/ha/follower.js';
import { splitAccess } from '../../src/ha/frames.js';
import { MemoryLog } from '../../src/ha/memory-log.js';
import { groupSubjects } from '../../src/ha/replicated-log.js';
import { encodeSnapshot } from '../../src/store/access-store.js';
import { ManualClock } from '../../src/util/clock.js';

const { synced } = vi.hoisted(() => ({ synced: [] as string[] }));

vi.mock('../../src/store/segment-io.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../src/store/segment-io.js')>();
  return {
    ...orig,
    fsyncDir: async (dir: string): Promise<void> => {
      synced.push(dir);
      await orig.fsyncDir(dir);
    },
  };
});

const subjects = groupSubjects('d');
const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('follower durability', () => {
  it('fsyncs ha/ once the access snapshot\'s partial file is made, before the applied sequence moves', async () => {
    const F = fs.mkdtempSync(path.join(tmpdir(), 'warren-ha-durable-'));
    dirs.push(F);
    const users = Array.from({ length: 200 }, (_, i) => ({ name: `user-${i}`, passwordHash: Buffer.alloc(36, i).toString('base64'), hashingAlgorithm: 'rabbit_password_hashing_sha256', tags: [], limits: {} }));
    const big = encodeSnapshot({ users, vhosts: [], permissions: [], topicPermissions: [], clusterName: null, deletedVhosts: [], bootDefinitionsHash: null });
    const parts = splitAccess(big, 4096);
    expect(parts.length).toBeGreaterThan(1);
    const log = new MemoryLog(new ManualClock());
    for (const p of parts) log.appendForeign(subjects.access, p);
    const f = await Follower.open({ dataDir: F, sync: true });
    synced.length = 0;
    await f.apply(await log.handle().read(1, 1, 0));
    expect(fs.existsSync(path.join(F, HA_DIR, 'access.partial'))).toBe(true);
    expect(synced).toContain(path.join(F, HA_DIR));
    expect(f.applied).toBe(1);
    await f.close();
  });
});
