// `warren serve --server-property key=value` (repeatable) and WARREN_SERVER_PROPERTY_<KEY> reach
// connection.start. Runs the built CLI (dist/, `npm run build`) as a child process.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';

const CLI = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
let child: ChildProcess | null = null;
let dir = '';

afterEach(() => {
  if (child !== null && child.exitCode === null) child.kill('SIGKILL');
  child = null;
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** Starts the CLI on a free port and resolves with the port from its 'warren listening' log line. */
function serve(args: string[], env: Record<string, string>): Promise<number> {
  dir = mkdtempSync(join(tmpdir(), 'warren-cli-'));
  const c = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--no-management-port', '--data-dir', dir, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = c;
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`no 'warren listening' line: ${out}`)), 10_000);
    c.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      for (const line of out.split('\n')) {
        if (!line.includes('warren listening')) continue;
        clearTimeout(t);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    c.on('exit', (code) => reject(new Error(`warren exited with ${String(code)}: ${out}`)));
  });
}

const str = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

it('repeated --server-property flags override product and version; env adds cluster_name', { timeout: 20_000 }, async () => {
  const port = await serve(['--server-property', 'product=RabbitMQ', '--server-property', 'version=3.10.8'], {
    WARREN_SERVER_PROPERTY_CLUSTER_NAME: 'from-env',
  });
  const c = await RawClient.open(port);
  const props = c.start?.serverProperties ?? {};
  expect([str(props['product']), str(props['version']), str(props['cluster_name'])]).toEqual(['RabbitMQ', '3.10.8', 'from-env']);
  await c.close();
});
