// The definitions log's format: file header, record framing, and each operation as validated JSON.

import { crc32 } from '../util/crc32.js';
import { type Plausible, RECORD_HEADER_SIZE } from './record.js';
import type { BindingDef, PolicyDef, Op } from './definitions-types.js';

export const MAGIC = 0x444e5257; // "WRND" as u32 LE
export const VERSION = 1;
export const FILE_HEADER_SIZE = 8;
export const LOG_NAME = 'definitions.log';
export const TMP_NAME = 'definitions.log.tmp';

// ---- JSON encoding of operations (Buffers as base64) ----

export function toJson(op: Op): string {
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
export function parseOp(v: unknown): Op {
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

export function frame(payload: Buffer): Buffer {
  const rec = Buffer.allocUnsafe(RECORD_HEADER_SIZE + payload.length);
  rec.writeUInt32LE(payload.length, 0);
  payload.copy(rec, RECORD_HEADER_SIZE);
  rec.writeUInt32LE(crc32(payload, crc32(rec.subarray(0, 4))), 4);
  return rec;
}

export function fileHeader(): Buffer {
  const h = Buffer.alloc(FILE_HEADER_SIZE);
  h.writeUInt32LE(MAGIC, 0);
  h.writeUInt32LE(VERSION, 4);
  return h;
}

const OP_PREFIX = Buffer.from('{"op":"', 'utf8');
/** Every payload is a JSON object starting with its op, as toJson writes it. */
export const plausibleOp: Plausible = (buf, pos, len) =>
  len >= OP_PREFIX.length && buf.compare(OP_PREFIX, 0, OP_PREFIX.length, pos + RECORD_HEADER_SIZE, pos + RECORD_HEADER_SIZE + OP_PREFIX.length) === 0;

export { LOG_NAME as DEFINITIONS_LOG_NAME, fileHeader as definitionsFileHeader, frame as frameDefinitionsRecord };
