// Process and node gauges under RabbitMQ's names: file descriptors, resident memory and its
// limit, free disk and its limit, uptime, and the resource alarms.

import { readdirSync, readFileSync } from 'node:fs';
import type { Broker } from '../broker/broker.js';
import type { TextWriter } from './text-format.js';

/** Open file descriptors of this process (Linux /proc), or null where that is not readable. */
export function openFds(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}

/** The soft limit on open files (Linux /proc), or null. */
export function maxFds(): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m === null) return null;
    return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    return null;
  }
}

export function writeNodeMetrics(w: TextWriter, broker: Broker, prefix: string): void {
  const fds = openFds();
  if (fds !== null) w.single(`${prefix}process_open_fds`, 'gauge', 'Open file descriptors', fds);
  w.single(`${prefix}process_resident_memory_bytes`, 'gauge', 'Memory used in bytes', process.memoryUsage.rss());
  const a = broker.alarms;
  if (a.lastDiskFree !== null) w.single(`${prefix}disk_space_available_bytes`, 'gauge', 'Disk space available in bytes', a.lastDiskFree);
  const max = maxFds();
  if (max !== null) w.single(`${prefix}process_max_fds`, 'gauge', 'Open file descriptors limit', max);
  w.single(`${prefix}resident_memory_limit_bytes`, 'gauge', 'Memory high watermark in bytes', a.memoryLimitBytes);
  w.single(`${prefix}disk_space_available_limit_bytes`, 'gauge', 'Free disk space low watermark in bytes', a.diskFreeLimit);
  w.single(`${prefix}erlang_uptime_seconds`, 'gauge', 'Node uptime', (broker.clock.now() - broker.startedAt) / 1000);
}

/** RabbitMQ's alarm gauges (untyped, 1 while raised). */
export function writeAlarms(w: TextWriter, broker: Broker): void {
  const a = broker.alarms;
  w.single('rabbitmq_alarms_file_descriptor_limit', 'untyped', 'is 1 if file descriptor limit alarm is in effect', 0);
  w.single('rabbitmq_alarms_free_disk_space_watermark', 'untyped', 'is 1 if free disk space watermark alarm is in effect', a.diskAlarm ? 1 : 0);
  w.single('rabbitmq_alarms_memory_used_watermark', 'untyped', 'is 1 if VM memory watermark alarm is in effect', a.memoryAlarm ? 1 : 0);
}
