// SIGKILL during startup (while the stores are being opened and recovered) loses nothing:
// starts killed after a random 0-150 ms are interleaved with starts that take confirmed
// publishes and acks and are killed right after; the data directory must keep every confirmed
// and not acknowledged message, once, and never show a damaged record.

import { describe, expect, it } from 'vitest';
import {
  channel,
  closeAllConnections,
  confirmChannel,
  connect,
  drainQueues,
  killAllChildren,
  randInt,
  sleep,
  startChild,
  tempDataDir,
  useCrashHarness,
} from './harness.js';

useCrashHarness();

describe('SIGKILL while the broker starts', () => {
  it('keeps every confirmed message across kills during recovery', { timeout: 20_000 }, async () => {
    const dir = tempDataDir('startup');
    const confirmed = new Set<string>();
    /** Taken with basic.get and acked: may come back (a lost ack), need not. */
    const acked = new Set<string>();
    let earlyKills = 0;
    let corrupt = 0;
    for (let i = 0; i < 10; i++) {
      if (i % 2 === 1) {
        // Kill somewhere in startup: before, during or just after recovery.
        const starting = startChild(dir).catch(() => null);
        await sleep(randInt(0, 150));
        const b = await Promise.race([starting, sleep(0).then(() => null)]);
        if (b === null) earlyKills++;
        await killAllChildren();
        await starting;
        continue;
      }
      const b = await startChild(dir);
      corrupt += b.corruptRecords;
      const conn = await connect(b.url);
      const ch = await confirmChannel(conn);
      await ch.assertQueue('startup.q', { durable: true });
      for (let n = 0; n < 150; n++) {
        const id = `s${i}-${n}`;
        ch.sendToQueue('startup.q', Buffer.from(id), { persistent: true }, (err) => {
          if (err === null || err === undefined) confirmed.add(id);
        });
      }
      await ch.waitForConfirms();
      // Take a few and ack them, then die without a graceful stop.
      const g = await channel(conn);
      for (let k = 0; k < 20; k++) {
        const m = await g.get('startup.q', { noAck: false });
        if (m === false) break;
        acked.add(m.content.toString());
        g.ack(m);
      }
      await b.kill();
      await closeAllConnections();
    }
    const b = await startChild(dir);
    corrupt += b.corruptRecords;
    const conn = await connect(b.url);
    const ch = await channel(conn);
    const got = ((await drainQueues(ch, ['startup.q'])).get('startup.q') ?? []).map((m) => m.body.toString());
    const seen = new Set(got);
    const lost = [...confirmed].filter((id) => !acked.has(id) && !seen.has(id));
    const phantom = got.filter((id) => !confirmed.has(id) && !/^s\d+-\d+$/.test(id));
    console.log(
      `[crash/startup] confirmed=${confirmed.size} acked=${acked.size} recovered=${got.length} startup kills before listening=${earlyKills} lost=${lost.length}`,
    );
    expect(lost, 'confirmed messages lost by kills during startup').toEqual([]);
    expect(got.length - seen.size, 'duplicates').toBe(0);
    expect(phantom).toEqual([]);
    expect(corrupt, 'damaged records found at a start').toBe(0);
    expect(confirmed.size).toBe(5 * 150);
  });
});
