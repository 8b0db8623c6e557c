// A message move (ops/move.ts) cut by SIGKILL at a random batch: after the restart every message
// is in exactly one of the two queues, none lost, none twice. Three kills land on the same move.

import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { channel, confirmChannel, connect, closeAllConnections, drainQueues, randInt, repoRoot, sleep, startChild, tempDataDir, useCrashHarness } from './harness.js';

useCrashHarness();

const here = dirname(fileURLToPath(import.meta.url));

interface Mover {
  port: number;
  child: ChildProcess;
  /** Resolves with the first stdout JSON line that `match` accepts. */
  waitFor(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  kill(): Promise<void>;
}

/** The broker with a move command on stdin (launch-mover.mjs), killed by its pid only. */
function startMover(dataDir: string): Promise<Mover> {
  const child = spawn(process.execPath, [join(here, 'launch-mover.mjs'), dataDir], { stdio: ['pipe', 'pipe', 'pipe'], cwd: repoRoot });
  const lines: Record<string, unknown>[] = [];
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
      buf = buf.slice(nl + 1);
      lines.push(line);
      for (const w of waiters.splice(0)) {
        if (w.match(line)) w.resolve(line);
        else waiters.push(w);
      }
    }
  });
  const waitFor = (match: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    const seen = lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => waiters.push({ match, resolve }));
  };
  return waitFor((l) => typeof l['port'] === 'number').then((l) => ({
    port: l['port'] as number,
    child,
    waitFor,
    kill: async () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        process.kill(child.pid, 'SIGKILL');
        await gone;
      }
    },
  }));
}

describe('SIGKILL during a move', () => {
  it('neither loses nor duplicates a message', { timeout: 120_000 }, async () => {
    const dir = tempDataDir('move');
    const N = 12_000;
    let broker = await startChild(dir);
    let conn = await connect(broker.url);
    const ch = await confirmChannel(conn);
    await ch.assertQueue('from', { durable: true });
    await ch.assertQueue('to', { durable: true });
    for (let i = 0; i < N; i++) ch.sendToQueue('from', Buffer.from(`m-${i}`), { persistent: true });
    await ch.waitForConfirms();
    await closeAllConnections();
    await broker.kill();

    const midMove: number[] = [];
    for (let round = 0; round < 3; round++) {
      const mover = await startMover(dir);
      // Each round carries on the same move; 12 batches are never finished in three rounds of at most 2 (+ a few ms).
      mover.child.stdin?.write('move from to\n');
      // Kill after a random number of settled batches, a little later still: inside a batch's write,
      // its group commit, or the acks of the originals. (A finished move also ends the wait: the
      // mid-move check below then fails instead of the test hanging.)
      const batches = randInt(1, 2);
      await mover.waitFor((l) => 'moved' in l || 'error' in l || (typeof l['progress'] === 'number' && (l['progress'] as number) >= batches * 1024));
      await sleep(randInt(0, 15));
      await mover.kill();

      broker = await startChild(dir);
      conn = await connect(broker.url);
      const check = await channel(conn);
      const a = (await check.checkQueue('from')).messageCount;
      const b = (await check.checkQueue('to')).messageCount;
      expect(a + b, `round ${round}: ${a} + ${b}`).toBe(N);
      midMove.push(a > 0 && b > 0 ? 1 : 0);
      await closeAllConnections();
      await broker.kill();
    }
    // Each kill landed mid-move: both queues held messages.
    expect(midMove).toEqual([1, 1, 1]);

    broker = await startChild(dir);
    conn = await connect(broker.url);
    const drained = await drainQueues(await channel(conn), ['from', 'to']);
    const bodies = [...(drained.get('from') ?? []), ...(drained.get('to') ?? [])].map((d) => d.body.toString());
    expect(bodies.length).toBe(N);
    expect(new Set(bodies).size).toBe(N);
  });
});
