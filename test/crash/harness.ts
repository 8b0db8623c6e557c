// Crash-test harness: the broker runs in a child process (launch-broker.mjs, on the compiled
// dist/) so a test can SIGKILL it at any instant and start a new one on the same data directory.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as amqplib from 'amqplib';
import { afterAll, afterEach, beforeAll } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
const launcher = join(here, 'launch-broker.mjs');
const distEntry = join(repoRoot, 'dist', 'index.js');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Seed of every random choice the crash tests make (kill instants, body sizes, operations),
 * printed at the start of each file; CRASH_SEED=<n> replays one. The kill still lands wherever
 * the broker is at that instant, so a replay repeats the choices, not the exact interleaving.
 */
export const crashSeed: number = (() => {
  const env = process.env.CRASH_SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`CRASH_SEED must be an integer in [0, 2^32), got '${env}'`);
    return n;
  }
  return Math.floor(Math.random() * 0x1_0000_0000);
})();

let rngState = crashSeed;

/** mulberry32: a small seeded generator; uniform in [0, 1). */
export function random(): number {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
}

export function randInt(lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function distIsFresh(): boolean {
  return existsSync(distEntry) && statSync(distEntry).mtimeMs >= newestMtime(join(repoRoot, 'src'));
}

/**
 * Compiles src/ to dist/ when dist/index.js is missing or older than a source file. Several crash
 * test files may ask at once (parallel forks): a lock directory makes one of them build.
 */
export async function ensureBuilt(): Promise<void> {
  if (distIsFresh()) return;
  const lock = join(tmpdir(), `warren-crash-build-${createHash('sha1').update(repoRoot).digest('hex').slice(0, 12)}.lock`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Someone else builds; a lock older than two minutes is left over from a killed run.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmdirSync(lock);
      } catch {
        /* gone meanwhile */
      }
      if (Date.now() > deadline) throw new Error('timed out waiting for the dist/ build lock');
      await sleep(200);
    }
  }
  try {
    if (distIsFresh()) return;
    try {
      execFileSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repoRoot, 'tsconfig.json')], {
        cwd: repoRoot,
        stdio: 'pipe',
      });
    } catch (err) {
      // tsc emits even with type errors; only a missing output is fatal.
      if (!existsSync(distEntry)) throw err;
      console.warn(`tsc reported errors; testing the emitted dist/ anyway:\n${String((err as { stdout?: Buffer }).stdout ?? err)}`);
    }
  } finally {
    rmdirSync(lock);
  }
}

export interface BrokerInfo {
  port: number;
  pid: number;
  recovered: number;
  corruptRecords: number;
  truncatedBytes: number;
}

export interface ChildBroker extends BrokerInfo {
  readonly child: ChildProcess;
  readonly url: string;
  /** SIGKILL the child (by its pid) and wait until it is gone. */
  kill(): Promise<void>;
}

const children = new Set<ChildProcess>();
const dirs: string[] = [];

export function tempDataDir(label: string): string {
  const d = mkdtempSync(join(tmpdir(), `warren-crash-${label}-`));
  dirs.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** Start a broker child on `dataDir`; resolves once it listens. */
export function startChild(dataDir: string, timeoutMs = 10_000): Promise<ChildBroker> {
  const child = spawn(process.execPath, [launcher, dataDir], { stdio: ['pipe', 'pipe', 'pipe'], cwd: repoRoot });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolveStart, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      killPid(child);
      reject(new Error(`broker did not start within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`broker exited before listening (code ${code}, signal ${signal}); stderr: ${stderr}`));
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      const info = JSON.parse(out.slice(0, nl)) as BrokerInfo;
      resolveStart({
        ...info,
        child,
        url: `amqp://guest:guest@127.0.0.1:${info.port}`,
        kill: async () => {
          killPid(child);
          await exited(child);
        },
      });
    });
  });
}

function killPid(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** SIGKILL every broker child this file started (afterEach/afterAll). */
export async function killAllChildren(): Promise<void> {
  const all = [...children];
  for (const c of all) killPid(c);
  await Promise.all(all.map(exited));
}

const conns = new Set<amqplib.ChannelModel>();

/** amqplib connection whose errors (the broker vanishing) never become unhandled. */
export async function connect(url: string): Promise<amqplib.ChannelModel> {
  const c = await amqplib.connect(url, { noDelay: true }); // no Nagle: request/reply loops stay fast
  c.on('error', () => undefined);
  c.on('close', () => conns.delete(c));
  conns.add(c);
  return c;
}

/** Close every connection this file opened; one to a killed broker may never answer, so give up after 500 ms. */
export async function closeAllConnections(): Promise<void> {
  const all = [...conns];
  conns.clear();
  await Promise.all(all.map((c) => Promise.race([c.close().catch(() => undefined), sleep(500)])));
}

export async function confirmChannel(c: amqplib.ChannelModel): Promise<amqplib.ConfirmChannel> {
  const ch = await c.createConfirmChannel();
  ch.on('error', () => undefined);
  return ch;
}

export async function channel(c: amqplib.ChannelModel): Promise<amqplib.Channel> {
  const ch = await c.createChannel();
  ch.on('error', () => undefined);
  return ch;
}

export interface Drained {
  body: Buffer;
  redelivered: boolean;
  persistent: boolean;
}

/**
 * Take every message of the given queues (no-ack consumers, so taking is removing), after a
 * restart when nothing else consumes them. The ready counts come from passive declares; the
 * consumers then wait for exactly that many deliveries (plus a short grace for any extra).
 */
export async function drainQueues(ch: amqplib.Channel, queues: readonly string[], timeoutMs = 5000): Promise<Map<string, Drained[]>> {
  const out = new Map<string, Drained[]>();
  let expected = 0;
  const counts = new Map<string, number>();
  for (const q of queues) {
    const { messageCount } = await ch.checkQueue(q);
    counts.set(q, messageCount);
    expected += messageCount;
    out.set(q, []);
  }
  let received = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  if (expected === 0) done();
  const tags: string[] = [];
  for (const q of queues) {
    if (counts.get(q) === 0) continue;
    const list = out.get(q) as Drained[];
    const { consumerTag } = await ch.consume(
      q,
      (m) => {
        if (m === null) return;
        list.push({ body: m.content, redelivered: m.fields.redelivered, persistent: m.properties.deliveryMode === 2 });
        if (++received === expected) done();
      },
      { noAck: true },
    );
    tags.push(consumerTag);
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`drain: got ${received} of ${expected} messages within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([finished, timedOut]);
  } finally {
    clearTimeout(timer);
  }
  // Anything beyond the ready counts would be a message the passive declares did not report.
  await sleep(20);
  for (const t of tags) await ch.cancel(t);
  return out;
}

export async function drainQueue(ch: amqplib.Channel, queue: string, timeoutMs = 5000): Promise<Drained[]> {
  return (await drainQueues(ch, [queue], timeoutMs)).get(queue) as Drained[];
}

/** The hooks every crash-test file needs: build dist/ once, kill children and close clients after each test, remove temp dirs. */
export function useCrashHarness(): void {
  beforeAll(async () => {
    console.log(`[crash] seed ${crashSeed} (replay with CRASH_SEED=${crashSeed})`);
    await ensureBuilt();
  }, 120_000);
  afterEach(async () => {
    await closeAllConnections();
    await killAllChildren();
  });
  afterAll(() => {
    removeTempDirs();
  });
}
