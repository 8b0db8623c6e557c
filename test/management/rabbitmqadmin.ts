// rabbitmqadmin v1 for the tests: the script RabbitMQ's management plugin serves at
// /cli/rabbitmqadmin, fetched once from a local RabbitMQ and cached under the OS temp dir (never
// committed). No RabbitMQ answering: start one with interop/rabbitmq.sh (as CI's interop step
// does; it enables the management plugin), fetch, and stop it again. Without the script the test
// fails; it does not skip.

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const MANAGEMENT_PORT = Number(process.env['RABBITMQ_MANAGEMENT_PORT'] ?? 15672);
const AMQP_PORT = Number(process.env['RABBITMQ_PORT'] ?? 5672);
const SCRIPT = resolve(__dirname, '../../interop/rabbitmq.sh');
export const PYTHON = '/usr/bin/python3';

function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      done(true);
    });
    s.once('error', () => done(false));
  });
}

async function download(to: string): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${MANAGEMENT_PORT}/cli/rabbitmqadmin`);
    if (!res.ok) return false;
    const text = await res.text();
    if (!text.startsWith('#!')) return false;
    const tmp = `${to}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode: 0o755 });
    renameSync(tmp, to);
    return true;
  } catch {
    return false;
  }
}

/** The path of rabbitmqadmin v1, fetching it (and starting RabbitMQ for that) when not cached. */
export async function rabbitmqadmin(): Promise<string> {
  const dir = join(tmpdir(), 'warren-rabbitmqadmin');
  const file = join(dir, 'rabbitmqadmin');
  if (existsSync(file) && statSync(file).size > 0) return file;
  mkdirSync(dir, { recursive: true });
  if (await download(file)) return file;
  // Nothing answers on the management port: start the reference node, unless one is already
  // running (then it is someone else's: use it, never stop it).
  const wasRunning = await portOpen(AMQP_PORT);
  try {
    await run('bash', [SCRIPT, 'start'], { timeout: 300_000 });
    if (wasRunning) await run('bash', [SCRIPT, 'management'], { timeout: 180_000 });
    if (await download(file)) return file;
  } finally {
    if (!wasRunning) await run('bash', [SCRIPT, 'stop'], { timeout: 120_000 }).catch(() => undefined);
  }
  throw new Error(`rabbitmqadmin could not be fetched from RabbitMQ's management plugin on 127.0.0.1:${MANAGEMENT_PORT}`);
}

export interface AdminRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run rabbitmqadmin against warren's management port (asynchronously: the broker shares this process). */
export async function runAdmin(script: string, port: number, args: readonly string[], user = 'guest', pass = 'guest'): Promise<AdminRun> {
  try {
    const r = await run(PYTHON, [script, '-H', '127.0.0.1', '-P', String(port), '-u', user, '-p', pass, ...args], { timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
