// AccessAdmin survives SIGKILL: every change that returned is there after a restart, a kill in
// the middle of a stream of changes leaves a loadable state holding at least every returned one,
// and deleting a vhost under confirming publishers loses nothing another vhost confirmed.
// The broker runs in a child process (access-admin-child.mjs, on the compiled dist/).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { ensureBuilt, crashSeed, randInt } from '../crash/harness.js';
import { vhostDir } from '../../src/store/data-dir.js';

const LAUNCHER = join(__dirname, 'access-admin-child.mjs');

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

class Child {
  readonly port: number;
  private readonly proc: ChildProcess;
  private next = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  /** Ids answered ok, in order of arrival. */
  readonly acked: number[] = [];

  private constructor(proc: ChildProcess, port: number, lines: AsyncIterableIterator<string>) {
    this.proc = proc;
    this.port = port;
    void (async () => {
      for await (const line of lines) {
        const r = JSON.parse(line) as Reply;
        if (r.ok) this.acked.push(r.id);
        this.waiting.get(r.id)?.(r);
        this.waiting.delete(r.id);
      }
    })();
  }

  static async start(dataDir: string): Promise<Child> {
    const proc = spawn(process.execPath, [LAUNCHER, dataDir], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(proc);
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
    const first = await Promise.race([
      lines.next(),
      new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`child exited ${code}: ${stderr}`)))),
    ]);
    const { port } = JSON.parse(first.value as string) as { port: number };
    return new Child(proc, port, lines);
  }

  /** Sends a call; the promise settles when the child answers. */
  call(op: string, ...args: unknown[]): { id: number; reply: Promise<Reply> } {
    const id = this.next++;
    const reply = new Promise<Reply>((resolve) => this.waiting.set(id, resolve));
    this.proc.stdin?.write(JSON.stringify({ id, op, args }) + '\n');
    return { id, reply };
  }

  async ok(op: string, ...args: unknown[]): Promise<unknown> {
    const r = await this.call(op, ...args).reply;
    if (!r.ok) throw new Error(`${op} failed: ${r.error}`);
    return r.result;
  }

  async kill(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    process.kill(this.proc.pid as number, 'SIGKILL');
    await gone;
  }
}

const children = new Set<ChildProcess>();
const dirs: string[] = [];

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warren-access-crash-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  console.log(`access-admin-crash seed ${crashSeed}`);
  await ensureBuilt();
}, 180_000);

afterEach(async () => {
  for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  children.clear();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Dump {
  users: { name: string; tags: string[]; limits: Record<string, number> }[];
  vhosts: { name: string; open: boolean; meta: { description: string; tags: string[]; defaultQueueType: string }; limits: Record<string, number> }[];
  permissions: { user: string; vhost: string }[];
  topicPermissions: { user: string; vhost: string; exchange: string }[];
  clusterName: string;
  queues: Record<string, string[]>;
}

describe('AccessAdmin under SIGKILL', () => {
  it('keeps every change that returned', async () => {
    const dir = dataDir();
    let c = await Child.start(dir);
    await c.ok('putVhost', 'ops/50%off', { description: 'operations', tags: ['a'], defaultQueueType: 'quorum' });
    await c.ok('putUser', { name: 'ops', password: 'ops-pw', tags: ['monitoring'] });
    await c.ok('putUser', { name: 'temp', password: 'x' });
    await c.ok('setPermissions', 'ops', 'ops/50%off', { configure: '.*', write: '.*', read: '.*' });
    await c.ok('setTopicPermissions', 'ops', 'ops/50%off', 'amq.topic', { write: '^x', read: '.*' });
    await c.ok('setVhostLimits', 'ops/50%off', { 'max-connections': 3 });
    await c.ok('setUserLimits', 'ops', { 'max-channels': 9 });
    await c.ok('setClusterName', 'crashy');
    await c.ok('putVhost', 'short-lived');
    await c.ok('deleteVhost', 'short-lived');
    await c.ok('deleteUser', 'temp');
    const before = (await c.ok('dump')) as Dump;
    await c.kill();

    c = await Child.start(dir);
    const after = (await c.ok('dump')) as Dump;
    expect(after).toEqual(before);
    expect(after.users.map((u) => u.name)).toEqual(['guest', 'ops']);
    expect(after.vhosts.find((v) => v.name === 'ops/50%off')).toMatchObject({ open: true, meta: { description: 'operations', defaultQueueType: 'quorum' }, limits: { 'max-connections': 3 } });
    expect(after.clusterName).toBe('crashy');
    expect(existsSync(vhostDir(dir, 'short-lived'))).toBe(false);
    // amqplib unescapes the vhost: a % not followed by hex digits passes as it is.
    const conn = await amqplib.connect({ protocol: 'amqp', hostname: '127.0.0.1', port: c.port, username: 'ops', password: 'ops-pw', vhost: 'ops/50%off' });
    await conn.close();
    await c.kill();
  });

  it('a kill in a stream of changes leaves a state that loads and holds every returned change', async () => {
    const dir = dataDir();
    let c = await Child.start(dir);
    const n = 300;
    const killAfter = randInt(1, 150);
    const ids = new Map<number, string>();
    for (let i = 0; i < n; i++) ids.set(c.call('putUser', { name: `u${i}`, password: `p${i}` }).id, `u${i}`);
    while (c.acked.length < killAfter) await new Promise((r) => setTimeout(r, 1));
    await c.kill();
    const acked = c.acked.map((id) => ids.get(id));
    c = await Child.start(dir);
    const names = new Set(((await c.ok('dump')) as Dump).users.map((u) => u.name));
    for (const name of acked) expect(names.has(name as string)).toBe(true);
    expect(names.has('guest')).toBe(true);
    await c.kill();
  });

  it('deleting a vhost under confirming publishers: its clients get 320, another vhost loses nothing confirmed', async () => {
    const dir = dataDir();
    let c = await Child.start(dir);
    for (const v of ['doomed', 'kept']) {
      await c.ok('putVhost', v);
      await c.ok('setPermissions', 'guest', v, { configure: '.*', write: '.*', read: '.*' });
    }
    const publisher = async (vhost: string): Promise<{ conn: amqplib.ChannelModel; confirmed: string[]; closed: Promise<string>; stop: () => void }> => {
      const conn = await amqplib.connect({ protocol: 'amqp', hostname: '127.0.0.1', port: c.port, username: 'guest', password: 'guest', vhost });
      conn.on('error', () => undefined);
      const closed = new Promise<string>((r) => conn.once('close', (e?: Error) => r(e?.message ?? '')));
      const ch = await conn.createConfirmChannel();
      ch.on('error', () => undefined);
      await ch.assertQueue('q', { durable: true });
      const confirmed: string[] = [];
      let running = true;
      void (async () => {
        for (let i = 0; running; i++) {
          const body = `${vhost}-${i}`;
          const ok = await new Promise<boolean>((resolve) => ch.sendToQueue('q', Buffer.from(body), { persistent: true }, (err) => resolve(err === null || err === undefined)));
          if (!ok) break;
          confirmed.push(body);
        }
      })().catch(() => undefined);
      return { conn, confirmed, closed, stop: () => (running = false) };
    };
    const doomed = await publisher('doomed');
    const kept = await publisher('kept');
    while (doomed.confirmed.length < 50 || kept.confirmed.length < 50) await new Promise((r) => setTimeout(r, 5));
    await c.ok('deleteVhost', 'doomed');
    expect(await doomed.closed).toMatch(/CONNECTION_FORCED - vhost 'doomed' is deleted/);
    const atDelete = kept.confirmed.length;
    while (kept.confirmed.length < atDelete + 50) await new Promise((r) => setTimeout(r, 5));
    kept.stop();
    const confirmedKept = [...kept.confirmed];
    await c.kill();

    c = await Child.start(dir);
    const d = (await c.ok('dump')) as Dump;
    expect(d.vhosts.map((v) => v.name).sort()).toEqual(['/', 'kept']);
    expect(existsSync(vhostDir(dir, 'doomed'))).toBe(false);
    const conn = await amqplib.connect({ protocol: 'amqp', hostname: '127.0.0.1', port: c.port, username: 'guest', password: 'guest', vhost: 'kept' });
    const ch = await conn.createChannel();
    const got = new Set<string>();
    for (;;) {
      const m = await ch.get('q', { noAck: true });
      if (m === false) break;
      got.add(m.content.toString());
    }
    expect(confirmedKept.filter((b) => !got.has(b))).toEqual([]);
    await conn.close();
    await c.kill();
  });
});
