// Durable topology (vhosts, exchanges, queues, bindings, users, permissions, policies) in an append-only, compacted log.
//
// File `definitions.log`: 8-byte header ("WRND", u32 version 1), then records framed like the
// message segments (u32 length, u32 CRC-32 of the length bytes and payload, payload), each
// payload one operation as UTF-8 JSON. AMQP arguments are opaque bytes (the broker encodes
// field tables), stored base64. Replaying the log in order gives the current state; a torn tail
// is cut, a record failing its checksum or validation is skipped and counted.
//
// Compaction writes the live state as put records to `definitions.log.tmp`, fsyncs it, renames
// it over the log and fsyncs the directory: a crash leaves either the old log (plus a stray
// temp file, removed at open) or the new one, never a mix.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DurableCallback } from './message-store.js';
import { RECORD_HEADER_SIZE, scanFrames } from './record.js';
import { fsyncDir } from './segment-io.js';
import { FILE_HEADER_SIZE, LOG_NAME, MAGIC, TMP_NAME, VERSION, fileHeader, frame, parseOp, plausibleOp, toJson } from './definitions-codec.js';
import { State } from './definitions-state.js';
import type { BindingDef, Definitions, DefinitionsStats, ExchangeDef, Op, PermissionDef, PolicyDef, QueueDef, UserDef, VhostDef } from './definitions-types.js';

export interface DefinitionsStoreOptions {
  dir: string;
  /** Compact once the log exceeds this and is at least twice the live state: 1 MiB replays in milliseconds. */
  compactAboveBytes?: number;
  /**
   * Each op as it is recorded (JSON bytes), in order: for replication (HA). Resolves once the
   * replicated log holds the op (and, acks coming in order, every op before it); whenDurable waits for that too.
   */
  onRecord?: (payload: Buffer) => Promise<void>;
}

const DEFAULT_COMPACT_ABOVE = 1024 * 1024;

export class DefinitionsStore {
  private readonly dir: string;
  private readonly logPath: string;
  private readonly tmpPath: string;
  private readonly compactAbove: number;
  private readonly state: State;
  private fd: number;
  private logBytes: number;
  private pending: Buffer[];
  private pendingBytes: number;
  private waiters: DurableCallback[];
  private running: Promise<void> | null;
  private failed: Error | null;
  private records: number;
  private corruptRecords: number;
  private truncatedBytes: number;
  private compactions: number;
  private syncs: number;
  private nextCompactCheck: number;
  private readonly onRecord: ((payload: Buffer) => Promise<void>) | null;
  /** Settles once the last op recorded is replicated: with its error if replication failed (never rejects). null without replication. */
  private replicated: Promise<Error | null> | null;

  constructor(options: DefinitionsStoreOptions) {
    this.onRecord = options.onRecord ?? null;
    this.replicated = null;
    this.dir = options.dir;
    this.logPath = path.join(options.dir, LOG_NAME);
    this.tmpPath = path.join(options.dir, TMP_NAME);
    this.compactAbove = options.compactAboveBytes ?? DEFAULT_COMPACT_ABOVE;
    this.state = new State();
    this.fd = -1;
    this.logBytes = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.waiters = [];
    this.running = null;
    this.failed = null;
    this.records = 0;
    this.corruptRecords = 0;
    this.truncatedBytes = 0;
    this.compactions = 0;
    this.syncs = 0;
    this.nextCompactCheck = 0;
  }

  /** Reads the log (creating it if absent) and returns the definitions it holds. */
  async open(): Promise<Definitions> {
    if (this.fd >= 0) throw new Error('definitions store already open');
    await fs.promises.mkdir(this.dir, { recursive: true });
    // A temp file is a compaction that did not finish; the log it would have replaced is intact.
    await fs.promises.rm(this.tmpPath, { force: true });
    let buf: Buffer | null = null;
    try {
      buf = await fs.promises.readFile(this.logPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (buf === null || buf.length < FILE_HEADER_SIZE) {
      // Absent, or created and torn before its header: nothing was ever committed.
      await this.replaceLog([]);
    } else {
      if (buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== VERSION) {
        throw new Error(`${this.logPath} is not a warren definitions log (version ${VERSION})`);
      }
      const end = this.replay(buf);
      if (end < buf.length) {
        this.truncatedBytes = buf.length - end;
        await fs.promises.truncate(this.logPath, end);
      }
      this.logBytes = end;
    }
    this.fd = fs.openSync(this.logPath, 'r+');
    return this.state.snapshot();
  }

  /** The current definitions, including changes not yet durable. */
  snapshot(): Definitions {
    return this.state.snapshot();
  }

  putVhost(def: VhostDef): void {
    this.record({ op: 'putVhost', def });
  }
  /** Also removes the vhost's exchanges, queues, bindings and permissions. */
  deleteVhost(name: string): void {
    this.record({ op: 'deleteVhost', name });
  }
  putExchange(def: ExchangeDef): void {
    this.record({ op: 'putExchange', def });
  }
  /** Also removes bindings from it and to it. */
  deleteExchange(vhost: string, name: string): void {
    this.record({ op: 'deleteExchange', vhost, name });
  }
  putQueue(def: QueueDef): void {
    this.record({ op: 'putQueue', def });
  }
  /** Also removes bindings to it. */
  deleteQueue(vhost: string, name: string): void {
    this.record({ op: 'deleteQueue', vhost, name });
  }
  putBinding(def: BindingDef): void {
    this.record({ op: 'putBinding', def });
  }
  deleteBinding(def: BindingDef): void {
    this.record({ op: 'deleteBinding', def });
  }
  putUser(def: UserDef): void {
    this.record({ op: 'putUser', def });
  }
  /** Also removes the user's permissions. */
  deleteUser(name: string): void {
    this.record({ op: 'deleteUser', name });
  }
  putPermission(def: PermissionDef): void {
    this.record({ op: 'putPermission', def });
  }
  deletePermission(user: string, vhost: string): void {
    this.record({ op: 'deletePermission', user, vhost });
  }
  putPolicy(def: PolicyDef): void {
    this.record({ op: 'putPolicy', def });
  }
  deletePolicy(vhost: string, kind: PolicyDef['kind'], name: string): void {
    this.record({ op: 'deletePolicy', vhost, kind, name });
  }

  /**
   * cb runs once every change made before this call is fsynced (one fsync for all of them) and,
   * with replication, held by the replicated log: a declare-ok must survive the leader's loss too.
   */
  whenDurable(cb: DurableCallback): void {
    if (this.failed !== null) {
      process.nextTick(cb, this.failed);
      return;
    }
    const replicated = this.replicated;
    if (replicated === null) {
      this.waiters.push(cb);
    } else {
      // The fsync first, then the replication of the ops before this call (usually acked by then).
      this.waiters.push((err) => {
        if (err !== null) cb(err);
        else void replicated.then((replErr) => cb(replErr));
      });
    }
    this.kick();
  }

  async close(): Promise<void> {
    while (this.running !== null || this.pendingBytes > 0 || this.waiters.length > 0) {
      if (this.running === null) this.kick();
      await this.running;
      if (this.failed !== null) break;
    }
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      await new Promise<void>((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
    }
  }

  stats(): DefinitionsStats {
    return {
      records: this.records,
      corruptRecords: this.corruptRecords,
      truncatedBytes: this.truncatedBytes,
      compactions: this.compactions,
      syncs: this.syncs,
      logBytes: this.logBytes,
    };
  }

  private record(op: Op): void {
    if (this.fd < 0) throw new Error('definitions store is not open');
    if (this.failed !== null) throw this.failed;
    this.state.apply(op);
    const payload = Buffer.from(toJson(op), 'utf8');
    if (this.onRecord !== null) {
      this.replicated = this.onRecord(payload).then(
        () => null,
        (err: unknown) => {
          // As a failed write: this store takes no more changes, and its waiters fail.
          const e = err instanceof Error ? err : new Error(String(err));
          if (this.failed === null) this.failed = e;
          return e;
        },
      );
    }
    const rec = frame(payload);
    this.pending.push(rec);
    this.pendingBytes += rec.length;
    this.records++;
    this.kick();
  }

  private kick(): void {
    if (this.running !== null) return;
    this.running = this.flush().finally(() => {
      this.running = null;
      if (this.failed !== null) {
        // Waiters that came during the flush (a failed replication may set `failed` at any time).
        const waiters = this.waiters;
        this.waiters = [];
        for (const cb of waiters) cb(this.failed);
      } else if (this.pendingBytes > 0 || this.waiters.length > 0) {
        this.kick();
      }
    });
  }

  /** Writes what is pending, fsyncs once, answers the waiters; compacts when the log has grown. */
  private async flush(): Promise<void> {
    // Let the rest of this tick's changes join the batch.
    await new Promise<void>((r) => setImmediate(r));
    const bufs = this.pending;
    const bytes = this.pendingBytes;
    const waiters = this.waiters;
    this.pending = [];
    this.pendingBytes = 0;
    this.waiters = [];
    try {
      if (bytes > 0) {
        await new Promise<void>((resolve, reject) =>
          fs.writev(this.fd, bufs, this.logBytes, (err, n) =>
            err ? reject(err) : n !== bytes ? reject(new Error('short write')) : resolve(),
          ),
        );
        this.logBytes += bytes;
        await new Promise<void>((resolve, reject) => fs.fsync(this.fd, (err) => (err ? reject(err) : resolve())));
        this.syncs++;
        if (this.logBytes > Math.max(this.compactAbove, this.nextCompactCheck)) await this.maybeCompact();
      }
    } catch (err) {
      this.failed = err instanceof Error ? err : new Error(String(err));
    }
    for (const cb of waiters) cb(this.failed);
  }

  private async maybeCompact(): Promise<void> {
    const recs: Buffer[] = [];
    let live = FILE_HEADER_SIZE;
    for (const op of this.state.ops()) {
      const r = frame(Buffer.from(toJson(op), 'utf8'));
      recs.push(r);
      live += r.length;
    }
    // Not worth it yet; and not worth re-encoding the state again before the log doubles.
    this.nextCompactCheck = 2 * live;
    if (this.logBytes < 2 * live) return;
    // Changes made while compacting are still pending and go to the new log afterwards.
    const old = this.fd;
    await this.replaceLog(recs);
    this.fd = fs.openSync(this.logPath, 'r+');
    fs.closeSync(old);
    this.compactions++;
  }

  /** write temp, fsync, rename over the log, fsync the directory. */
  private async replaceLog(recs: Buffer[]): Promise<void> {
    const h = await fs.promises.open(this.tmpPath, 'w');
    let size = FILE_HEADER_SIZE;
    try {
      await h.writev([fileHeader(), ...recs]);
      for (const r of recs) size += r.length;
      await h.sync();
    } finally {
      await h.close();
    }
    await fs.promises.rename(this.tmpPath, this.logPath);
    await fsyncDir(this.dir);
    this.logBytes = size;
  }

  /** Applies every valid record; returns the offset after the last one kept (the rest is a torn tail). */
  private replay(buf: Buffer): number {
    const r = scanFrames(buf, FILE_HEADER_SIZE, plausibleOp, (pos, total) => {
      const payload = buf.subarray(pos + RECORD_HEADER_SIZE, pos + total);
      try {
        this.state.apply(parseOp(JSON.parse(payload.toString('utf8'))));
        this.records++;
      } catch {
        this.corruptRecords++;
      }
    });
    this.corruptRecords += r.corruptRecords;
    return r.tornTail ? r.end : buf.length;
  }
}

/** For a replica that appends replicated ops to a definitions log (the HA follower): its file name, header and record framing. */
