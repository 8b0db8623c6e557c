// --vm-memory-high-watermark and WARREN_VM_MEMORY_HIGH_WATERMARK reach the memory alarm.
// Runs the built CLI (dist/, `npm run build`) as a child process.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from 'commander';
import { configFromEnv } from '../../src/config/config.js';
import { parseWatermark } from '../../src/cli/options.js';

const CLI = resolve(__dirname, '../../dist/cli/main.js');
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Start `warren serve` and collect its output until `until` matches it or the process exits. */
function serve(args: string[], env: Record<string, string>, until: RegExp): Promise<{ out: string; code: number | null }> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-cli-'));
  dirs.push(dir);
  const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--no-management-port', '--data-dir', dir, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolvePromise) => {
    let out = '';
    const onData = (b: Buffer): void => {
      out += b.toString();
      if (until.test(out)) resolvePromise({ out, code: null });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => resolvePromise({ out, code }));
  });
}

describe('memory high watermark from the command line and the environment', () => {
  it('parses a fraction or absolute bytes, and refuses anything else', () => {
    expect(parseWatermark('0.4')).toBe(0.4);
    expect(parseWatermark('1073741824')).toBe(1073741824);
    for (const bad of ['', 'abc', '0', '-0.2', '1.5', 'Infinity']) expect(() => parseWatermark(bad), bad).toThrow(InvalidArgumentError);
    expect(configFromEnv({ WARREN_VM_MEMORY_HIGH_WATERMARK: '0.25' }).memoryHighWatermark).toBe(0.25);
  });

  it('--vm-memory-high-watermark 1 (one byte) raises the memory alarm at start', async () => {
    const { out } = await serve(['--vm-memory-high-watermark', '1', '--log-level', 'warn'], {}, /resource alarm raised/);
    expect(out).toMatch(/"memory":true.*resource alarm raised/);
  });

  it('WARREN_VM_MEMORY_HIGH_WATERMARK=1 does the same; a bad value stops the CLI with a message', async () => {
    const { out } = await serve(['--log-level', 'warn'], { WARREN_VM_MEMORY_HIGH_WATERMARK: '1' }, /resource alarm raised/);
    expect(out).toMatch(/"memory":true.*resource alarm raised/);
    const bad = await serve([], { WARREN_VM_MEMORY_HIGH_WATERMARK: 'lots' }, /$^/);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/warren: expected a fraction below 1/);
  });
});
