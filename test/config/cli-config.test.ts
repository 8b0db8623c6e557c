// The real CLI (`node dist/cli/main.js serve`) with a config file: a bad file stops the start with
// one line on stderr naming file and line and a non-zero exit; a good one takes effect, and flags
// win over the environment, which wins over the file, which wins over the defaults.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as amqplib from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, repoRoot } from '../crash/harness.js';
import { freePort } from '../helpers/free-port.js';

const main = join(repoRoot, 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'warren-cli-conf-'));
const children = new Set<ChildProcess>();

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

afterEach(() => {
  for (const c of children) c.kill('SIGTERM');
  children.clear();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function confFile(text: string): string {
  const f = join(dir, `rabbitmq-${++fileCount}.conf`);
  writeFileSync(f, text);
  return f;
}

/** The environment without any WARREN_ or RABBITMQ_ variable of the test runner's own. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WARREN_') && !k.startsWith('RABBITMQ_')) env[k] = v;
  // `warren serve` opens the management API on 15672 by default; these runs do not need it.
  return { ...env, WARREN_MANAGEMENT_PORT: 'off', ...extra };
}

type Outcome = { exited: true; code: number | null; stderr: string } | { exited: false; port: number; hosts: string[]; logs: Record<string, unknown>[] };

/** Run `warren serve`; resolve when it exits or logs that it listens. */
function serve(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  const dataDir = mkdtempSync(join(dir, 'data-'));
  const child = spawn(process.execPath, [main, 'serve', '--data-dir', dataDir, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  const logs: Record<string, unknown>[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`warren neither listened nor exited; stderr: ${stderr}`)), 15_000);
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      let nl: number;
      while ((nl = stdout.indexOf('\n')) >= 0) {
        const line = stdout.slice(0, nl);
        stdout = stdout.slice(nl + 1);
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry['msg'] === 'warren listening') {
          clearTimeout(timer);
          resolve({ exited: false, port: entry['port'] as number, hosts: entry['hosts'] as string[], logs });
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ exited: true, code, stderr });
    });
  });
}

async function refused(args: string[], env: Record<string, string> = {}): Promise<string> {
  const out = await serve(args, env);
  if (!out.exited) throw new Error('expected warren to refuse to start');
  expect(out.code).toBe(1);
  expect(out.stderr.endsWith('\n')).toBe(true);
  expect(out.stderr.split('\n')).toHaveLength(2);
  return out.stderr.trimEnd();
}

async function listening(args: string[], env: Record<string, string> = {}): Promise<{ port: number; hosts: string[]; logs: Record<string, unknown>[] }> {
  const out = await serve(args, env);
  if (out.exited) throw new Error(`warren exited ${String(out.code)}: ${out.stderr}`);
  return out;
}

async function canLogIn(port: number, user: string, pass: string): Promise<boolean> {
  try {
    const c = await amqplib.connect(`amqp://${user}:${pass}@127.0.0.1:${port}`);
    await c.close();
    return true;
  } catch {
    return false;
  }
}

describe('warren serve --config', () => {
  it('refuses an unknown key: exit 1, one line naming file and line, no stack trace', async () => {
    const f = confFile('listeners.tcp.default = 127.0.0.1:0\nfoo.bar = 1\n');
    expect(await refused(['--config', f])).toBe(`warren: ${f}:2: unknown key 'foo.bar'`);
  });

  it('refuses a bad value', async () => {
    const f = confFile('# team broker\n\nheartbeat = often\n');
    expect(await refused(['--config', f])).toBe(`warren: ${f}:3: heartbeat: 'often' is not an integer`);
  });

  it('refuses a value warren cannot honour', async () => {
    const f = confFile('listeners.tcp.default = 127.0.0.1:0\nssl_options.ciphers.1 = ECDHE-RSA-AES256-GCM-SHA384\n');
    expect(await refused(['--config', f])).toBe(`warren: ${f}:2: ssl_options.ciphers.1 is not supported: TLS cipher suites cannot be restricted yet`);
  });

  it('refuses a syntax error', async () => {
    const f = confFile('heartbeat: 30\n');
    expect(await refused(['--config', f])).toBe(`warren: ${f}:1: expected 'key = value'`);
  });

  it('refuses a missing file named by WARREN_CONFIG_FILE', async () => {
    const f = join(dir, 'absent.conf');
    expect(await refused([], { WARREN_CONFIG_FILE: f })).toBe(`warren: cannot read config file ${f}: ENOENT`);
  });

  it('creates the vhost RABBITMQ_DEFAULT_VHOST names, where the default user may connect', async () => {
    const out = await listening(['--host', '127.0.0.1', '--port', '0'], { RABBITMQ_DEFAULT_VHOST: 'app' });
    const c = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${out.port}/app`);
    await c.close();
    // No '/' was created: amqplib only says the open was refused.
    await expect(amqplib.connect(`amqp://guest:guest@127.0.0.1:${out.port}/`)).rejects.toThrow(/Expected ConnectionOpenOk/);
  });

  it('applies the file named by WARREN_CONFIG_FILE, and warns about ignored RabbitMQ keys', async () => {
    const port = await freePort();
    const f = confFile(`listeners.tcp.default = 127.0.0.1:${port}\ndefault_user = alice\ndefault_pass = wonder land\nmanagement.rates_mode = basic\n`);
    const out = await listening([], { WARREN_CONFIG_FILE: f });
    expect(out.port).toBe(port);
    expect(out.hosts).toEqual(['127.0.0.1']);
    expect(out.logs).toContainEqual(expect.objectContaining({ msg: 'config key ignored', key: 'management.rates_mode', line: 4, file: f }));
    expect(await canLogIn(port, 'alice', 'wonder%20land')).toBe(true);
    expect(await canLogIn(port, 'guest', 'guest')).toBe(false);
  });

  it('environment over file: port, log level, and RABBITMQ_DEFAULT_USER/_PASS', async () => {
    const envPort = await freePort();
    const f = confFile('listeners.tcp.default = 127.0.0.1:1\nlog.console.level = error\ndefault_user = alice\ndefault_pass = a\n');
    // The file's error level would hide the 'warren listening' line this helper waits for.
    const out = await listening(['--config', f], {
      WARREN_PORT: String(envPort),
      WARREN_LOG_LEVEL: 'info',
      RABBITMQ_DEFAULT_USER: 'bob',
      RABBITMQ_DEFAULT_PASS: 'b',
    });
    expect(out.port).toBe(envPort);
    expect(await canLogIn(envPort, 'bob', 'b')).toBe(true);
    expect(await canLogIn(envPort, 'alice', 'a')).toBe(false);
  });

  it('flags over environment, and WARREN_DEFAULT_USER over RABBITMQ_DEFAULT_USER', async () => {
    const [envPort, flagPort] = [await freePort(), await freePort()];
    const f = confFile('listeners.tcp.default = 127.0.0.1:1\ndefault_user = alice\ndefault_pass = a\n');
    const out = await listening(['--config', f, '--port', String(flagPort)], {
      WARREN_PORT: String(envPort),
      RABBITMQ_DEFAULT_USER: 'bob',
      RABBITMQ_DEFAULT_PASS: 'b',
      WARREN_DEFAULT_USER: 'carol',
      WARREN_DEFAULT_PASS: 'c',
    });
    expect(out.port).toBe(flagPort);
    expect(await canLogIn(flagPort, 'carol', 'c')).toBe(true);
    expect(await canLogIn(flagPort, 'bob', 'b')).toBe(false);
  });
});
