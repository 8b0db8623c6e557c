// Time is injected: every timer and every reading of "now" in src/ goes through the Clock
// (src/util/clock.ts), so timing logic can be tested on a ManualClock without sleeping.

import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SRC, srcFiles } from './src-files.js';

const CLOCK = join(SRC, 'util', 'clock.ts');

/** Source text without comments, so prose may still name the functions it replaces. */
function code(file: string): string {
  return readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

const FORBIDDEN = /\b(setTimeout|setInterval|clearTimeout|clearInterval)\s*\(|\bDate\.now\b|\bnew Date\(\s*\)/;

describe('timers on the clock', () => {
  it('no setTimeout, setInterval or Date.now in src/ outside the clock module', () => {
    const offenders: string[] = [];
    for (const f of srcFiles()) {
      if (f === CLOCK) continue;
      code(f)
        .split('\n')
        .forEach((line, i) => {
          if (FORBIDDEN.test(line)) offenders.push(`${relative(SRC, f)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });

  it('the check sees a direct timer call', () => {
    expect(FORBIDDEN.test('    this.t = setTimeout(() => x(), 5);')).toBe(true);
    expect(FORBIDDEN.test('const now = Date.now();')).toBe(true);
    expect(FORBIDDEN.test('this.timer = this.clock.after(5, fn);')).toBe(false);
  });
});
