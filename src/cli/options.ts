// Parsers for command-line values that need more than an integer check.

import { InvalidArgumentError } from 'commander';

/**
 * A memory high watermark as RabbitMQ's vm_memory_high_watermark takes it: a fraction (< 1) of
 * the memory available to the broker, or an absolute number of bytes (>= 1).
 */
export function parseWatermark(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError('expected a fraction below 1 (e.g. 0.4) or a number of bytes');
  }
  if (n >= 1 && !Number.isInteger(n)) throw new InvalidArgumentError('an absolute watermark is a whole number of bytes');
  return n;
}
