// A segment file's bookkeeping, its name on disk, and what the log tells about its batches.

import * as path from 'node:path';

/** One segment file and the bookkeeping deciding when it may be deleted. */
export class Segment {
  readonly id: number;
  readonly path: string;
  /** Write descriptor of a segment being written, or -1 once finished and synced (or recovered). */
  fd: number;
  /** Read-only descriptor of a finished segment, or -1; at most maxReadFds are open (LRU). */
  readFd: number;
  /** Bytes assigned in this file, including those not yet written. */
  size: number;
  /** Bytes whose write(2) completed. */
  written: number;
  /** Messages in this file still held by some queue. */
  live: number;
  /** Log position at which `live` last dropped to 0; its deletion waits until that is durable. */
  emptiedAt: number;
  /** Older segments this one's ack/delivered/purge records name; it is kept while any of them exists. */
  readonly refs: Set<Segment>;
  /** Newer segments whose `refs` hold this one. */
  readonly referencedBy: Set<Segment>;
  deleted: boolean;
  /** Message body bytes appended here: whether a summary would be much smaller than the file. */
  bodyBytes: number;

  constructor(id: number, dir: string, fd: number, size: number) {
    this.id = id;
    this.path = path.join(dir, segmentFileName(id));
    this.fd = fd;
    this.readFd = -1;
    this.size = size;
    this.written = size;
    this.live = 0;
    this.emptiedAt = 0;
    this.refs = new Set();
    this.referencedBy = new Set();
    this.deleted = false;
    this.bodyBytes = 0;
  }
}

/** Zero-padded so a plain directory listing sorts in log order too. */
export function segmentFileName(id: number): string {
  return `${String(id).padStart(12, '0')}.seg`;
}

export const SEGMENT_FILE_RE = /^(\d{12,})\.seg$/;

export interface SegmentLogHooks {
  /** Write progress: every record ending at or before segment.written is in the OS. */
  written(): void;
  /** The store's next seq, stamped in a new segment's header. */
  nextSeq(): number;
  /** The previously active segment stopped receiving writes. */
  rolled(old: Segment): void;
  /** Segments that may be deleted now that everything up to `durable` (log position) is durable. */
  deletable(durable: number): Segment[];
  /** These segments' files are gone (and the directory synced, unless sync is off). */
  deleted(segments: Segment[]): void;
}

/**
 * Where written batches are replicated (high availability). The log hands each batch over as it
 * writes it, in log order, and a confirm then waits for both its local fsync and
 * `replicatedPos` passing it; the sink calls `SegmentLog.replicated()` when that moves. Without
 * a sink nothing of this runs.
 */
export interface ReplicationSink {
  /**
   * Bytes [position, position + bytes) of `seg`, as written to it; `end` is the log position after
   * them. The sink may keep `iov`'s buffers after returning: the log never changes or reuses a
   * handed-over batch's buffers (chunks are not recycled; bodies written out of line are immutable).
   */
  batch(seg: Segment, position: number, iov: readonly Buffer[], bytes: number, end: number): void;
  /** Log position up to which everything handed over is replicated. */
  readonly replicatedPos: number;
  /** These segments' files are gone locally. */
  deleted(segs: readonly Segment[]): void;
}

