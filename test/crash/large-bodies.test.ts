// Large persistent bodies survive SIGKILL byte for byte.
//
// Publishers stream 64 KiB random bodies (some larger, split over several body frames) with
// confirms into durable queues; the broker child is SIGKILLed mid-stream, so a kill often lands
// while a big record is being written. After each restart every confirmed body must come back
// with the same sha256, and no body at all (confirmed or not) may come back torn or mixed up.

import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  channel,
  type ChildBroker,
  closeAllConnections,
  confirmChannel,
  connect,
  drainQueues,
  randInt,
  sleep,
  startChild,
  tempDataDir,
  useCrashHarness,
} from './harness.js';

useCrashHarness();

const QUEUES = ['big.1', 'big.2'];
const KiB = 1024;
const ROUNDS = 3;
const WINDOW = 16;
const ID_BYTES = 32;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Sent {
  queue: string;
  sha: string;
  size: number;
  confirmed: boolean;
}

/** The first 32 bytes carry the id (space padded); the rest is random. */
function makeBody(id: string, size: number): Buffer {
  const b = randomBytes(size);
  b.write(id.padEnd(ID_BYTES, ' '), 0, 'latin1');
  return b;
}

const idOf = (b: Buffer): string => b.toString('latin1', 0, Math.min(ID_BYTES, b.length)).trimEnd();

async function publishUntilDead(broker: ChildBroker, sent: Map<string, Sent>, round: number, queue: string, dead: () => boolean, ready: () => void): Promise<number> {
  const conn = await connect(broker.url);
  const ch = await confirmChannel(conn);
  ready();
  let inflight = 0;
  let confirmed = 0;
  let wake: (() => void) | null = null;
  const poke = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  ch.on('close', poke);
  for (let n = 0; !dead(); n++) {
    while (inflight >= WINDOW && !dead()) {
      await Promise.race([new Promise<void>((r) => (wake = r)), sleep(50)]);
    }
    if (dead()) break;
    // Mostly exactly 64 KiB; one in eight between 64 KiB and 300 KiB (several body frames).
    const size = n % 8 === 7 ? randInt(64 * KiB + 1, 300 * KiB) : 64 * KiB;
    const id = `r${round}-${queue}-${n}`;
    const body = makeBody(id, size);
    const entry: Sent = { queue, sha: sha256(body), size, confirmed: false };
    sent.set(id, entry);
    inflight++;
    try {
      ch.sendToQueue(queue, body, { persistent: true }, (err) => {
        inflight--;
        if (err === null || err === undefined) {
          entry.confirmed = true;
          confirmed++;
        }
        poke();
      });
    } catch {
      break;
    }
  }
  return confirmed;
}

describe('SIGKILL while writing 64 KiB bodies', () => {
  it(`returns every confirmed body byte-identical over ${ROUNDS} kills`, { timeout: 30_000 }, async () => {
    const dir = tempDataDir('big');
    const sent = new Map<string, Sent>();
    const gone = new Set<string>(); // drained after an earlier restart
    let totalConfirmed = 0;
    for (let round = 0; round <= ROUNDS; round++) {
      const broker = await startChild(dir);
      const conn = await connect(broker.url);
      const ch = await channel(conn);
      for (const q of QUEUES) await ch.assertQueue(q, { durable: true });
      if (round > 0) {
        const drained = await drainQueues(ch, QUEUES, 10_000);
        const lost: string[] = [];
        const torn: string[] = [];
        const dup: string[] = [];
        let recovered = 0;
        let bytes = 0;
        for (const q of QUEUES) {
          const seen = new Set<string>();
          for (const m of drained.get(q) ?? []) {
            recovered++;
            bytes += m.body.length;
            const id = idOf(m.body);
            const s = sent.get(id);
            if (s === undefined || s.queue !== q || s.sha !== sha256(m.body)) torn.push(`${q}:${id} (${m.body.length} bytes)`);
            if (seen.has(id)) dup.push(`${q}:${id}`);
            seen.add(id);
          }
          for (const [id, s] of sent) if (s.queue === q && s.confirmed && !gone.has(id) && !seen.has(id)) lost.push(`${q}:${id}`);
          for (const id of seen) gone.add(id);
        }
        console.log(
          `[crash/big] after kill ${round}: recovered=${recovered} (${(bytes / 1024 / 1024).toFixed(1)} MiB) lost=${lost.length} ` +
            `mismatched=${torn.length} duplicates=${dup.length} corruptRecords=${broker.corruptRecords} truncatedBytes=${broker.truncatedBytes}`,
        );
        expect(lost, 'confirmed bodies missing').toEqual([]);
        expect(torn, 'bodies that differ from what was published').toEqual([]);
        expect(dup, 'bodies returned twice').toEqual([]);
        expect(broker.corruptRecords, 'a SIGKILL tears at most a tail').toBe(0);
      }
      await conn.close();
      if (round === ROUNDS) break;
      let isDead = false;
      const dead = (): boolean => isDead;
      let readyCount = 0;
      let allReady!: () => void;
      const started = new Promise<void>((r) => (allReady = r));
      const ready = (): void => {
        if (++readyCount === QUEUES.length) allReady();
      };
      const pubs = QUEUES.map((q) => publishUntilDead(broker, sent, round, q, dead, ready));
      const settled = Promise.all(pubs);
      await Promise.race([started, settled]);
      const killAfter = randInt(10, 400);
      await sleep(killAfter);
      isDead = true;
      await broker.kill();
      const confirmed = (await settled).reduce((a, b) => a + b, 0);
      totalConfirmed += confirmed;
      await closeAllConnections();
      console.log(`[crash/big] round ${round}: killed ~${killAfter} ms in; confirmed=${confirmed}`);
    }
    console.log(`[crash/big] total confirmed=${totalConfirmed} lost=0`);
    expect(totalConfirmed).toBeGreaterThan(0);
  });
});
