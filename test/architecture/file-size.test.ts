// Files stay small and named for what they hold: every .ts file under src/ has at most MAX_LINES
// lines, so a file is read whole and a change lands in the module it is about. Generated code
// (src/protocol/generated/) is exempt: nobody edits it by hand.

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SRC, srcFiles } from './src-files.js';

const MAX_LINES = 400;
const EXEMPT_DIR = 'protocol/generated/';

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
    const over = sized.filter((f) => f.lines > MAX_LINES).map((f) => `src/${f.rel} (${f.lines} lines)`);
    expect(over, `split these files into modules named for what they hold: ${over.join(', ')}`).toEqual([]);
  });
});
