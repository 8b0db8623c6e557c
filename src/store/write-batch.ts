// A batch of appended bytes on its way to a segment, and reads of bytes no write has reached yet.

import type { Segment } from './segment.js';

export interface Batch {
  readonly seg: Segment;
  /** File offset of the first byte. */
  readonly position: number;
  readonly iov: Buffer[];
  /** File offset of each iov entry (for reads of bytes not yet written). */
  readonly starts: number[];
  /** Bytes in iov; the rest of `bytes` is still the chunk region [regionStart, chunkPos) (open batch only). */
  pushed: number;
  bytes: number;
  /** Log position after the batch's last byte. */
  end: number;
}

/**
 * Bytes [offset, offset + length) of a batch (a view, or a copy if they span two pieces); null if
 * it does not hold them all. The open batch's last piece is still the chunk region
 * [regionStart, chunkPos).
 */
export function batchView(b: Batch, open: boolean, offset: number, length: number, chunk: Buffer, regionStart: number, chunkPos: number): Buffer | null {
  if (offset < b.position || offset + length > b.position + b.bytes) return null;
  const pieces = b.iov.length + (open && b.pushed < b.bytes ? 1 : 0);
  const piece = (k: number): Buffer => (k < b.iov.length ? (b.iov[k] as Buffer) : chunk.subarray(regionStart, chunkPos));
  const startOf = (k: number): number => (k < b.iov.length ? (b.starts[k] as number) : b.position + b.pushed);
  // Last piece starting at or before offset.
  let lo = 0;
  let hi = pieces - 1;
  let k = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (startOf(mid) <= offset) {
      k = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const first = piece(k);
  const rel = offset - startOf(k);
  if (rel + length <= first.length) return first.subarray(rel, rel + length);
  const out = Buffer.allocUnsafe(length);
  let n = first.copy(out, 0, rel);
  while (n < length && ++k < pieces) n += piece(k).copy(out, n, 0, Math.min(piece(k).length, length - n));
  return n === length ? out : null;
}
