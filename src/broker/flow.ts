// Resource alarms: memory high watermark and disk free limit. While one is raised,
// publishing connections are blocked (connection.blocked, socket reads paused).

import { statfs } from 'node:fs/promises';
import { totalmem } from 'node:os';
import type { Logger } from '../log.js';
import type { Clock, Timer } from '../util/clock.js';

export type AlarmListener = (blocked: boolean, reason: string) => void;

export interface AlarmConfig {
  /** A fraction (< 1) of system memory, or absolute bytes (>= 1). */
  memoryHighWatermark: number;
  /** Bytes of free disk below which publishers are blocked. */
  diskFreeLimit: number;
  dataDir: string;
}

/**
 * Memory the process may use: the machine's, or the container's cgroup limit when that is lower
 * (RabbitMQ does the same), so a relative watermark means something inside a container.
 */
export function availableMemory(constrained: number | undefined = process.constrainedMemory?.(), total: number = totalmem()): number {
  // Unlimited cgroups report 0 or a huge sentinel (2^64 - 1), both ignored.
  return constrained !== undefined && constrained > 0 && constrained < total ? constrained : total;
}

/**
 * The memory alarm clears only once usage falls below this fraction of the limit, so a broker
 * hovering at the watermark does not block and unblock its publishers every check.
 */
export const MEMORY_CLEAR_FRACTION = 0.9;

/**
 * Memory the broker itself holds: the JS heap in use plus memory outside it (Buffers, array
 * buffers). Not RSS: after a backlog drains, V8 and the allocator keep pages mapped, and an
 * RSS-based alarm would then never clear.
 */
export function brokerMemory(): number {
  const m = process.memoryUsage();
  // `external` already includes `arrayBuffers` (Node's documentation); adding both would count Buffers twice.
  return m.heapUsed + m.external;
}

export class Alarms {
  private memory = false;
  private disk = false;
  /** The store hit an I/O error (e.g. ENOSPC): publishers stay blocked. */
  private storeFailed = false;
  private readonly listeners: AlarmListener[] = [];
  private timer: Timer | null = null;
  private readonly config: AlarmConfig;
  private readonly log: Logger;
  /** Overrides for tests and measurement: sources of the readings. */
  readMemory: () => number = brokerMemory;
  readDiskFree: (dir: string) => Promise<number> = async (dir) => {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  };

  private readonly clock: Clock;

  constructor(config: AlarmConfig, clock: Clock, log: Logger) {
    this.config = config;
    this.clock = clock;
    this.log = log;
    const w = config.memoryHighWatermark;
    if (!Number.isFinite(w) || w <= 0) log.error({ memoryHighWatermark: w }, 'invalid memory high watermark; memory alarm disabled');
  }

  get blocked(): boolean {
    return this.memory || this.disk || this.storeFailed;
  }

  get reason(): string {
    if (this.memory) return 'low on memory';
    return 'low on disk space';
  }

  get memoryLimitBytes(): number {
    const w = this.config.memoryHighWatermark;
    if (!Number.isFinite(w) || w <= 0) return Infinity;
    return w < 1 ? Math.floor(availableMemory() * w) : w;
  }

  /** Whether the memory alarm is raised. */
  get memoryAlarm(): boolean {
    return this.memory;
  }

  /** Whether the disk alarm is raised (free space below the limit, or the store failed to write). */
  get diskAlarm(): boolean {
    return this.disk || this.storeFailed;
  }

  get diskFreeLimit(): number {
    return this.config.diskFreeLimit;
  }

  /** The last readings (null before the first check): what the metrics report. */
  lastMemoryUsed: number | null = null;
  lastDiskFree: number | null = null;

  onChange(l: AlarmListener): void {
    this.listeners.push(l);
  }

  start(intervalMs: number): void {
    this.timer = this.clock.every(intervalMs, () => void this.check());
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  async check(): Promise<void> {
    const wasBlocked = this.blocked;
    const used = this.readMemory();
    this.lastMemoryUsed = used;
    const limit = this.memoryLimitBytes;
    this.memory = this.memory ? used >= limit * MEMORY_CLEAR_FRACTION : used > limit;
    try {
      const free = await this.readDiskFree(this.config.dataDir);
      this.lastDiskFree = free;
      this.disk = free < this.config.diskFreeLimit;
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot read free disk space');
    }
    this.emitIfChanged(wasBlocked);
  }

  /** The store failed to write (ENOSPC or another I/O error): block publishers for good. */
  raiseStoreFailure(err: Error): void {
    const was = this.blocked;
    this.storeFailed = true;
    this.log.error({ err: err.message }, 'message store failed; publishers blocked');
    this.emitIfChanged(was);
  }

  private emitIfChanged(wasBlocked: boolean): void {
    const now = this.blocked;
    if (now === wasBlocked) return;
    this.log.warn({ memory: this.memory, disk: this.disk, storeFailed: this.storeFailed }, now ? 'resource alarm raised' : 'resource alarm cleared');
    for (const l of this.listeners) l(now, this.reason);
  }
}
