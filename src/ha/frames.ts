// What the leader appends to the replicated log, one frame per entry. Binary, little framing:
//   u8 version (1), u8 type, then per type:
//   SEGMENT    u16 file length, file (UTF-8, relative to the data dir), u48 position, bytes
//   DELETE     u16 count, then count × (u16 length, file)
//   DEFS       u16 dir length, dir (the vhost directory, relative), one definitions op (JSON bytes)
//   HEARTBEAT  u32 epoch, f64 time (ms), u16 node length, node
//   BARRIER    u32 epoch, f64 time (ms), u16 node length, node
// A SEGMENT frame says "these bytes are at this position of this file": a follower applying the
// frames in order rebuilds the leader's files byte for byte, whatever the records inside mean.

export const FRAME_VERSION = 1;

export enum FrameType {
  Segment = 1,
  Delete = 2,
  Defs = 3,
  Heartbeat = 4,
  Barrier = 5,
}

export type Frame =
  | { readonly type: FrameType.Segment; readonly file: string; readonly position: number; readonly bytes: Uint8Array }
  | { readonly type: FrameType.Delete; readonly files: readonly string[] }
  | { readonly type: FrameType.Defs; readonly dir: string; readonly op: Uint8Array }
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

export function encodeSegment(file: string, position: number, bytes: Uint8Array): Buffer {
  return encodeSegmentParts(file, position, [bytes], bytes.length);
}

/** One SEGMENT frame for `parts` written one after the other from `position` (`bytes` in all). */
export function encodeSegmentParts(file: string, position: number, parts: readonly Uint8Array[], bytes: number): Buffer {
  if (!Number.isSafeInteger(position) || position < 0 || position > MAX_POSITION) throw new Error(`bad segment position ${position}`);
  const f = str(file);
  const out = head(FrameType.Segment, 2 + 2 + f.length + 6 + bytes);
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

/** Segment bytes one frame of `file` may carry under the engine's max_payload. */
export function segmentRoom(file: string, maxPayload: number): number {
  const room = maxPayload - PAYLOAD_HEADROOM - 10 - Buffer.byteLength(file, 'utf8');
  if (room <= 0) throw new Error(`max_payload ${maxPayload} leaves no room for segment bytes`);
  return room;
}

/**
 * SEGMENT frames for `bytes` written at `position` of `file`, each at most maxPayload −
 * PAYLOAD_HEADROOM bytes long (the engine rejects larger messages).
 */
export function splitSegment(file: string, position: number, bytes: Uint8Array, maxPayload: number): Buffer[] {
  const room = segmentRoom(file, maxPayload);
  const out: Buffer[] = [];
  for (let off = 0; off < bytes.length || out.length === 0; off += room) {
    out.push(encodeSegment(file, position + off, bytes.subarray(off, Math.min(bytes.length, off + room))));
  }
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

export function encodeDefs(dir: string, op: Uint8Array): Buffer {
  const d = str(dir);
  const out = head(FrameType.Defs, 4 + d.length + op.length);
  out.writeUInt16BE(d.length, 2);
  d.copy(out, 4);
  out.set(op, 4 + d.length);
  return out;
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

class FrameError extends Error {
  constructor(msg: string) {
    super(`bad replication frame: ${msg}`);
    this.name = 'FrameError';
  }
}

/** Decodes one frame; the SEGMENT bytes and DEFS op are views of `data`. Throws on anything malformed. */
export function decodeFrame(data: Uint8Array): Frame {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const need = (n: number): void => {
    if (b.length < n) throw new FrameError(`truncated (${b.length} of at least ${n} bytes)`);
  };
  need(2);
  if (b[0] !== FRAME_VERSION) throw new FrameError(`version ${b[0]}`);
  const type = b[1] as number;
  switch (type) {
    case FrameType.Segment: {
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
    case FrameType.Defs: {
      need(4);
      const dl = b.readUInt16BE(2);
      need(4 + dl);
      return { type, dir: b.toString('utf8', 4, 4 + dl), op: b.subarray(4 + dl) };
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
