// A pino logger whose lines a test reads back, parsed.

import { Writable } from 'node:stream';
import { pino } from 'pino';

/** Lines (parsed) at `level` and above. */
export function captureLog(level = 'warn'): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level }, sink), lines };
}
