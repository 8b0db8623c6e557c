// The data dir's per-vhost layout: safe directory names for any vhost name, atomic create and
// delete, and the migration of the flat layout, including resuming after a crash at each step.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MANIFEST, createVhostDir, listVhostDirs, migrateFlatLayout, removeVhostDir, vhostDir, vhostId, vhostsRoot } from '../../src/store/data-dir.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warren-data-dir-'));
  dirs.push(d);
  return d;
}

/** A flat (pre-vhost) data dir with one file in each store directory. */
function flatLayout(dir: string): void {
  for (const d of ['messages', 'definitions', 'spill']) {
    mkdirSync(join(dir, d));
    writeFileSync(join(dir, d, `${d}.bin`), `${d}-content`);
  }
}

function expectMigrated(dir: string): void {
  const root = vhostDir(dir, '/');
  expect(readdirSync(dir)).toEqual(['vhosts']);
  expect(readdirSync(vhostsRoot(dir))).toEqual([vhostId('/')]);
  expect(readFileSync(join(root, MANIFEST), 'utf8')).toBe('/');
  expect(readFileSync(join(root, 'messages', 'messages.bin'), 'utf8')).toBe('messages-content');
  expect(readFileSync(join(root, 'definitions', 'definitions.bin'), 'utf8')).toBe('definitions-content');
  // The spill directory is transient: dropped, not moved.
  expect(existsSync(join(root, 'spill'))).toBe(false);
}

const noBad = (dir: string, why: string): never => {
  throw new Error(`unexpected bad vhost dir ${dir}: ${why}`);
};

describe('vhost directories', () => {
  it('gives every name its own fixed-length hex directory, read back from the name file', async () => {
    const dir = dataDir();
    const names = ['/', '', '%2F', '%', '..', '.', 'a/b', 'ü/日本', 'x'.repeat(255), 'A', 'a'];
    for (const n of names) await createVhostDir(dir, n);
    const ids = new Set(names.map(vhostId));
    expect(ids.size).toBe(names.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    const found = await listVhostDirs(dir, noBad);
    expect(found.map((f) => f.name).sort()).toEqual([...names].sort());
    for (const f of found) expect(f.dir).toBe(vhostDir(dir, f.name));
  });

  it('keeps the id of a name stable across releases (a new scheme would orphan data)', () => {
    expect(vhostId('/')).toBe('8a5edab282632443219e051e4ade2d1d');
  });

  it('clears leftovers of an interrupted create or delete, and reports a directory without a valid name file', async () => {
    const dir = dataDir();
    await createVhostDir(dir, 'kept');
    const root = vhostsRoot(dir);
    mkdirSync(join(root, '.new-' + vhostId('half-made')));
    mkdirSync(join(root, '.deleted-' + vhostId('gone') + '-0011aabb'));
    mkdirSync(join(root, vhostId('no-name-file')));
    mkdirSync(join(root, vhostId('wrong')));
    writeFileSync(join(root, vhostId('wrong'), MANIFEST), 'not wrong');
    const bad: string[] = [];
    const found = await listVhostDirs(dir, (d) => bad.push(d));
    expect(found.map((f) => f.name)).toEqual(['kept']);
    expect(bad.sort()).toEqual([join(root, vhostId('no-name-file')), join(root, vhostId('wrong'))].sort());
    // Bad directories are left for the operator; leftovers are gone.
    expect(readdirSync(root).sort()).toEqual([vhostId('kept'), vhostId('no-name-file'), vhostId('wrong')].sort());
  });

  it('removes a vhost directory and all it holds', async () => {
    const dir = dataDir();
    const d = await createVhostDir(dir, 'doomed');
    mkdirSync(join(d, 'messages'));
    writeFileSync(join(d, 'messages', 'x.seg'), 'x');
    await removeVhostDir(dir, 'doomed');
    expect(readdirSync(vhostsRoot(dir))).toEqual([]);
    await removeVhostDir(dir, 'doomed');
  });
});

describe('migrating the flat layout', () => {
  it('moves messages and definitions of a flat data dir into the / vhost', async () => {
    const dir = dataDir();
    flatLayout(dir);
    expect(await migrateFlatLayout(dir)).toBe('migrated');
    expectMigrated(dir);
    expect(await migrateFlatLayout(dir)).toBe('none');
    expectMigrated(dir);
  });

  it('does nothing to a fresh data dir', async () => {
    const dir = dataDir();
    expect(await migrateFlatLayout(dir)).toBe('none');
    expect(readdirSync(dir)).toEqual([]);
  });

  // Each state a crash can leave (renames are atomic, so a store directory is in one place).
  const crashes: [string, (dir: string) => void][] = [
    ['after the spill directory was deleted', (dir) => rmSync(join(dir, 'spill'), { recursive: true })],
    [
      'after the staging directory was made, before its name file',
      (dir) => {
        rmSync(join(dir, 'spill'), { recursive: true });
        mkdirSync(join(vhostsRoot(dir), '.migrating-' + vhostId('/')), { recursive: true });
      },
    ],
    [
      'with an empty name file',
      (dir) => {
        const staging = join(vhostsRoot(dir), '.migrating-' + vhostId('/'));
        mkdirSync(staging, { recursive: true });
        writeFileSync(join(staging, MANIFEST), '');
      },
    ],
    [
      'after messages/ moved, before definitions/',
      (dir) => {
        const staging = join(vhostsRoot(dir), '.migrating-' + vhostId('/'));
        mkdirSync(staging, { recursive: true });
        writeFileSync(join(staging, MANIFEST), '/');
        renameSync(join(dir, 'messages'), join(staging, 'messages'));
      },
    ],
    [
      'after both moved, before the staging directory was renamed',
      (dir) => {
        const staging = join(vhostsRoot(dir), '.migrating-' + vhostId('/'));
        mkdirSync(staging, { recursive: true });
        writeFileSync(join(staging, MANIFEST), '/');
        renameSync(join(dir, 'messages'), join(staging, 'messages'));
        renameSync(join(dir, 'definitions'), join(staging, 'definitions'));
      },
    ],
  ];
  for (const [when, crash] of crashes) {
    it(`finishes a migration interrupted ${when}`, async () => {
      const dir = dataDir();
      flatLayout(dir);
      crash(dir);
      // Nothing half-migrated is taken for a vhost.
      expect(await listVhostDirs(dir, noBad)).toEqual([]);
      expect(await migrateFlatLayout(dir)).toBe('migrated');
      expectMigrated(dir);
    });
  }

  it('refuses a data dir holding both layouts rather than guess', async () => {
    const dir = dataDir();
    await createVhostDir(dir, '/');
    flatLayout(dir);
    await expect(migrateFlatLayout(dir)).rejects.toThrow(/both the flat layout \(messages, definitions\) and the per-vhost layout/);
    expect(readFileSync(join(dir, 'messages', 'messages.bin'), 'utf8')).toBe('messages-content');
  });
});
