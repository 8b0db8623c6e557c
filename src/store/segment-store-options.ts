// What a SegmentStore is opened with, and the defaults of what may be left out.

import type { SyncMode } from './message-store.js';
import type { ReplicationSink } from './segment.js';
import type { SegmentLog } from './segment-log.js';
import type { Clock } from '../util/clock.js';


export interface SegmentStoreOptions {
  /** Directory holding the segment files (created if missing); one store per directory. */
  dir: string;
  /** Segment file size: 8 MiB like LavinMQ, big enough for sequential I/O, small enough to free space soon after acks. */
  segmentSize?: number;
  /** Default 'always': a confirm must never precede the fsync that covers it. */
  sync?: SyncMode;
  /** fsync period for sync 'batch'. */
  batchIntervalMs?: number;
  /** Bodies up to this size are copied into the write buffer; larger ones are written from the caller's buffer (writev). */
  copyBodyBelow?: number;
  /** Write-buffer chunk size. */
  writeChunkSize?: number;
  /** Read-only descriptors kept open for paging reads of finished segments (LRU beyond that). */
  maxReadFds?: number;
  /** Clock in milliseconds, for recoveryMs. */
  now?: () => number;
  /** Clock for the batch-mode fsync timer (default: the system clock). */
  clock?: Clock;
  /** Replication of the log (HA): given the log once it exists, returns the sink its batches go to. */
  replication?: (log: SegmentLog) => ReplicationSink;
}

/** 8 MiB: see SegmentStoreOptions.segmentSize. */
export const DEFAULT_SEGMENT_SIZE = 8 * 1024 * 1024;
/** 10 ms: bounds the confirm latency in batch mode, still ~100 fsyncs/s at most. */
export const DEFAULT_BATCH_INTERVAL_MS = 10;
/** 16 KiB: below it a memcpy is cheaper than another iovec and keeps writev lists short. */
export const DEFAULT_COPY_BODY_BELOW = 16 * 1024;
/** 64: with 8 MiB segments, 512 MiB of backlog readable without reopening, far below usual fd limits. */
export const DEFAULT_MAX_READ_FDS = 64;
/** 1 MiB: many records per chunk, so a chunk allocation is rare. */
export const DEFAULT_WRITE_CHUNK_SIZE = 1024 * 1024;
