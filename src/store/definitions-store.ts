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
import { crc32 } from '../util/crc32.js';
import type { DurableCallback } from './message-store.js';
import { type Plausible, RECORD_HEADER_SIZE, scanFrames } from './record.js';
import { fsyncDir } from './segment-io.js';

export interface VhostDef {
  readonly name: string;
}

export interface ExchangeDef {
  readonly vhost: string;
  readonly name: string;
  /** direct, fanout, topic, headers or a plugin type name. */
  readonly type: string;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  /** Encoded AMQP field table, opaque to the store. */
  readonly arguments: Buffer;
}

export interface QueueDef {
  readonly vhost: string;
  readonly name: string;
  readonly autoDelete: boolean;
  readonly exclusive: boolean;
  readonly arguments: Buffer;
}

export interface BindingDef {
  readonly vhost: string;
  /** Exchange name. */
  readonly source: string;
  readonly destination: string;
  readonly destinationType: 'queue' | 'exchange';
  readonly routingKey: string;
  readonly arguments: Buffer;
}

export interface UserDef {
  readonly name: string;
  readonly passwordHash: string;
  readonly hashingAlgorithm: string;
  readonly tags: readonly string[];
}

export interface PermissionDef {
  readonly user: string;
  readonly vhost: string;
  /** Regular expressions, as in RabbitMQ. */
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

/** A policy or an operator policy of a vhost. */
export interface PolicyDef {
  readonly vhost: string;
  readonly kind: 'policy' | 'operator';
  readonly name: string;
  readonly pattern: string;
  readonly applyTo: string;
  readonly priority: number;
  /** The definition as JSON text, opaque to the store (the broker validates it). */
  readonly definition: string;
}

export interface Definitions {
  readonly vhosts: VhostDef[];
  readonly exchanges: ExchangeDef[];
  readonly queues: QueueDef[];
  readonly bindings: BindingDef[];
  readonly users: UserDef[];
  readonly permissions: PermissionDef[];
  readonly policies: PolicyDef[];
}

export interface DefinitionsStats {
  readonly records: number;
  readonly corruptRecords: number;
  readonly truncatedBytes: number;
  readonly compactions: number;
  readonly syncs: number;
  readonly logBytes: number;
}

export interface DefinitionsStoreOptions {
  dir: string;
  /** Compact once the log exceeds this and is at least twice the live state: 1 MiB replays in milliseconds. */
  compactAboveBytes?: number;
  /** Each op as it is recorded (JSON bytes), in order: for replication (HA). */
  onRecord?: (payload: Buffer) => void;
}

const MAGIC = 0x444e5257; // "WRND" as u32 LE
const VERSION = 1;
const FILE_HEADER_SIZE = 8;
const LOG_NAME = 'definitions.log';
const TMP_NAME = 'definitions.log.tmp';
const DEFAULT_COMPACT_ABOVE = 1024 * 1024;

type Op =
  | { op: 'putVhost'; def: VhostDef }
  | { op: 'deleteVhost'; name: string }
  | { op: 'putExchange'; def: ExchangeDef }
  | { op: 'deleteExchange'; vhost: string; name: string }
  | { op: 'putQueue'; def: QueueDef }
  | { op: 'deleteQueue'; vhost: string; name: string }
  | { op: 'putBinding'; def: BindingDef }
  | { op: 'deleteBinding'; def: BindingDef }
  | { op: 'putUser'; def: UserDef }
  | { op: 'deleteUser'; name: string }
  | { op: 'putPermission'; def: PermissionDef }
  | { op: 'deletePermission'; user: string; vhost: string }
  | { op: 'putPolicy'; def: PolicyDef }
  | { op: 'deletePolicy'; vhost: string; kind: PolicyDef['kind']; name: string };

// ---- JSON encoding of operations (Buffers as base64) ----

function toJson(op: Op): string {
  return JSON.stringify(op, (_k, v: unknown) => {
    // JSON.stringify turns a Buffer into {type:'Buffer',data:[...]} before the replacer sees it.
    if (isBufferJson(v)) return { b64: Buffer.from(v.data).toString('base64') };
    return v;
  });
}

function isBufferJson(v: unknown): v is { type: 'Buffer'; data: number[] } {
  return typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data);
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError('expected an object');
  return v as Obj;
}
function str(o: Obj, k: string): string {
  const v = o[k];
  if (typeof v !== 'string') throw new TypeError(`${k}: expected a string`);
  return v;
}
function num(o: Obj, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${k}: expected a number`);
  return v;
}
function policyKind(o: Obj): PolicyDef['kind'] {
  const v = str(o, 'kind');
  if (v !== 'policy' && v !== 'operator') throw new TypeError('kind: expected policy or operator');
  return v;
}
function bool(o: Obj, k: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') throw new TypeError(`${k}: expected a boolean`);
  return v;
}
function bytes(o: Obj, k: string): Buffer {
  const v = obj(o[k]);
  const b64 = v['b64'];
  if (typeof b64 !== 'string') throw new TypeError(`${k}: expected bytes`);
  return Buffer.from(b64, 'base64');
}
function strings(o: Obj, k: string): string[] {
  const v = o[k];
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) throw new TypeError(`${k}: expected strings`);
  return v;
}

function parseBinding(d: Obj): BindingDef {
  const t = str(d, 'destinationType');
  if (t !== 'queue' && t !== 'exchange') throw new TypeError('destinationType');
  return {
    vhost: str(d, 'vhost'),
    source: str(d, 'source'),
    destination: str(d, 'destination'),
    destinationType: t,
    routingKey: str(d, 'routingKey'),
    arguments: bytes(d, 'arguments'),
  };
}

/** Validates a decoded record; throws on anything unexpected. */
function parseOp(v: unknown): Op {
  const o = obj(v);
  const op = str(o, 'op');
  switch (op) {
    case 'putVhost':
      return { op, def: { name: str(obj(o['def']), 'name') } };
    case 'deleteVhost':
    case 'deleteUser':
      return { op, name: str(o, 'name') };
    case 'putExchange': {
      const d = obj(o['def']);
      return {
        op,
        def: {
          vhost: str(d, 'vhost'),
          name: str(d, 'name'),
          type: str(d, 'type'),
          autoDelete: bool(d, 'autoDelete'),
          internal: bool(d, 'internal'),
          arguments: bytes(d, 'arguments'),
        },
      };
    }
    case 'deleteExchange':
    case 'deleteQueue':
      return { op, vhost: str(o, 'vhost'), name: str(o, 'name') };
    case 'putQueue': {
      const d = obj(o['def']);
      return {
        op,
        def: {
          vhost: str(d, 'vhost'),
          name: str(d, 'name'),
          autoDelete: bool(d, 'autoDelete'),
          exclusive: bool(d, 'exclusive'),
          arguments: bytes(d, 'arguments'),
        },
      };
    }
    case 'putBinding':
    case 'deleteBinding':
      return { op, def: parseBinding(obj(o['def'])) };
    case 'putUser': {
      const d = obj(o['def']);
      return {
        op,
        def: {
          name: str(d, 'name'),
          passwordHash: str(d, 'passwordHash'),
          hashingAlgorithm: str(d, 'hashingAlgorithm'),
          tags: strings(d, 'tags'),
        },
      };
    }
    case 'putPermission': {
      const d = obj(o['def']);
      return {
        op,
        def: {
          user: str(d, 'user'),
          vhost: str(d, 'vhost'),
          configure: str(d, 'configure'),
          write: str(d, 'write'),
          read: str(d, 'read'),
        },
      };
    }
    case 'deletePermission':
      return { op, user: str(o, 'user'), vhost: str(o, 'vhost') };
    case 'putPolicy': {
      const d = obj(o['def']);
      return {
        op,
        def: {
          vhost: str(d, 'vhost'),
          kind: policyKind(d),
          name: str(d, 'name'),
          pattern: str(d, 'pattern'),
          applyTo: str(d, 'applyTo'),
          priority: num(d, 'priority'),
          definition: str(d, 'definition'),
        },
      };
    }
    case 'deletePolicy':
      return { op, vhost: str(o, 'vhost'), kind: policyKind(o), name: str(o, 'name') };
    default:
      throw new TypeError(`unknown op ${op}`);
  }
}

function frame(payload: Buffer): Buffer {
  const rec = Buffer.allocUnsafe(RECORD_HEADER_SIZE + payload.length);
  rec.writeUInt32LE(payload.length, 0);
  payload.copy(rec, RECORD_HEADER_SIZE);
  rec.writeUInt32LE(crc32(payload, crc32(rec.subarray(0, 4))), 4);
  return rec;
}

function fileHeader(): Buffer {
  const h = Buffer.alloc(FILE_HEADER_SIZE);
  h.writeUInt32LE(MAGIC, 0);
  h.writeUInt32LE(VERSION, 4);
  return h;
}

const OP_PREFIX = Buffer.from('{"op":"', 'utf8');
/** Every payload is a JSON object starting with its op, as toJson writes it. */
const plausibleOp: Plausible = (buf, pos, len) =>
  len >= OP_PREFIX.length && buf.compare(OP_PREFIX, 0, OP_PREFIX.length, pos + RECORD_HEADER_SIZE, pos + RECORD_HEADER_SIZE + OP_PREFIX.length) === 0;

const key = (...parts: string[]): string => JSON.stringify(parts);
const bindingKey = (b: BindingDef): string =>
  key(b.vhost, b.source, b.destinationType, b.destination, b.routingKey, b.arguments.toString('base64'));

/** The live definitions, keyed for replacement; applying an op is idempotent. */
class State {
  readonly vhosts = new Map<string, VhostDef>();
  readonly exchanges = new Map<string, ExchangeDef>();
  readonly queues = new Map<string, QueueDef>();
  readonly bindings = new Map<string, BindingDef>();
  readonly users = new Map<string, UserDef>();
  readonly permissions = new Map<string, PermissionDef>();
  readonly policies = new Map<string, PolicyDef>();

  apply(o: Op): void {
    switch (o.op) {
      case 'putVhost':
        this.vhosts.set(o.def.name, o.def);
        break;
      case 'deleteVhost': {
        this.vhosts.delete(o.name);
        // A vhost takes everything in it along (as in RabbitMQ).
        for (const [k, v] of this.exchanges) if (v.vhost === o.name) this.exchanges.delete(k);
        for (const [k, v] of this.queues) if (v.vhost === o.name) this.queues.delete(k);
        for (const [k, v] of this.bindings) if (v.vhost === o.name) this.bindings.delete(k);
        for (const [k, v] of this.permissions) if (v.vhost === o.name) this.permissions.delete(k);
        for (const [k, v] of this.policies) if (v.vhost === o.name) this.policies.delete(k);
        break;
      }
      case 'putExchange':
        this.exchanges.set(key(o.def.vhost, o.def.name), o.def);
        break;
      case 'deleteExchange':
        this.exchanges.delete(key(o.vhost, o.name));
        // Bindings from it, and to it (exchange-to-exchange), go with it.
        for (const [k, b] of this.bindings) {
          if (b.vhost !== o.vhost) continue;
          if (b.source === o.name || (b.destinationType === 'exchange' && b.destination === o.name)) this.bindings.delete(k);
        }
        break;
      case 'putQueue':
        this.queues.set(key(o.def.vhost, o.def.name), o.def);
        break;
      case 'deleteQueue':
        this.queues.delete(key(o.vhost, o.name));
        for (const [k, b] of this.bindings) {
          if (b.vhost === o.vhost && b.destinationType === 'queue' && b.destination === o.name) this.bindings.delete(k);
        }
        break;
      case 'putBinding':
        this.bindings.set(bindingKey(o.def), o.def);
        break;
      case 'deleteBinding':
        this.bindings.delete(bindingKey(o.def));
        break;
      case 'putUser':
        this.users.set(o.def.name, o.def);
        break;
      case 'deleteUser':
        this.users.delete(o.name);
        for (const [k, p] of this.permissions) if (p.user === o.name) this.permissions.delete(k);
        break;
      case 'putPermission':
        this.permissions.set(key(o.def.user, o.def.vhost), o.def);
        break;
      case 'deletePermission':
        this.permissions.delete(key(o.user, o.vhost));
        break;
      case 'putPolicy':
        this.policies.set(key(o.def.vhost, o.def.kind, o.def.name), o.def);
        break;
      case 'deletePolicy':
        this.policies.delete(key(o.vhost, o.kind, o.name));
        break;
    }
  }

  /** Put operations recreating this state, in dependency order. */
  *ops(): Generator<Op> {
    for (const def of this.vhosts.values()) yield { op: 'putVhost', def };
    for (const def of this.users.values()) yield { op: 'putUser', def };
    for (const def of this.permissions.values()) yield { op: 'putPermission', def };
    for (const def of this.policies.values()) yield { op: 'putPolicy', def };
    for (const def of this.exchanges.values()) yield { op: 'putExchange', def };
    for (const def of this.queues.values()) yield { op: 'putQueue', def };
    for (const def of this.bindings.values()) yield { op: 'putBinding', def };
  }

  snapshot(): Definitions {
    return {
      vhosts: [...this.vhosts.values()],
      exchanges: [...this.exchanges.values()],
      queues: [...this.queues.values()],
      bindings: [...this.bindings.values()],
      users: [...this.users.values()],
      permissions: [...this.permissions.values()],
      policies: [...this.policies.values()],
    };
  }
}

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
  private readonly onRecord: ((payload: Buffer) => void) | null;

  constructor(options: DefinitionsStoreOptions) {
    this.onRecord = options.onRecord ?? null;
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

  /** cb runs once every change made before this call is fsynced (one fsync for all of them). */
  whenDurable(cb: DurableCallback): void {
    if (this.failed !== null) {
      process.nextTick(cb, this.failed);
      return;
    }
    this.waiters.push(cb);
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
    this.onRecord?.(payload);
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
      if (this.failed === null && (this.pendingBytes > 0 || this.waiters.length > 0)) this.kick();
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
export { LOG_NAME as DEFINITIONS_LOG_NAME, fileHeader as definitionsFileHeader, frame as frameDefinitionsRecord };
