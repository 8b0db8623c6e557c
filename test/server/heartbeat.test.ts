// Heartbeats: the server really sends them at the negotiated interval, and drops a
// peer that stays silent for two intervals (heartbeat = 1 s keeps this under 3 s).

import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { HEARTBEAT_FRAME } from '../../src/protocol/frame-writer.js';
import * as M from '../../src/protocol/generated/amqp.js';

const b = useBroker();

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

  it('a client that sends heartbeats stays connected past two intervals', async () => {
    const c = await RawClient.open(b.port, { tuneOk: { heartbeat: 1 } });
    const timer = setInterval(() => c.send(HEARTBEAT_FRAME), 400);
    try {
      await new Promise((r) => setTimeout(r, 2600));
      expect(c.closed).toBe(false);
      await c.openChannel(1);
    } finally {
      clearInterval(timer);
    }
    await c.close();
  }, 6000);

  it('heartbeat 0 in tune-ok disables heartbeats', async () => {
    const c = await RawClient.open(b.port, { tuneOk: { heartbeat: 0 } });
    await expect(c.nextFrame(1200)).rejects.toThrow(/timed out/);
    expect(c.closed).toBe(false);
    await c.close();
  }, 4000);
});
