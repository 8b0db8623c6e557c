// Temporary directories for one test file, removed after each test.

import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach } from 'vitest';

/** Returns a maker of fresh temporary directories (`<prefix>-<tag>-XXXXXX`), removed after each test. */
export function tempDirs(prefix: string): (tag: string) => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return (tag) => {
    const d = fs.mkdtempSync(path.join(tmpdir(), `${prefix}-${tag}-`));
    dirs.push(d);
    return d;
  };
}
