// `warren serve` opens the management API on 15672 by default; when that port is taken (often by
// a RabbitMQ on the same host) the start stops with a message naming the listener and the flags.
// Runs the built CLI (dist/, `npm run build`) as a child process.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';

const CLI = resolve(__dirname, '../../dist/cli/main.js');
let holder: Server;
let port = 0;

beforeAll(async () => {
  holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const a = holder.address();
  port = typeof a === 'object' && a !== null ? a.port : 0;
});

afterAll(async () => {
  await new Promise<void>((r) => holder.close(() => r()));
});

it('exits 1 naming the busy management port and how to move or disable it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-cli-'));
  try {
    const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--management-port', String(port), '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(1);
    expect(err).toContain(`management API: 127.0.0.1:${port} is in use`);
    expect(err).toContain('--no-management-port');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
