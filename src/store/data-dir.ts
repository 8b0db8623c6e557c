// Layout of the data directory: one directory per vhost, so each vhost owns its stores.
//
//   <data>/vhosts/<id>/.vhost          the vhost's name, UTF-8 (written before the directory appears)
//   <data>/vhosts/<id>/messages/       segment store
//   <data>/vhosts/<id>/definitions/    definitions log
//   <data>/vhosts/<id>/spill/          transient paging, emptied at every start
//
// <id> is the SHA-256 of the UTF-8 name, 32 hex digits: a safe file name for any vhost name
// ('/', '%', '..', any Unicode) and of fixed length (hex of a 255-byte name would pass the
// 255-byte file-name limit). The name itself is read back from `.vhost`.
//
// Every change of the set of vhost directories is one rename of a directory that is already
// complete, then an fsync of the parent: a crash leaves the old state or the new one. Staging
// and trash directories start with '.', so a listing never mistakes them for vhosts.

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncDir } from './segment-io.js';

export const VHOSTS_DIR = 'vhosts';
export const MANIFEST = '.vhost';
/** Subdirectories of a vhost directory, and of the flat layout of releases before per-vhost stores. */
export const STORE_DIRS = ['messages', 'definitions', 'spill'] as const;
const STAGING = '.new-';
const TRASH = '.deleted-';
const MIGRATING = '.migrating-';

export function vhostId(name: string): string {
  return createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 32);
}

export function vhostsRoot(dataDir: string): string {
  return path.join(dataDir, VHOSTS_DIR);
}

export function vhostDir(dataDir: string, name: string): string {
  return path.join(vhostsRoot(dataDir), vhostId(name));
}

function exists(p: string): boolean {
  return fs.existsSync(p);
}

async function writeManifest(dir: string, name: string): Promise<void> {
  const file = path.join(dir, MANIFEST);
  const fd = await fs.promises.open(file, 'w');
  try {
    await fd.writeFile(Buffer.from(name, 'utf8'));
    await fd.sync();
  } finally {
    await fd.close();
  }
}

/** Make the vhosts root (and the data dir) exist, durably. */
async function ensureRoot(dataDir: string): Promise<string> {
  const root = vhostsRoot(dataDir);
  if (!exists(root)) {
    await fs.promises.mkdir(root, { recursive: true });
    await fsyncDir(dataDir);
  }
  return root;
}

/** Create the directory of vhost `name` if it has none; returns its path. */
export async function createVhostDir(dataDir: string, name: string): Promise<string> {
  const root = await ensureRoot(dataDir);
  const dir = vhostDir(dataDir, name);
  if (exists(dir)) return dir;
  const staging = path.join(root, STAGING + vhostId(name));
  await fs.promises.rm(staging, { recursive: true, force: true });
  await fs.promises.mkdir(staging);
  await writeManifest(staging, name);
  await fsyncDir(staging);
  await fs.promises.rename(staging, dir);
  await fsyncDir(root);
  return dir;
}

/** Remove the directory of vhost `name` and everything in it (its stores must be closed). */
export async function removeVhostDir(dataDir: string, name: string): Promise<void> {
  const root = vhostsRoot(dataDir);
  const dir = vhostDir(dataDir, name);
  if (!exists(dir)) return;
  // One rename takes the vhost away; a crash during the rm leaves only trash, cleared at start.
  const trash = path.join(root, TRASH + vhostId(name) + '-' + randomBytes(4).toString('hex'));
  await fs.promises.rename(dir, trash);
  await fsyncDir(root);
  await fs.promises.rm(trash, { recursive: true, force: true });
}

export interface FoundVhost {
  name: string;
  dir: string;
}

/**
 * The vhost directories under `dataDir`, after clearing leftovers of interrupted creates and
 * deletes. A directory whose manifest is missing or names another vhost is reported, not used.
 */
export async function listVhostDirs(dataDir: string, onBad: (dir: string, why: string) => void): Promise<FoundVhost[]> {
  const root = vhostsRoot(dataDir);
  if (!exists(root)) return [];
  const out: FoundVhost[] = [];
  for (const entry of (await fs.promises.readdir(root, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const dir = path.join(root, entry.name);
    if (entry.name.startsWith(STAGING) || entry.name.startsWith(TRASH)) {
      await fs.promises.rm(dir, { recursive: true, force: true });
      continue;
    }
    if (entry.name.startsWith('.') || !entry.isDirectory()) continue;
    let name: string;
    try {
      name = (await fs.promises.readFile(path.join(dir, MANIFEST))).toString('utf8');
    } catch (err) {
      onBad(dir, err instanceof Error ? err.message : String(err));
      continue;
    }
    if (vhostId(name) !== entry.name) {
      onBad(dir, 'manifest names a vhost whose id is not this directory');
      continue;
    }
    out.push({ name, dir });
  }
  return out;
}

/** Outcome of migrateFlatLayout. */
export type Migration = 'none' | 'migrated';

/**
 * A data dir written before per-vhost stores has messages/ and definitions/ (and spill/) directly
 * under it, all of vhost '/'. They move into '/''s directory:
 *   1. spill/ is deleted (transient; every start empties it anyway);
 *   2. a staging directory `vhosts/.migrating-<id>` gets the manifest;
 *   3. messages/ and definitions/ are renamed into it one by one, fsyncing both parents;
 *   4. the staging directory is renamed to `vhosts/<id>`, and vhosts/ fsynced.
 * A crash at any point leaves each store directory whole in exactly one place (renames are atomic),
 * and nothing reads a vhost from a directory until step 4. The next start sees the staging
 * directory and finishes the same steps: it rolls forward and never deletes what it moved.
 */
export async function migrateFlatLayout(dataDir: string): Promise<Migration> {
  const legacy = (['messages', 'definitions'] as const).filter((d) => exists(path.join(dataDir, d)));
  const root = vhostsRoot(dataDir);
  const id = vhostId('/');
  const staging = path.join(root, MIGRATING + id);
  const target = path.join(root, id);
  if (legacy.length === 0 && !exists(staging)) {
    // A spill dir alone holds nothing worth keeping.
    await fs.promises.rm(path.join(dataDir, 'spill'), { recursive: true, force: true });
    return 'none';
  }
  if (exists(target)) {
    // Both layouts: probably an older release started on a migrated data dir. Guessing would lose messages.
    throw new Error(
      `data dir ${dataDir} holds both the flat layout (${[...legacy, exists(staging) ? path.relative(dataDir, staging) : ''].filter((s) => s !== '').join(', ')}) and the per-vhost layout; move one of them away`,
    );
  }
  await fs.promises.rm(path.join(dataDir, 'spill'), { recursive: true, force: true });
  await ensureRoot(dataDir);
  if (!exists(staging)) {
    await fs.promises.mkdir(staging);
    await fsyncDir(root);
  }
  // Rewritten on a resumed migration too: a crash may have left it empty.
  await writeManifest(staging, '/');
  await fsyncDir(staging);
  for (const d of legacy) {
    await fs.promises.rename(path.join(dataDir, d), path.join(staging, d));
    await fsyncDir(staging);
    await fsyncDir(dataDir);
  }
  await fs.promises.rename(staging, target);
  await fsyncDir(root);
  return 'migrated';
}
