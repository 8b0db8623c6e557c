// The src/ tree as the architecture tests read it: one place, so every rule scans the same files.

import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SRC = resolve(__dirname, '../../src');

/** Every .ts file under dir (src/ by default), recursively. */
export function srcFiles(dir: string = SRC): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...srcFiles(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}
