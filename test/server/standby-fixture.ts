// Standby listeners for tests: each on a manual clock with its log lines kept, closed after each
// test (a client still in the handshake gets the close wait, on the test's clock).

import { pino } from 'pino';
import { afterEach } from 'vitest';
import { STANDBY_CLOSE_WAIT_MS, StandbyListener, type StandbyListenerOptions } from '../../src/server/standby-listener.js';
import { ManualClock } from '../../src/util/clock.js';

export const REASON = "this warren node is an HA standby of group 'g1'; connect to the leader";

export interface StandbyUnderTest {
  listener: StandbyListener;
  clock: ManualClock;
  lines: Record<string, unknown>[];
}

/** Registers the afterEach that closes every listener made by the returned function. */
export function standbyFixture(): (extra?: Partial<StandbyListenerOptions>) => StandbyUnderTest {
  const open: StandbyUnderTest[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) {
      const closing = s.listener.close();
      s.clock.advance(STANDBY_CLOSE_WAIT_MS);
      await closing;
    }
  });
  return (extra = {}) => {
    const clock = new ManualClock();
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
    const s = { listener: new StandbyListener({ clock, log, reason: () => REASON, ...extra }), clock, lines };
    open.push(s);
    return s;
  };
}

/** Polls `cond` every 10 ms until it holds, or throws after `ms`. */
export async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The summary lines of refused connections. */
export function refusals(lines: Record<string, unknown>[]): Record<string, unknown>[] {
  return lines.filter((l) => l['msg'] === 'HA standby: refused AMQP connections');
}
