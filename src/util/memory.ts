// The memory the process may use, for limits given relative to memory (the config file's
// disk_free_limit.relative). broker/flow.ts has the same rule for the memory watermark.

import { totalmem } from 'node:os';

/**
 * The machine's memory, or the container's cgroup limit when that is lower (RabbitMQ does the same),
 * so a relative limit means something inside a container.
 */
export function availableMemory(constrained: number | undefined = process.constrainedMemory?.(), total: number = totalmem()): number {
  // Unlimited cgroups report 0 or a huge sentinel (2^64 - 1), both ignored.
  return constrained !== undefined && constrained > 0 && constrained < total ? constrained : total;
}
