// A follower applies the replicated log to its own data directory, deterministically: SEGMENT
// bytes go to the same file at the same position as on the leader, DELETE frames unlink
// segments, DEFS ops are appended to the vhost's definitions log (replaying it gives the same
// state as the leader's, compacted or not). After each batch the files touched are fsynced,
// then the applied sequence is persisted in <data>/ha/applied: applying a frame twice after a
// crash writes the same bytes again, so the sequence may lag the files but never lead them.
//
// On promotion the directory is recovered by warren's normal start-up (store/recovery.ts), which
// treats it like the leader's after a crash: torn tails cut, unsealed segments checked in full.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFINITIONS_LOG_NAME, definitionsFileHeader, frameDefinitionsRecord } from '../store/definitions-codec.js';
import { MANIFEST } from '../store/data-dir.js';
import { fsyncDir } from '../store/segment-io.js';
import { crc32 } from '../util/crc32.js';
import { decodeFrame, FrameType } from './frames.js';
import type { Applier } from './leadership.js';
import type { LogEntry } from './replicated-log.js';

export const HA_DIR = 'ha';
const APPLIED_FILE = 'applied';
/** u64 sequence (as two u32), u32 CRC-32 of those 8 bytes. */
const APPLIED_SIZE = 12;

export interface FollowerOptions {
  dataDir: string;
  /** fsync files and directories before recording the applied sequence (off only in tests). */
  sync: boolean;
}

export interface FollowerStats {
  readonly applied: number;
  readonly segmentBytes: number;
  readonly deletes: number;
  readonly defs: number;
}

export class Follower implements Applier {
  applied = 0;
  private readonly dataDir: string;
  private readonly sync: boolean;
  private readonly fds = new Map<string, number>();
  /** Files written and directories changed since the last persist. */
  private readonly dirtyFiles = new Set<string>();
  private readonly dirtyDirs = new Set<string>();
  private appliedFd = -1;
  segmentBytes = 0;
  deletes = 0;
  defs = 0;

  private constructor(o: FollowerOptions) {
    this.dataDir = o.dataDir;
    this.sync = o.sync;
  }

  /** Opens (or starts) the follower state of a data directory. */
  static async open(o: FollowerOptions): Promise<Follower> {
    const f = new Follower(o);
    const dir = path.join(o.dataDir, HA_DIR);
    await fs.promises.mkdir(dir, { recursive: true });
    const file = path.join(dir, APPLIED_FILE);
    f.applied = readApplied(file);
    f.appliedFd = fs.openSync(file, fs.existsSync(file) ? 'r+' : 'w+');
    return f;
  }

  /** The sequence persisted in a data directory (0 if none): what a restarted follower resumes from. */
  static appliedIn(dataDir: string): number {
    return readApplied(path.join(dataDir, HA_DIR, APPLIED_FILE));
  }

  stats(): FollowerStats {
    return { applied: this.applied, segmentBytes: this.segmentBytes, deletes: this.deletes, defs: this.defs };
  }

  async apply(entries: readonly LogEntry[]): Promise<void> {
    let last = this.applied;
    for (const e of entries) {
      if (e.seq <= last) throw new Error(`replicated log went backwards: ${e.seq} after ${last}`);
      const f = decodeFrame(e.data);
      switch (f.type) {
        case FrameType.Segment: {
          const fd = this.fd(f.file);
          const n = fs.writeSync(fd, f.bytes, 0, f.bytes.length, f.position);
          if (n !== f.bytes.length) throw new Error(`short write to ${f.file}`);
          this.dirtyFiles.add(f.file);
          this.segmentBytes += n;
          break;
        }
        case FrameType.Delete:
          for (const file of f.files) {
            const p = this.resolve(file);
            this.closeFile(file);
            fs.rmSync(p, { force: true });
            this.dirtyFiles.delete(file);
            this.dirtyDirs.add(path.dirname(p));
            this.deletes++;
          }
          break;
        case FrameType.Defs:
          this.applyDefs(f.dir, f.op);
          break;
        case FrameType.Heartbeat:
        case FrameType.Barrier:
          break;
      }
      last = e.seq;
    }
    if (last === this.applied) return;
    await this.persist(last);
  }

  /** Closes every descriptor (the directory is then handed to recovery on promotion). */
  async close(): Promise<void> {
    for (const file of [...this.fds.keys()]) this.closeFile(file);
    if (this.appliedFd >= 0) {
      fs.closeSync(this.appliedFd);
      this.appliedFd = -1;
    }
  }

  /** A file path from a frame, checked to stay inside the data directory's vhosts. */
  private resolve(file: string): string {
    const norm = path.posix.normalize(file);
    if (path.posix.isAbsolute(norm) || !norm.startsWith('vhosts/') || norm.split('/').includes('..')) {
      throw new Error(`replicated frame names a file outside the data directory: ${JSON.stringify(file)}`);
    }
    return path.join(this.dataDir, ...norm.split('/'));
  }

  private fd(file: string): number {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      const p = this.resolve(file);
      const dir = path.dirname(p);
      if (!fs.existsSync(dir)) {
        fs.mkdirSync(dir, { recursive: true });
        this.dirtyDirs.add(path.dirname(dir));
      }
      if (!fs.existsSync(p)) this.dirtyDirs.add(dir);
      fd = fs.openSync(p, fs.existsSync(p) ? 'r+' : 'w+');
      this.fds.set(file, fd);
    }
    return fd;
  }

  private closeFile(file: string): void {
    const fd = this.fds.get(file);
    if (fd !== undefined) {
      fs.closeSync(fd);
      this.fds.delete(file);
    }
  }

  private applyDefs(dir: string, op: Uint8Array): void {
    const vdir = this.resolve(dir);
    const defsDir = path.join(vdir, 'definitions');
    if (!fs.existsSync(defsDir)) {
      fs.mkdirSync(defsDir, { recursive: true });
      this.dirtyDirs.add(vdir);
      this.dirtyDirs.add(path.dirname(vdir));
    }
    const parsed = JSON.parse(Buffer.from(op).toString('utf8')) as { op?: string; def?: { name?: unknown } };
    const manifest = path.join(vdir, MANIFEST);
    if (parsed.op === 'putVhost' && typeof parsed.def?.name === 'string' && !fs.existsSync(manifest)) {
      fs.writeFileSync(manifest, parsed.def.name, 'utf8');
      this.dirtyFiles.add(path.posix.join(dir, MANIFEST));
      this.dirtyDirs.add(vdir);
    }
    const logRel = path.posix.join(dir, 'definitions', DEFINITIONS_LOG_NAME);
    const fd = this.fd(logRel);
    const size = fs.fstatSync(fd).size;
    let at = size;
    if (size === 0) {
      const h = definitionsFileHeader();
      fs.writeSync(fd, h, 0, h.length, 0);
      at = h.length;
    }
    const rec = frameDefinitionsRecord(Buffer.from(op));
    fs.writeSync(fd, rec, 0, rec.length, at);
    this.dirtyFiles.add(logRel);
    this.defs++;
  }

  private async persist(seq: number): Promise<void> {
    if (this.sync) {
      for (const file of this.dirtyFiles) {
        const fd = this.fds.get(file);
        if (fd !== undefined) await new Promise<void>((res, rej) => fs.fsync(fd, (err) => (err ? rej(err) : res())));
        else {
          const h = await fs.promises.open(this.resolve(file), 'r');
          try {
            await h.sync();
          } finally {
            await h.close();
          }
        }
      }
      for (const d of this.dirtyDirs) if (fs.existsSync(d)) await fsyncDir(d);
    }
    this.dirtyFiles.clear();
    this.dirtyDirs.clear();
    const buf = Buffer.allocUnsafe(APPLIED_SIZE);
    buf.writeUInt32BE(Math.floor(seq / 2 ** 32), 0);
    buf.writeUInt32BE(seq >>> 0, 4);
    buf.writeUInt32BE(crc32(buf.subarray(0, 8)), 8);
    fs.writeSync(this.appliedFd, buf, 0, APPLIED_SIZE, 0);
    if (this.sync) await new Promise<void>((res, rej) => fs.fsync(this.appliedFd, (err) => (err ? rej(err) : res())));
    this.applied = seq;
  }
}

function readApplied(file: string): number {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  if (buf.length < APPLIED_SIZE) return 0;
  if (buf.readUInt32BE(8) !== crc32(buf.subarray(0, 8))) throw new Error(`${file} is damaged (checksum)`);
  return buf.readUInt32BE(0) * 2 ** 32 + buf.readUInt32BE(4);
}
