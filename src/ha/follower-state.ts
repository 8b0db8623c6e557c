// A follower's own files, in <data>/ha: the applied sequence, the identity of the log the copy is
// of, and the parts received so far of an access snapshot sent in several frames.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncDir } from '../store/segment-io.js';
import { crc32 } from '../util/crc32.js';

export const HA_DIR = 'ha';
export const APPLIED_FILE = 'applied';
/** The identity of the log the copy is of (ReplicatedLog.identity). */
const STREAM_FILE = 'stream';
/**
 * The parts of an access snapshot received so far: its tag (u32 total length, u32 CRC-32 of the
 * snapshot), then the bytes. Parts of another snapshot are not added to them.
 */
export const ACCESS_PARTIAL = 'access.partial';
const PARTIAL_TAG_SIZE = 8;
/** u64 sequence (as two u32), u32 CRC-32 of those 8 bytes. */
const APPLIED_SIZE = 12;

/** The file's bytes, or null if it does not exist. */
function readIfExists(file: string): Buffer | null {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export function readApplied(file: string): number {
  const buf = readIfExists(file);
  if (buf === null || buf.length < APPLIED_SIZE) return 0;
  if (buf.readUInt32BE(8) !== crc32(buf.subarray(0, 8))) throw new Error(`${file} is damaged (checksum)`);
  return buf.readUInt32BE(0) * 2 ** 32 + buf.readUInt32BE(4);
}

export function encodeApplied(seq: number): Buffer {
  const buf = Buffer.allocUnsafe(APPLIED_SIZE);
  buf.writeUInt32BE(Math.floor(seq / 2 ** 32), 0);
  buf.writeUInt32BE(seq >>> 0, 4);
  buf.writeUInt32BE(crc32(buf.subarray(0, 8)), 8);
  return buf;
}

/** Identity of the log a data directory is a copy of (null: none recorded). */
export function streamOf(dataDir: string): string | null {
  return readIfExists(path.join(dataDir, HA_DIR, STREAM_FILE))?.toString('utf8') ?? null;
}

/** Records the identity of the log followed, atomically (temp file, rename; fsynced with the directory when `sync`). */
export async function recordStream(dataDir: string, identity: string, sync: boolean): Promise<void> {
  const dir = path.join(dataDir, HA_DIR);
  const tmp = path.join(dir, `${STREAM_FILE}.tmp`);
  const h = await fs.promises.open(tmp, 'w');
  try {
    await h.writeFile(identity, 'utf8');
    if (sync) await h.sync();
  } finally {
    await h.close();
  }
  await fs.promises.rename(tmp, path.join(dir, STREAM_FILE));
  if (sync) await fsyncDir(dir);
}

/** Bytes of the snapshot tagged (total, crc) the partial file holds: 0 if it holds another's, or none. */
export function partialHeld(file: string, total: number, crc: number): number {
  const buf = readIfExists(file);
  if (buf === null || buf.length < PARTIAL_TAG_SIZE || buf.readUInt32BE(0) !== total || buf.readUInt32BE(4) !== crc) return 0;
  return buf.length - PARTIAL_TAG_SIZE;
}

/** Writes one part at `offset`; a first part (offset 0) starts the file afresh with its snapshot's tag. */
export function writePart(file: string, total: number, crc: number, offset: number, bytes: Uint8Array, sync: boolean): void {
  const fd = fs.openSync(file, offset === 0 ? 'w' : 'r+');
  try {
    if (offset === 0) {
      const tag = Buffer.allocUnsafe(PARTIAL_TAG_SIZE);
      tag.writeUInt32BE(total, 0);
      tag.writeUInt32BE(crc, 4);
      fs.writeSync(fd, tag, 0, PARTIAL_TAG_SIZE, 0);
    }
    if (fs.writeSync(fd, bytes, 0, bytes.length, PARTIAL_TAG_SIZE + offset) !== bytes.length) throw new Error(`short write to ${file}`);
    // Rare and small: durable now, so the applied sequence never covers a part the file lost.
    if (sync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The snapshot's bytes held in the partial file (up to `total`). */
export function readParts(file: string, total: number): Buffer {
  return fs.readFileSync(file).subarray(PARTIAL_TAG_SIZE, PARTIAL_TAG_SIZE + total);
}
