// What the leader appends to the replicated log, one frame per entry. Binary, little framing:
//   u8 version (2), u8 type, then per type:
//   SEGMENT       u16 file length, file (UTF-8, relative to the data dir), u48 position, bytes
//   DELETE        u16 count, then count × (u16 length, file)
//   DEFS          as SEGMENT, the file a vhost's definitions log (records framed as in it; the
//                 file header first at position 0); the copy ends where the bytes end
//   HEARTBEAT     u32 epoch, f64 time (ms), u16 node length, node
//   BARRIER       u32 epoch, f64 time (ms), u16 node length, node
//   ACCESS        u32 snapshot length, u32 CRC-32 of the snapshot, u32 offset, bytes: one part of
//                 the access snapshot file (users, vhosts, permissions, limits), whole once all arrived
//   VHOST_DELETE  u16 dir length, dir (vhosts/<id>): the vhost's directory, removed with all it holds
// A SEGMENT or DEFS frame says "these bytes are at this position of this file": a follower
// applying the frames in order rebuilds the leader's files byte for byte, whatever the records
// inside mean, and applying a frame twice (after a crash) writes the same bytes again.
//
// Version 2: DEFS frames carry their position (version 1 carried an op a follower appended
// wherever its file ended, which a replay after a crash appended twice); ACCESS, VHOST_DELETE.

import { crc32 } from '../util/crc32.js';
import { UnappliableEntryError } from './replicated-log.js';

export const FRAME_VERSION = 2;

export enum FrameType {
  Segment = 1,
  Delete = 2,
  Defs = 3,
  Heartbeat = 4,
  Barrier = 5,
  Access = 6,
  VhostDelete = 7,
}

export type Frame =
  | { readonly type: FrameType.Segment; readonly file: string; readonly position: number; readonly bytes: Uint8Array }
  | { readonly type: FrameType.Delete; readonly files: readonly string[] }
  | { readonly type: FrameType.Defs; readonly file: string; readonly position: number; readonly bytes: Uint8Array }
  | { readonly type: FrameType.Access; readonly total: number; readonly crc: number; readonly offset: number; readonly bytes: Uint8Array }
  | { readonly type: FrameType.VhostDelete; readonly dir: string }
  | { readonly type: FrameType.Heartbeat | FrameType.Barrier; readonly epoch: number; readonly time: number; readonly node: string };

/** Room kept below the engine's max_payload for headers and framing. */
export const PAYLOAD_HEADROOM = 1024;

const MAX_POSITION = 2 ** 48 - 1;

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length > 0xffff) throw new Error(`frame string too long (${b.length} bytes)`);
  return b;
}

function head(type: FrameType, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  out[0] = FRAME_VERSION;
  out[1] = type;
  return out;
}

/** A SEGMENT or DEFS frame: `bytes` at `position` of `file`. */
export function encodePositioned(type: FrameType.Segment | FrameType.Defs, file: string, position: number, bytes: Uint8Array): Buffer {
  return encodePositionedParts(type, file, position, [bytes], bytes.length);
}

/** One SEGMENT (or DEFS) frame for `parts` written one after the other from `position` (`bytes` in all). */
export function encodePositionedParts(type: FrameType.Segment | FrameType.Defs, file: string, position: number, parts: readonly Uint8Array[], bytes: number): Buffer {
  if (!Number.isSafeInteger(position) || position < 0 || position > MAX_POSITION) throw new Error(`bad segment position ${position}`);
  const f = str(file);
  const out = head(type, 2 + 2 + f.length + 6 + bytes);
  out.writeUInt16BE(f.length, 2);
  f.copy(out, 4);
  out.writeUIntBE(position, 4 + f.length, 6);
  let at = 10 + f.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  if (at !== out.length) throw new Error(`segment parts hold ${at - 10 - f.length} bytes, not ${bytes}`);
  return out;
}

export function encodeSegment(file: string, position: number, bytes: Uint8Array): Buffer {
  return encodePositioned(FrameType.Segment, file, position, bytes);
}

/** Segment bytes one frame of `file` may carry under the engine's max_payload. */
export function segmentRoom(file: string, maxPayload: number): number {
  const room = maxPayload - PAYLOAD_HEADROOM - 10 - Buffer.byteLength(file, 'utf8');
  if (room <= 0) throw new Error(`max_payload ${maxPayload} leaves no room for segment bytes`);
  return room;
}

/**
 * SEGMENT (or DEFS) frames for `bytes` written at `position` of `file`, each at most maxPayload −
 * PAYLOAD_HEADROOM bytes long (the engine rejects larger messages).
 */
export function splitSegment(file: string, position: number, bytes: Uint8Array, maxPayload: number, type: FrameType.Segment | FrameType.Defs = FrameType.Segment): Buffer[] {
  const room = segmentRoom(file, maxPayload);
  const out: Buffer[] = [];
  for (let off = 0; off < bytes.length || out.length === 0; off += room) {
    out.push(encodePositioned(type, file, position + off, bytes.subarray(off, Math.min(bytes.length, off + room))));
  }
  return out;
}

const ACCESS_HEAD = 14;

/**
 * ACCESS frames carrying one access snapshot file, cut below maxPayload − PAYLOAD_HEADROOM:
 * usually one (thousands of users are a few hundred KiB; JetStream's default max_payload is 1 MiB).
 */
export function splitAccess(snapshot: Uint8Array, maxPayload: number): Buffer[] {
  const room = maxPayload - PAYLOAD_HEADROOM - ACCESS_HEAD;
  if (room <= 0) throw new Error(`max_payload ${maxPayload} leaves no room for the access snapshot`);
  if (snapshot.length > 0xffffffff) throw new Error(`access snapshot too large (${snapshot.length} bytes)`);
  const crc = crc32(snapshot);
  const out: Buffer[] = [];
  for (let off = 0; off < snapshot.length || out.length === 0; off += room) {
    const part = snapshot.subarray(off, Math.min(snapshot.length, off + room));
    const f = head(FrameType.Access, ACCESS_HEAD + part.length);
    f.writeUInt32BE(snapshot.length, 2);
    f.writeUInt32BE(crc, 6);
    f.writeUInt32BE(off, 10);
    f.set(part, ACCESS_HEAD);
    out.push(f);
  }
  return out;
}

export function encodeVhostDelete(dir: string): Buffer {
  const d = str(dir);
  const out = head(FrameType.VhostDelete, 4 + d.length);
  out.writeUInt16BE(d.length, 2);
  d.copy(out, 4);
  return out;
}

export function encodeDelete(files: readonly string[]): Buffer {
  const fs = files.map(str);
  const out = head(FrameType.Delete, 4 + fs.reduce((n, b) => n + 2 + b.length, 0));
  out.writeUInt16BE(fs.length, 2);
  let p = 4;
  for (const b of fs) {
    out.writeUInt16BE(b.length, p);
    b.copy(out, p + 2);
    p += 2 + b.length;
  }
  return out;
}

/** DEFS frames for `bytes` (framed records) at `position` of a vhost's definitions log. */
export function splitDefs(file: string, position: number, bytes: Uint8Array, maxPayload: number): Buffer[] {
  return splitSegment(file, position, bytes, maxPayload, FrameType.Defs);
}

export function encodeMark(type: FrameType.Heartbeat | FrameType.Barrier, epoch: number, time: number, node: string): Buffer {
  const n = str(node);
  const out = head(type, 2 + 4 + 8 + 2 + n.length);
  out.writeUInt32BE(epoch, 2);
  out.writeDoubleBE(time, 6);
  out.writeUInt16BE(n.length, 14);
  n.copy(out, 16);
  return out;
}

/** Never readable by this release, however often read again (UnappliableEntryError: the follower stops). */
class FrameError extends UnappliableEntryError {
  constructor(msg: string) {
    super(`bad replication frame: ${msg}`);
    this.name = 'FrameError';
  }
}

/** Decodes one frame; SEGMENT, DEFS and ACCESS bytes are views of `data`. Throws on anything malformed. */
export function decodeFrame(data: Uint8Array): Frame {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const need = (n: number): void => {
    if (b.length < n) throw new FrameError(`truncated (${b.length} of at least ${n} bytes)`);
  };
  need(2);
  if (b[0] !== FRAME_VERSION) {
    // A leader of another warren release: applying what this one cannot read would corrupt the copy.
    throw new FrameError(`version ${b[0]}, this warren reads version ${FRAME_VERSION} only (every node of a group must run a release with the same frame version; start a new group for another)`);
  }
  const type = b[1] as number;
  switch (type) {
    case FrameType.Segment:
    case FrameType.Defs: {
      need(4);
      const fl = b.readUInt16BE(2);
      need(10 + fl);
      return { type, file: b.toString('utf8', 4, 4 + fl), position: b.readUIntBE(4 + fl, 6), bytes: b.subarray(10 + fl) };
    }
    case FrameType.Delete: {
      need(4);
      const count = b.readUInt16BE(2);
      const files: string[] = [];
      let p = 4;
      for (let i = 0; i < count; i++) {
        need(p + 2);
        const l = b.readUInt16BE(p);
        need(p + 2 + l);
        files.push(b.toString('utf8', p + 2, p + 2 + l));
        p += 2 + l;
      }
      return { type, files };
    }
    case FrameType.Access: {
      need(ACCESS_HEAD);
      const total = b.readUInt32BE(2);
      const offset = b.readUInt32BE(10);
      const bytes = b.subarray(ACCESS_HEAD);
      if (offset + bytes.length > total) throw new FrameError(`access part [${offset}, ${offset + bytes.length}) beyond its snapshot's ${total} bytes`);
      return { type, total, crc: b.readUInt32BE(6), offset, bytes };
    }
    case FrameType.VhostDelete: {
      need(4);
      const dl = b.readUInt16BE(2);
      need(4 + dl);
      return { type, dir: b.toString('utf8', 4, 4 + dl) };
    }
    case FrameType.Heartbeat:
    case FrameType.Barrier: {
      need(16);
      const nl = b.readUInt16BE(14);
      need(16 + nl);
      return { type, epoch: b.readUInt32BE(2), time: b.readDoubleBE(6), node: b.toString('utf8', 16, 16 + nl) };
    }
    default:
      throw new FrameError(`unknown type ${type}`);
  }
}

/** Subject token of a segment file: the relative path with '/' and '.' (not allowed in a token) replaced. */
export function segmentToken(file: string): string {
  return file.replace(/[/.\s*>]/g, '_');
}
