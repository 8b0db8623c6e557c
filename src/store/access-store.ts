// Broker-wide access state (users, vhost metadata and limits, permissions, topic permissions,
// cluster name) as one snapshot file, `<data>/access.snapshot`, replaced atomically on every change.
//
// Format: 8-byte header ("WRNA", u32 version 1), then one record framed like the message
// segments (u32 length, u32 CRC-32 of the length bytes and payload), the payload the state as
// UTF-8 JSON. A change writes the whole snapshot to a temp file, fsyncs it, renames it over the
// old one and fsyncs the directory: a crash (SIGKILL, power loss) leaves the old snapshot or the
// new one. The state is small (thousands of users are a few hundred KiB), so rewriting it is
// cheaper to reason about than a log; saves that arrive while one is being written share the next write.
//
// Under HA the file is replicated whole: each snapshot's bytes go to the replication hook once
// written locally, and a save resolves only when the hook has (the replicated log acknowledged them).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from '../util/crc32.js';
import { RECORD_HEADER_SIZE, recordChecksumOk } from './record.js';
import { fsyncDir } from './segment-io.js';

export interface StoredUser {
  readonly name: string;
  /** base64(salt ‖ hash); '' for a user without a password. */
  readonly passwordHash: string;
  readonly hashingAlgorithm: string;
  readonly tags: readonly string[];
  readonly limits: Readonly<Record<string, number>>;
}

export interface StoredVhost {
  readonly name: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly defaultQueueType: string;
  readonly limits: Readonly<Record<string, number>>;
}

export interface StoredPermission {
  readonly user: string;
  readonly vhost: string;
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

export interface StoredTopicPermission {
  readonly user: string;
  readonly vhost: string;
  readonly exchange: string;
  readonly write: string;
  readonly read: string;
}

export interface AccessSnapshot {
  readonly users: readonly StoredUser[];
  readonly vhosts: readonly StoredVhost[];
  readonly permissions: readonly StoredPermission[];
  readonly topicPermissions: readonly StoredTopicPermission[];
  readonly clusterName: string | null;
  /**
   * Vhosts deleted whose directories may still exist (a crash between this snapshot and the
   * directory's removal): removed at the next start, not mistaken for vhosts made outside this state.
   */
  readonly deletedVhosts: readonly string[];
  /** SHA-256 of the definitions imported at the last boot (definitions.skip_if_unchanged). */
  readonly bootDefinitionsHash: string | null;
}

export const ACCESS_FILE = 'access.snapshot';
const TMP_SUFFIX = '.tmp';
const MAGIC = 0x414e5257; // "WRNA" as u32 LE
const VERSION = 1;
const FILE_HEADER_SIZE = 8;

export class AccessStoreError extends Error {
  override readonly name = 'AccessStoreError';
}

/** Replication (HA) of the data dir's broker-wide state, on a leader. */
export interface AccessReplication {
  /** The bytes of a snapshot written locally; the change it holds is acknowledged once this resolves. */
  snapshot(bytes: Buffer): Promise<void>;
  /** Vhost directory `dir` (absolute) is about to be removed: followers remove their copy. */
  vhostRemoved(dir: string): Promise<void>;
  /**
   * The replicated log holds the group's data, yet its access snapshot never reached this node:
   * no snapshot here is lost state, not a first start, and the start is refused.
   */
  readonly snapshotLost?: boolean;
}

/**
 * `bytes` (an encoded snapshot) as `<dataDir>/access.snapshot`, atomically: temp file, fsync,
 * rename over the snapshot, fsync the directory (the fsyncs only when `sync`).
 */
export async function writeSnapshotFile(dataDir: string, bytes: Uint8Array, sync = true): Promise<void> {
  const file = path.join(dataDir, ACCESS_FILE);
  const tmp = file + TMP_SUFFIX;
  await fs.promises.mkdir(dataDir, { recursive: true });
  const h = await fs.promises.open(tmp, 'w');
  try {
    await h.writeFile(bytes);
    if (sync) await h.sync();
  } finally {
    await h.close();
  }
  await fs.promises.rename(tmp, file);
  if (sync) await fsyncDir(dataDir);
}

export function encodeSnapshot(s: AccessSnapshot): Buffer {
  const payload = Buffer.from(JSON.stringify(s), 'utf8');
  const out = Buffer.allocUnsafe(FILE_HEADER_SIZE + RECORD_HEADER_SIZE + payload.length);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(VERSION, 4);
  out.writeUInt32LE(payload.length, FILE_HEADER_SIZE);
  payload.copy(out, FILE_HEADER_SIZE + RECORD_HEADER_SIZE);
  out.writeUInt32LE(crc32(payload, crc32(out.subarray(FILE_HEADER_SIZE, FILE_HEADER_SIZE + 4))), FILE_HEADER_SIZE + 4);
  return out;
}

/** Throws AccessStoreError naming the file on a bad header, length, checksum or shape. */
export function decodeSnapshot(buf: Buffer, file: string): AccessSnapshot {
  if (buf.length < FILE_HEADER_SIZE + RECORD_HEADER_SIZE || buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== VERSION) {
    throw new AccessStoreError(`${file} is not a warren access snapshot (version ${VERSION})`);
  }
  const len = buf.readUInt32LE(FILE_HEADER_SIZE);
  if (len !== buf.length - FILE_HEADER_SIZE - RECORD_HEADER_SIZE || !recordChecksumOk(buf, FILE_HEADER_SIZE, len)) {
    // Never a torn write (the file is renamed into place whole): the disk damaged it.
    throw new AccessStoreError(`${file} fails its checksum: the access state (users, permissions, vhost limits) is damaged`);
  }
  const v = JSON.parse(buf.toString('utf8', FILE_HEADER_SIZE + RECORD_HEADER_SIZE)) as unknown;
  return checkSnapshot(v, file);
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkSnapshot(v: unknown, file: string): AccessSnapshot {
  const bad = (what: string): AccessStoreError => new AccessStoreError(`${file}: malformed ${what}`);
  if (!isObj(v)) throw bad('snapshot');
  const list = (k: string): Obj[] => {
    const a = v[k];
    if (!Array.isArray(a) || !a.every(isObj)) throw bad(k);
    return a;
  };
  const strs = (o: Obj, keys: readonly string[], what: string): void => {
    for (const k of keys) if (typeof o[k] !== 'string') throw bad(`${what}.${k}`);
  };
  const limits = (o: Obj, what: string): void => {
    const l = o['limits'];
    if (!isObj(l) || !Object.values(l).every((n) => typeof n === 'number')) throw bad(`${what}.limits`);
  };
  const tags = (o: Obj, what: string): void => {
    const t = o['tags'];
    if (!Array.isArray(t) || !t.every((x) => typeof x === 'string')) throw bad(`${what}.tags`);
  };
  for (const u of list('users')) {
    strs(u, ['name', 'passwordHash', 'hashingAlgorithm'], 'user');
    tags(u, 'user');
    limits(u, 'user');
  }
  for (const h of list('vhosts')) {
    strs(h, ['name', 'description', 'defaultQueueType'], 'vhost');
    tags(h, 'vhost');
    limits(h, 'vhost');
  }
  for (const p of list('permissions')) strs(p, ['user', 'vhost', 'configure', 'write', 'read'], 'permission');
  for (const p of list('topicPermissions')) strs(p, ['user', 'vhost', 'exchange', 'write', 'read'], 'topic permission');
  const deleted = v['deletedVhosts'];
  if (!Array.isArray(deleted) || !deleted.every((x) => typeof x === 'string')) throw bad('deletedVhosts');
  for (const k of ['clusterName', 'bootDefinitionsHash']) if (v[k] !== null && typeof v[k] !== 'string') throw bad(k);
  return v as unknown as AccessSnapshot;
}

export class AccessStore {
  readonly file: string;
  private readonly dir: string;
  private readonly tmp: string;
  /** The write in progress, and the newest snapshot waiting for the next one. */
  private writing: Promise<void> | null = null;
  private next: { snapshot: AccessSnapshot; done: Promise<void>; resolve: () => void; reject: (e: Error) => void } | null = null;
  private readonly replicate: ((bytes: Buffer) => Promise<void>) | null;
  /** Snapshot files written (for tests and metrics). */
  writes = 0;

  /** `replicate`: each snapshot's bytes once on disk (HA); a save waits for it. */
  constructor(dataDir: string, replicate: ((bytes: Buffer) => Promise<void>) | null = null) {
    this.dir = dataDir;
    this.file = path.join(dataDir, ACCESS_FILE);
    this.tmp = this.file + TMP_SUFFIX;
    this.replicate = replicate;
  }

  /**
   * Hands the stored snapshot to the replication hook again, unchanged (a new HA leader, so its
   * followers converge on the state it serves); nothing without a hook or a stored snapshot.
   */
  async republish(): Promise<void> {
    if (this.replicate === null) return;
    await this.writing;
    let buf: Buffer;
    try {
      buf = await fs.promises.readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await this.replicate(buf);
  }

  /** The stored snapshot, or null when there is none (a data dir never started with access state). */
  async load(): Promise<AccessSnapshot | null> {
    // A temp file is a save that did not finish: the snapshot it would have replaced is intact.
    await fs.promises.rm(this.tmp, { force: true });
    let buf: Buffer;
    try {
      buf = await fs.promises.readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return decodeSnapshot(buf, this.file);
  }

  /**
   * Resolves once `snapshot` (or a later one) is on disk. Saves made while a write runs are
   * coalesced: only the newest is written next, and all of them wait for that write.
   */
  save(snapshot: AccessSnapshot): Promise<void> {
    if (this.next !== null) {
      this.next.snapshot = snapshot;
      return this.next.done;
    }
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.next = { snapshot, done, resolve, reject };
    if (this.writing === null) this.writing = this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    while (this.next !== null) {
      const job = this.next;
      this.next = null;
      try {
        await this.write(job.snapshot);
        job.resolve();
      } catch (err) {
        job.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    this.writing = null;
  }

  /** Remove the snapshot (a first start that failed: the next start is a first start again). */
  async remove(): Promise<void> {
    await this.writing;
    await fs.promises.rm(this.file, { force: true });
    await fsyncDir(this.dir);
  }

  /** temp file, fsync, rename over the snapshot, fsync the directory; then replicated. */
  private async write(snapshot: AccessSnapshot): Promise<void> {
    const bytes = encodeSnapshot(snapshot);
    await writeSnapshotFile(this.dir, bytes);
    this.writes++;
    // Inside the write loop: snapshots reach the replicated log one at a time, in order.
    if (this.replicate !== null) await this.replicate(bytes);
  }
}
