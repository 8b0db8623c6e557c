// The short kill matrix for CI: one SIGKILL of the leader, one SIGSTOP of the leader past the
// TTL, one SIGKILL of a NATS node, under confirmed load. `npm run ha:kill-test` runs the long one.

import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKillMatrix, type Action } from './kill-matrix.js';

const seconds = Number(process.env.HA_KILL_SECONDS ?? '0');

describe('HA kill matrix', () => {
  it('loses no confirmed message and accepts no append from a fenced leader', async () => {
    // HA_KILL_ACTIONS (comma-separated) replays a sequence while looking into one.
    const actions = (process.env.HA_KILL_ACTIONS?.split(',') ?? ['kill-leader', 'stop-leader', 'kill-nats']) as Action[];
    for (const a of actions) if (!['kill-leader', 'stop-leader', 'kill-nats'].includes(a)) throw new Error(`HA_KILL_ACTIONS: unknown action '${a}'`);
    const r = await runKillMatrix({ actions, seconds, ttlMs: 2_000 });
    // `npm run ha:kill-test` prints it last.
    writeFileSync(join(tmpdir(), 'warren-ha-kill-summary.txt'), `${r.summary}\n`);
    expect(r.cycles).toBeGreaterThanOrEqual(actions.length);
    expect(r.confirmed).toBeGreaterThan(0);
    expect(r.lost).toBe(0);
    expect(r.appendsOutsideEpoch).toBe(0);
  }, 600_000 + seconds * 2_000);
});
