// Paging reads of written segment bytes: read-ahead windows and a capped set of read-only descriptors.

import * as fs from 'node:fs';
import type { Segment } from './segment.js';

/**
 * Read-ahead for paging: recently read bytes of a segment. Paged-out messages of a queue are
 * mostly adjacent in the log, so a refill served from windows costs one read(2) per window
 * instead of one per record. A window's buffer is never reused (views of it may be held);
 * a new read gets a fresh buffer and the old one goes to the GC.
 */
class ReadWindow {
  seg: Segment | null;
  /** File offset of buf[0]. */
  start: number;
  buf: Buffer;
  /** Bytes to read on the next sequential miss (grows while reads stay sequential). */
  next: number;
  /** For LRU replacement. */
  used: number;

  constructor() {
    this.seg = null;
    this.start = 0;
    this.buf = EMPTY;
    this.next = 0;
    this.used = 0;
  }
}

const EMPTY = Buffer.alloc(0);
/** 64 KiB: the first read at a new place; about the cost of a 4 KiB read from the page cache plus a memcpy. */
export const MIN_READ_AHEAD = 64 * 1024;
/** 1 MiB: tens of thousands of small records per read(2), and a few windows per store stay cheap. */
export const MAX_READ_AHEAD = 1024 * 1024;
/** Windows per log: a refill of one queue, another queue's refill and recovered bodies read at delivery each keep theirs. */
const READ_WINDOWS = 4;

export class SegmentReader {
  /** read(2) calls made for paging reads (for tests and stats). */
  reads: number;
  private readonly maxReadFds: number;
  /** Segments holding a readFd, least recently read first (Set keeps insertion order). */
  private readonly readLru: Set<Segment>;
  private readonly windows: ReadWindow[];
  private windowClock: number;

  constructor(maxReadFds: number) {
    this.maxReadFds = Math.max(1, maxReadFds);
    this.readLru = new Set();
    this.windows = [];
    for (let i = 0; i < READ_WINDOWS; i++) this.windows.push(new ReadWindow());
    this.windowClock = 0;
    this.reads = 0;
  }

  /** Reads `length` bytes at `offset` of a segment (synchronously: paging reads are served from the page cache mostly). */
  read(seg: Segment, offset: number, length: number, slow = false): Buffer {
    const fd = seg.fd >= 0 ? seg.fd : this.readFd(seg);
    // Windows are unpooled: a pool slab must not outlive them, nor they a slab.
    const buf = slow ? Buffer.allocUnsafeSlow(length) : Buffer.allocUnsafe(length);
    this.reads++;
    const n = fs.readSync(fd, buf, 0, length, offset);
    if (n !== length) throw new Error(`short read in ${seg.path} at ${offset}: ${n} of ${length} bytes`);
    return buf;
  }

  /** Written bytes [offset, offset + length) of a segment, as a view into a read-ahead window (see ReadWindow). */
  windowView(seg: Segment, offset: number, length: number): Buffer {
    const end = offset + length;
    let victim: ReadWindow | null = null;
    let seq: ReadWindow | null = null;
    for (const w of this.windows) {
      if (w.seg === seg && offset >= w.start && end <= w.start + w.buf.length) {
        w.used = ++this.windowClock;
        return w.buf.subarray(offset - w.start, end - w.start);
      }
      // A reader moving forward just past a window, in its segment or into the next one.
      const wEnd = w.start + w.buf.length;
      if (w.seg !== null && ((w.seg === seg && offset >= wEnd && offset < wEnd + w.next) || (w.seg.id + 1 === seg.id && wEnd === w.seg.size && offset < w.next))) seq = w;
      if (victim === null || w.used < victim.used) victim = w;
    }
    // A record too large for a window is read on its own.
    if (length > MAX_READ_AHEAD) return this.read(seg, offset, length);
    const w = seq ?? (victim as ReadWindow);
    const want = seq === null ? MIN_READ_AHEAD : Math.min(MAX_READ_AHEAD, seq.next * 2);
    const n = Math.max(length, Math.min(want, seg.written - offset));
    w.buf = this.read(seg, offset, n, true);
    w.seg = seg;
    w.start = offset;
    w.next = want;
    w.used = ++this.windowClock;
    return w.buf.subarray(0, length);
  }

  /** Forgets the read-ahead windows of these segments (they are gone) or of all (close). */
  dropWindows(segs: Segment[] | null): void {
    for (const w of this.windows) {
      if (w.seg !== null && (segs === null || segs.includes(w.seg))) {
        w.seg = null;
        w.buf = EMPTY;
        w.start = 0;
        w.next = 0;
      }
    }
  }

  /** Read-only descriptors currently open. */
  get openReadFds(): number {
    return this.readLru.size;
  }

  /** The segment's read-only descriptor, opening it (and closing the least recently used one past the cap). */
  private readFd(seg: Segment): number {
    if (seg.readFd >= 0) {
      this.readLru.delete(seg);
      this.readLru.add(seg);
      return seg.readFd;
    }
    const fd = fs.openSync(seg.path, 'r');
    seg.readFd = fd;
    this.readLru.add(seg);
    if (this.readLru.size > this.maxReadFds) {
      const oldest = this.readLru.values().next().value as Segment;
      this.closeReadFd(oldest);
    }
    return fd;
  }

  closeReadFd(seg: Segment): void {
    if (seg.readFd < 0) return;
    const fd = seg.readFd;
    seg.readFd = -1;
    this.readLru.delete(seg);
    // Synchronous: reads are synchronous too, and close(2) of a read-only fd does not block on I/O.
    fs.closeSync(fd);
  }

  /** Drops every window and closes every read-only descriptor. */
  closeAll(): void {
    this.dropWindows(null);
    for (const s of [...this.readLru]) this.closeReadFd(s);
  }
}
