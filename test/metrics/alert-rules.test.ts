// The shipped alerting rules: promtool accepts them, its unit tests (warren-alerts.promtool.yml)
// show each alert firing when it should and not before, and the npm package carries the file.

import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const RULES = 'src/metrics/alerts/warren-alerts.yml';

describe('warren-alerts.yml', () => {
  it('passes promtool check rules', () => {
    const r = spawnSync('promtool', ['check', 'rules', RULES], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS: 8 rules found');
  });

  it("passes promtool's unit tests of each alert", () => {
    const r = spawnSync('promtool', ['test', 'rules', 'warren-alerts.promtool.yml'], { cwd: resolve(ROOT, 'test/metrics'), encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('is in the npm package', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    const files = (JSON.parse(out) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path) ?? [];
    expect(files).toContain(RULES);
  });
});
