// Files stay small and named for what they hold: every .ts file under src/ has at most MAX_LINES
// lines, so a file is read whole and a change lands in the module it is about. Generated code
// (src/protocol/generated/) is exempt: nobody edits it by hand.

import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SRC, srcFiles } from './src-files.js';

const MAX_LINES = 400;
const EXEMPT_DIR = 'protocol/generated/';

/**
 * TEMPORARY: files over the limit that are being split in another branch. Remove each entry when
 * its split lands (the last test below fails once a listed file is within the limit or gone, so
 * this list cannot outlive its reason); the list should end empty.
 */
const OVER_LIMIT_FOR_NOW: readonly string[] = ['broker/queue/queue.ts', 'broker/vhost.ts', 'server/connection.ts'];

/** Lines of a file as an editor counts them (a final newline ends the last line, it adds none). */
function lineCount(file: string): number {
  const text = readFileSync(file, 'utf8');
  if (text.length === 0) return 0;
  const n = text.split('\n').length;
  return text.endsWith('\n') ? n - 1 : n;
}

const sized = srcFiles()
  .map((file) => ({ rel: relative(SRC, file), lines: lineCount(file) }))
  .filter((f) => !f.rel.startsWith(EXEMPT_DIR));

describe('file size', () => {
  it('scans the source tree', () => {
    expect(sized.length).toBeGreaterThan(50);
  });

  it(`every src/ file outside ${EXEMPT_DIR} has at most ${MAX_LINES} lines`, () => {
    const over = sized.filter((f) => f.lines > MAX_LINES && !OVER_LIMIT_FOR_NOW.includes(f.rel)).map((f) => `src/${f.rel} (${f.lines} lines)`);
    expect(over, `split these files into modules named for what they hold: ${over.join(', ')}`).toEqual([]);
  });

  it('the temporary allow-list names only files still over the limit', () => {
    const stale = OVER_LIMIT_FOR_NOW.filter((rel) => {
      const file = join(SRC, rel);
      return !existsSync(file) || lineCount(file) <= MAX_LINES;
    }).map((rel) => `src/${rel}`);
    expect(stale, `remove from OVER_LIMIT_FOR_NOW (within ${MAX_LINES} lines now, or gone): ${stale.join(', ')}`).toEqual([]);
  });
});
