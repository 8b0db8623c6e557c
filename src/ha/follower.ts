// A follower applies the replicated log to its own data directory, deterministically: SEGMENT
// and DEFS bytes go to the same file at the same position as on the leader (a frame at position
// 0 starts the file afresh; a definitions log ends after each DEFS frame), DELETE frames unlink
// segments, VHOST_DELETE frames remove a vhost's directory, ACCESS frames replace the access
// snapshot (atomically, once all of a snapshot's parts are in). After each batch the files
// touched are fsynced, then the applied sequence is persisted in <data>/ha/applied: applying a
// frame twice after a crash writes the same bytes again, so the sequence may lag the files but
// never lead them. A standby persists at most every `persistEveryMs` (a confirm never waits for
// it: the stream holds the entries): fsyncs per read batch took the disk from the leader's own. Beside it, <data>/ha/stream names the log the copy is of (its identity): a
// copy of another stream (an earlier group, or a stream made again) is rebuilt, not continued.
//
// An entry that can never be applied (another frame version, a malformed frame, a path outside
// the data directory) throws UnappliableEntryError: the follower stops rather than retry it. A
// DEFS frame past the end of the copy's definitions log (records this copy never got) throws
// CopyHoleError: the copy, not the entry, is at fault, and the node rebuilds it from the stream.
//
// On promotion the directory is recovered by warren's normal start-up (store/recovery.ts), which
// treats it like the leader's after a crash: torn tails cut, unsealed segments checked in full.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ACCESS_FILE, decodeSnapshot, writeSnapshotFile } from '../store/access-store.js';
import { VHOSTS_DIR } from '../store/data-dir.js';
import { fsyncDir } from '../store/segment-io.js';
import { crc32 } from '../util/crc32.js';
import { ACCESS_PARTIAL, APPLIED_FILE, encodeApplied, HA_DIR, partialHeld, readApplied, readParts, recordStream, streamOf, writePart } from './follower-state.js';
import { decodeFrame, FrameType, type Frame } from './frames.js';
import type { Clock } from '../util/clock.js';
import type { Applier } from './leadership.js';
import { UnappliableEntryError, type LogEntry } from './replicated-log.js';

export { HA_DIR };

/**
 * The copy lacks bytes an entry continues from (a definitions log shorter than the frame's
 * position): a promoted copy without its definitions would lose its messages. Rebuild the copy.
 * An UnappliableEntryError, so the follow loop stops rather than retry it.
 */
export class CopyHoleError extends UnappliableEntryError {
  constructor(message: string) {
    super(message);
    this.name = 'CopyHoleError';
  }
}

export interface FollowerOptions {
  dataDir: string;
  /** fsync files and directories before recording the applied sequence (off only in tests). */
  sync: boolean;
  /**
   * Identity of the log followed: recorded with a new copy; an existing copy of another log is
   * refused (the caller rebuilds it first).
   */
  stream?: string;
  /**
   * Persist the applied sequence (after fsyncs) at most this often, and at close (default 0:
   * after every batch). Frames other than segment bytes and heartbeats are persisted at once.
   */
  persistEveryMs?: number;
  /** For persistEveryMs (required with it). */
  clock?: Clock;
}

export interface FollowerStats {
  readonly applied: number;
  readonly segmentBytes: number;
  readonly deletes: number;
  readonly defs: number;
  readonly accessSnapshots: number;
  /** Access snapshots whose parts did not add up (checksum): skipped, a later one replaces them. */
  readonly accessSkipped: number;
  readonly vhostDeletes: number;
  /** Frames applied other than heartbeats, barriers and access parts. */
  readonly dataFrames: number;
}

type AccessFrame = Extract<Frame, { type: FrameType.Access }>;

export class Follower implements Applier {
  /** Applied to the files (written, maybe not yet fsynced or persisted). */
  applied = 0;
  /** Persisted in <data>/ha/applied, after the fsyncs that cover it. */
  persisted = 0;
  private readonly dataDir: string;
  private readonly sync: boolean;
  private readonly persistEveryMs: number;
  private readonly clock: Clock | null;
  private lastPersistAt = -Infinity;
  /** Applied frames since the last persist include one that is not segment bytes or a heartbeat. */
  private urgent = false;
  private readonly fds = new Map<string, number>();
  /** Files written and directories changed since the last persist. */
  private readonly dirtyFiles = new Set<string>();
  private readonly dirtyDirs = new Set<string>();
  private appliedFd = -1;
  segmentBytes = 0;
  deletes = 0;
  defs = 0;
  accessSnapshots = 0;
  accessSkipped = 0;
  vhostDeletes = 0;
  dataFrames = 0;

  private constructor(o: FollowerOptions) {
    this.dataDir = o.dataDir;
    this.sync = o.sync;
    this.persistEveryMs = o.persistEveryMs ?? 0;
    this.clock = o.clock ?? null;
    if (this.persistEveryMs > 0 && this.clock === null) throw new Error('Follower: persistEveryMs needs a clock');
  }

  /** Opens (or starts) the follower state of a data directory. */
  static async open(o: FollowerOptions): Promise<Follower> {
    const f = new Follower(o);
    const dir = path.join(o.dataDir, HA_DIR);
    await fs.promises.mkdir(dir, { recursive: true });
    const file = path.join(dir, APPLIED_FILE);
    const isCopy = fs.existsSync(file);
    if (o.stream !== undefined) {
      const of = streamOf(o.dataDir);
      if (isCopy && of !== o.stream) throw new Error(`${o.dataDir} is a copy of another replicated log (${of ?? 'unnamed'}), not of ${o.stream}`);
      // Durable before any applied sequence is: a sequence is only ever read with its log's name.
      if (of !== o.stream) await recordStream(o.dataDir, o.stream, o.sync);
    }
    f.applied = readApplied(file);
    f.persisted = f.applied;
    f.appliedFd = fs.openSync(file, isCopy ? 'r+' : 'w+');
    return f;
  }

  /** Identity of the log a data directory is a copy of (null: none recorded). */
  static streamIn(dataDir: string): string | null {
    return streamOf(dataDir);
  }

  /** A data directory holds a follower's copy (an applied sequence), not a leader's data. */
  static isCopy(dataDir: string): boolean {
    return fs.existsSync(path.join(dataDir, HA_DIR, APPLIED_FILE));
  }

  /**
   * The copy holds a group's data but no access snapshot. Every leader replicates its snapshot
   * before any vhost data, so it was lost: a broker started here must not take it for a first
   * start (and seed a default user over the group's users).
   */
  accessSnapshotMissing(): boolean {
    if (fs.existsSync(path.join(this.dataDir, ACCESS_FILE))) return false;
    return this.dataFrames > 0 || fs.existsSync(path.join(this.dataDir, VHOSTS_DIR));
  }

  /** The sequence persisted in a data directory (0 if none): what a restarted follower resumes from. */
  static appliedIn(dataDir: string): number {
    return readApplied(path.join(dataDir, HA_DIR, APPLIED_FILE));
  }

  stats(): FollowerStats {
    return {
      applied: this.applied,
      segmentBytes: this.segmentBytes,
      deletes: this.deletes,
      defs: this.defs,
      accessSnapshots: this.accessSnapshots,
      accessSkipped: this.accessSkipped,
      vhostDeletes: this.vhostDeletes,
      dataFrames: this.dataFrames,
    };
  }

  async apply(entries: readonly LogEntry[]): Promise<void> {
    let last = this.applied;
    for (const e of entries) {
      if (e.seq <= last) throw new Error(`replicated log went backwards: ${e.seq} after ${last}`);
      try {
        await this.applyOne(e);
      } catch (err) {
        if (err instanceof CopyHoleError) throw new CopyHoleError(`replicated log entry ${e.seq} (${e.subject}): ${err.message}`);
        if (err instanceof UnappliableEntryError) throw new UnappliableEntryError(`replicated log entry ${e.seq} (${e.subject}) cannot be applied: ${err.message}`);
        throw err;
      }
      last = e.seq;
    }
    if (last === this.applied) return;
    this.applied = last;
    const now = this.clock?.now() ?? 0;
    if (this.urgent || this.persistEveryMs <= 0 || now - this.lastPersistAt >= this.persistEveryMs) {
      this.lastPersistAt = now;
      try {
        await this.persist();
      } catch (err) {
        // Not known durable: applied again from the last persisted sequence.
        this.applied = this.persisted;
        throw err;
      }
    }
  }

  private async applyOne(e: LogEntry): Promise<void> {
    const f = decodeFrame(e.data);
    if (f.type !== FrameType.Heartbeat && f.type !== FrameType.Barrier && f.type !== FrameType.Access) this.dataFrames++;
    if (f.type !== FrameType.Segment && f.type !== FrameType.Heartbeat) this.urgent = true;
    switch (f.type) {
      case FrameType.Segment:
        this.segmentBytes += this.writeAt(f.file, f.position, f.bytes);
        break;
      case FrameType.Defs:
        this.checkNoHole(f.file, f.position);
        // The copy ends where the leader's next record will go: nothing stays behind it (the torn
        // tail of a record a dead leader half sent, cut by the next leader's store).
        fs.ftruncateSync(this.fd(f.file), f.position + this.writeAt(f.file, f.position, f.bytes));
        this.defs++;
        break;
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
      case FrameType.Access:
        await this.applyAccess(f);
        break;
      case FrameType.VhostDelete:
        this.removeVhost(f.dir);
        break;
      case FrameType.Heartbeat:
      case FrameType.Barrier:
        break;
    }
  }

  /** Persists what is applied, then closes every descriptor (the directory is then handed to recovery on promotion). */
  async close(): Promise<void> {
    if (this.persisted < this.applied && this.appliedFd >= 0) await this.persist();
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
      throw new UnappliableEntryError(`replicated frame names a file outside the data directory: ${JSON.stringify(file)}`);
    }
    return path.join(this.dataDir, ...norm.split('/'));
  }

  /**
   * A definitions log is only ever extended from its end (or rewritten from a position within
   * it: a frame applied again, a torn tail cut): a frame beyond its end means records were missed.
   */
  private checkNoHole(file: string, position: number): void {
    // A new file (or one the leader starts afresh) cannot miss anything.
    if (position === 0) return;
    const fd = this.fds.get(file);
    // Not opened (so not made) here: a missing file holds 0 bytes.
    const size = fd !== undefined ? fs.fstatSync(fd).size : (fs.statSync(this.resolve(file), { throwIfNoEntry: false })?.size ?? 0);
    if (position > size) throw new CopyHoleError(`definitions frame at position ${position} of ${file}, which this copy holds only ${size} bytes of: records were missed`);
  }

  /** `bytes` at `position` of `file`; returns how many. */
  private writeAt(file: string, position: number, bytes: Uint8Array): number {
    const fd = this.fd(file);
    // A file's first bytes: whatever it held before (a stale file of an earlier turn whose name the
    // leader uses again) is not part of it.
    if (position === 0) fs.ftruncateSync(fd, 0);
    const n = fs.writeSync(fd, bytes, 0, bytes.length, position);
    if (n !== bytes.length) throw new Error(`short write to ${file}`);
    this.dirtyFiles.add(file);
    return n;
  }

  private fd(file: string): number {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      const p = this.resolve(file);
      const dir = path.dirname(p);
      if (!fs.existsSync(dir)) {
        fs.mkdirSync(dir, { recursive: true });
        // Every directory made, up to vhosts/ (a new vhost's directory and its store's).
        for (let d = dir; d !== this.dataDir && d.length > this.dataDir.length; d = path.dirname(d)) this.dirtyDirs.add(path.dirname(d));
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

  /** Removes a vhost's directory (`vhosts/<id>`) and everything in it. */
  private removeVhost(dir: string): void {
    const parts = dir.split('/');
    const id = parts[1] ?? '';
    // Exactly one vhost directory: never vhosts/ itself, a staging or trash directory, or anything above.
    if (parts.length !== 2 || parts[0] !== VHOSTS_DIR || id === '' || id.startsWith('.')) {
      throw new UnappliableEntryError(`replicated frame names a vhost directory outside the data directory's vhosts: ${JSON.stringify(dir)}`);
    }
    const p = path.join(this.dataDir, VHOSTS_DIR, id);
    const inside = (file: string): boolean => this.resolve(file).startsWith(p + path.sep);
    for (const file of [...this.fds.keys()]) if (inside(file)) this.closeFile(file);
    for (const file of [...this.dirtyFiles]) if (inside(file)) this.dirtyFiles.delete(file);
    for (const d of [...this.dirtyDirs]) if (d === p || d.startsWith(p + path.sep)) this.dirtyDirs.delete(d);
    // Not atomic: a crash part-way leaves part of it, and the frame, not yet recorded as applied, is applied again.
    fs.rmSync(p, { recursive: true, force: true });
    this.dirtyDirs.add(path.dirname(p));
    this.vhostDeletes++;
  }

  /**
   * One part of an access snapshot; the snapshot replaces <data>/access.snapshot once whole. A
   * snapshot's parts are consecutive in the log, and the leader purges a snapshot's only once a
   * newer one is in: so this copy sees a prefix of each snapshot's parts. A part is added only to
   * the parts of its own snapshot (same length and checksum); one whose predecessors this copy
   * never saw (purged before it read them) belongs to a snapshot it skips.
   */
  private async applyAccess(f: AccessFrame): Promise<void> {
    const haDir = path.join(this.dataDir, HA_DIR);
    const partial = path.join(haDir, ACCESS_PARTIAL);
    let whole: Uint8Array;
    if (f.offset === 0 && f.bytes.length === f.total) whole = f.bytes;
    else {
      if (f.offset > 0 && f.offset > partialHeld(partial, f.total, f.crc)) return;
      writePart(partial, f.total, f.crc, f.offset, f.bytes, this.sync);
      // Made, or cut to a new snapshot's tag: its directory entry is fsynced before the applied sequence moves.
      if (f.offset === 0) this.dirtyDirs.add(haDir);
      if (f.offset + f.bytes.length < f.total) return;
      whole = readParts(partial, f.total);
    }
    if (whole.length !== f.total || crc32(whole) !== f.crc) {
      // Parts that do not add up to their snapshot: skipped, as one seen only in part (a later one replaces it).
      this.dropPartial();
      this.accessSkipped++;
      return;
    }
    const buf = Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength);
    // Checked before it replaces the one in place: a promoted node must be able to boot from it.
    try {
      decodeSnapshot(buf, 'replicated access snapshot');
    } catch (err) {
      // Whole and intact, yet unreadable: a leader of another release wrote it.
      throw new UnappliableEntryError(err instanceof Error ? err.message : String(err));
    }
    await writeSnapshotFile(this.dataDir, buf, this.sync);
    this.dropPartial();
    this.accessSnapshots++;
  }

  private dropPartial(): void {
    const partial = path.join(this.dataDir, HA_DIR, ACCESS_PARTIAL);
    if (!fs.existsSync(partial)) return;
    fs.rmSync(partial, { force: true });
    this.dirtyDirs.add(path.dirname(partial));
  }

  private async persist(): Promise<void> {
    const seq = this.applied;
    this.urgent = false;
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
    const buf = encodeApplied(seq);
    fs.writeSync(this.appliedFd, buf, 0, buf.length, 0);
    if (this.sync) await new Promise<void>((res, rej) => fs.fsync(this.appliedFd, (err) => (err ? rej(err) : res())));
    this.persisted = seq;
  }
}
