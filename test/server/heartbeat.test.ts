// Heartbeats: the server really sends them at the negotiated interval, and drops a
// peer that stays silent for two intervals. One real-time end-to-end test (heartbeat = 1 s keeps
// it under 3 s); the rest run on the manual clock.

import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { HEARTBEAT_FRAME } from '../../src/protocol/frame-writer.js';
import { ManualClock } from '../../src/util/clock.js';

const b = useBroker();
const clock = new ManualClock();
const manual = useBroker({ clock });

describe('heartbeats', () => {
  it('the server sends heartbeat frames on channel 0 and drops a silent client after ~2 intervals', async () => {
    const c = await RawClient.open(b.port, { tuneOk: { heartbeat: 1 } });
    const t0 = Date.now();
    const first = await c.nextFrame(1500);
    expect(first).toEqual({ type: 'heartbeat', channel: 0 });
    expect(Date.now() - t0).toBeLessThan(1500);
    // Stay silent: the server must cut us off after two missed intervals, not much earlier or later.
    expect(await c.waitClosed(3200)).toBe(true);
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    expect(elapsed).toBeLessThan(3200);
  }, 6000);

  it('a client that sends heartbeats stays connected past two intervals; silent, it is dropped (manual clock)', async () => {
    const c = await RawClient.open(manual.port, { tuneOk: { heartbeat: 1 } });
    for (let i = 1; i <= 6; i++) {
      c.send(HEARTBEAT_FRAME);
      await c.openChannel(i); // a round trip: the heartbeat was read
      clock.advance(400);
    }
    // 2.4 s on the clock, past two intervals, with the peer alive.
    expect(c.closed).toBe(false);
    await c.openChannel(7);
    clock.advance(2001); // now silent for more than two intervals
    clock.advance(500); // the next check sees it
    expect(await c.waitClosed(2000)).toBe(true);
  });

  it('the server sends a heartbeat every half interval of the clock (manual clock)', async () => {
    const c = await RawClient.open(manual.port, { tuneOk: { heartbeat: 4 } });
    clock.advance(1999);
    await expect(c.nextFrame(50)).rejects.toThrow(/timed out/);
    clock.advance(1);
    expect(await c.nextFrame(1000)).toEqual({ type: 'heartbeat', channel: 0 });
    await c.close();
  });

  it('heartbeat 0 in tune-ok disables heartbeats (manual clock)', async () => {
    const c = await RawClient.open(manual.port, { tuneOk: { heartbeat: 0 } });
    clock.advance(3_600_000);
    await expect(c.nextFrame(50)).rejects.toThrow(/timed out/);
    expect(c.closed).toBe(false);
    await c.openChannel(1);
    await c.close();
  });
});
