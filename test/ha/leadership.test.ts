// Leadership through the log on the in-memory log and a manual clock: heartbeats, barriers,
// epochs, a paused leader fenced when it resumes, rivals, and the leader's pipelined appends
// under injected faults.

import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeMark, FrameType } from '../../src/ha/frames.js';
import { Leadership, type Applier } from '../../src/ha/leadership.js';
import { MemoryLog } from '../../src/ha/memory-log.js';
import { AppendTimeoutError, groupSubjects, type LogEntry, type ReplicatedLog } from '../../src/ha/replicated-log.js';
import { FencedError, Sequencer } from '../../src/ha/sequencer.js';
import { ManualClock } from '../../src/util/clock.js';

const TTL = 2_000;
const subjects = groupSubjects('g');

class ListApplier implements Applier {
  applied = 0;
  readonly seen: LogEntry[] = [];
  async apply(entries: readonly LogEntry[]): Promise<void> {
    for (const e of entries) {
      if (e.seq <= this.applied) throw new Error(`applied ${e.seq} twice`);
      this.seen.push(e);
      this.applied = e.seq;
    }
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** Moves the clock `ms` forward in steps, letting promises run between steps. */
async function run(clock: ManualClock, ms: number, step = 50): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(step);
    await flush();
  }
}

/** A log handle whose appends are held while paused (a SIGSTOPped process) and sent on resume. */
function pausable(h: ReplicatedLog): { handle: ReplicatedLog; pause(): void; resume(): void } {
  let paused = false;
  let held: (() => void)[] = [];
  return {
    handle: {
      ...h,
      append: (s, d, o) => (paused ? new Promise<void>((r) => held.push(r)).then(() => h.append(s, d, o)) : h.append(s, d, o)),
      read: (f, m, w) => (paused ? new Promise<void>((r) => held.push(r)).then(() => h.read(f, m, w)) : h.read(f, m, w)),
    },
    pause: () => (paused = true),
    resume: () => {
      paused = false;
      const go = held;
      held = [];
      for (const r of go) r();
    },
  };
}

interface Node {
  readonly lead: Leadership;
  readonly applier: ListApplier;
  promoted: { seq: Sequencer; epoch: number; at: number } | null;
  fenced: Error | null;
}

function node(name: string, log: ReplicatedLog, clock: ManualClock): Node {
  const applier = new ListApplier();
  const n: Node = {
    applier,
    promoted: null,
    fenced: null,
    lead: new Leadership({
      log,
      subjects,
      applier,
      clock,
      node: name,
      ttlMs: TTL,
      window: 3,
      events: {
        promoted: (seq, epoch, at) => (n.promoted = { seq, epoch, at }),
        fenced: (err) => (n.fenced = err),
      },
    }),
  };
  return n;
}

const marks = (log: MemoryLog): { seq: number; type: FrameType; epoch: number; node: string }[] =>
  log.all().flatMap((e) => {
    if (e.subject !== subjects.ctl && e.subject !== subjects.hb) return [];
    const f = decodeFrame(e.data);
    return f.type === FrameType.Heartbeat || f.type === FrameType.Barrier ? [{ seq: e.seq, type: f.type, epoch: f.epoch, node: f.node }] : [];
  });

describe('leadership through the log', () => {
  it('a lone node takes the lead after TTL of silence, with a barrier at epoch 1', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    const a = node('a', log.handle(), clock);
    a.lead.start();
    await run(clock, TTL - 200);
    expect(a.lead.role).toBe('follower');
    await run(clock, 1_000);
    expect(a.lead.role).toBe('leader');
    expect(a.promoted?.epoch).toBe(1);
    expect(marks(log)[0]).toEqual({ seq: 1, type: FrameType.Barrier, epoch: 1, node: 'a' });
    expect(a.applier.applied).toBe(1);
    a.lead.stop();
  });

  it('an idle leader heartbeats every TTL/4, and a follower never competes while it does', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    const a = node('a', log.handle(), clock);
    a.lead.start();
    await run(clock, TTL + 500);
    expect(a.lead.role).toBe('leader');
    const b = node('b', log.handle(), clock);
    b.lead.start();
    await run(clock, 10 * TTL);
    expect(b.lead.role).toBe('follower');
    expect(b.lead.barriersLost).toBe(0);
    const hb = marks(log).filter((m) => m.type === FrameType.Heartbeat);
    // 20 s at one per 500 ms, give or take the check's grain.
    expect(hb.length).toBeGreaterThanOrEqual(36);
    expect(hb.length).toBeLessThanOrEqual(44);
    expect(b.applier.applied).toBe(log.lastSeq);
    a.lead.stop();
    b.lead.stop();
  });

  it('trims heartbeats keeping the latest; a follower still catches up to the last sequence', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    const a = node('a', log.handle(), clock);
    a.lead.start();
    await run(clock, TTL + 500);
    const b = node('b', log.handle(), clock);
    b.lead.start();
    // About 80 heartbeats: one trim after the 64th.
    await run(clock, 40 * TTL / 2);
    const hb = log.all().filter((e) => e.subject === subjects.hb);
    expect(hb.length).toBeGreaterThan(0);
    expect(hb.length).toBeLessThan(30);
    expect(log.lastSeq).toBeGreaterThan(70);
    expect(b.applier.applied).toBe(log.lastSeq);
    expect(b.lead.role).toBe('follower');
    a.lead.stop();
    b.lead.stop();
  });

  it('a paused leader is replaced after TTL and fenced when it resumes; none of its appends land after the barrier', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    const pa = pausable(log.handle());
    const a = node('a', pa.handle, clock);
    a.lead.start();
    await run(clock, TTL + 500);
    const b = node('b', log.handle(), clock);
    b.lead.start();
    await run(clock, 1_000);
    expect(a.lead.role).toBe('leader');
    pa.pause();
    // A publish arrives while it is stopped: it must never be acknowledged.
    let ackedWhilePaused: number | Error | null = null;
    a.promoted?.seq.append(subjects.seg('s1'), Buffer.from('late')).then((s) => (ackedWhilePaused = s), (e: Error) => (ackedWhilePaused = e));
    await run(clock, TTL + 1_500);
    expect(b.lead.role).toBe('leader');
    expect(b.promoted?.epoch).toBe(2);
    const barrier = b.promoted?.at as number;
    pa.resume();
    await run(clock, 1_000);
    expect(a.lead.role).toBe('fenced');
    expect(a.fenced).toBeInstanceOf(FencedError);
    expect(ackedWhilePaused).toBeInstanceOf(FencedError);
    // Every entry after the barrier is b's (epoch 2).
    const after = log.all().filter((e) => e.seq > barrier).map((e) => decodeFrame(e.data));
    expect(after.length).toBeGreaterThan(0);
    for (const f of after) expect(f).toMatchObject({ type: FrameType.Heartbeat, epoch: 2, node: 'b' });
    expect(log.all().some((e) => e.subject === subjects.seg('s1'))).toBe(false);
    b.lead.stop();
  });

  it('an engine election (no answers for 3 TTL) does not move the lead', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    let electing = false;
    const h = log.handle();
    // As JetStream behaves while a stream elects its leader: appends and info requests time
    // out after a while, a consumer just delivers nothing.
    const electionAware = (): ReplicatedLog => ({
      ...h,
      append: (subj, d, o) => (electing ? clock.sleep(TTL / 2).then(() => Promise.reject(new AppendTimeoutError('no stream leader'))) : h.append(subj, d, o)),
      read: (f, m, w) => (electing ? clock.sleep(w).then(() => []) : h.read(f, m, w)),
      lastSequence: () => (electing ? clock.sleep(TTL).then(() => Promise.reject(new Error('timeout'))) : h.lastSequence()),
    });
    const a = node('a', electionAware(), clock);
    a.lead.start();
    await run(clock, TTL + 500);
    const b = node('b', electionAware(), clock);
    b.lead.start();
    await run(clock, TTL);
    for (let round = 0; round < 3; round++) {
      electing = true;
      await run(clock, 3 * TTL + round * 170);
      electing = false;
      await run(clock, 3 * TTL);
    }
    expect(a.lead.role).toBe('leader');
    expect(b.lead.role).toBe('follower');
    expect(marks(log).filter((m) => m.type === FrameType.Barrier).length).toBe(1);
    expect(b.applier.applied).toBe(log.lastSeq);
    a.lead.stop();
    b.lead.stop();
  });

  it('engine elections of 4 to 9 s, ending at any moment of the follower\'s checks, never move the lead', async () => {
    // As nats-server 2.9 behaves when the NATS node leading the stream dies: the append in flight
    // and every stream info request go unanswered (timeouts of TTL/2), later appends are refused at
    // once (no responders) until the election ends 4 to 9 s after the death.
    for (const fast of [false, true]) {
      for (const length of [4_100, 5_300, 6_700, 8_900]) {
        for (let phase = 0; phase < 600; phase += 110) {
          const clock = new ManualClock();
          const log = new MemoryLog(clock);
          const h = log.handle();
          let electing = false;
          const lost = <T>(): Promise<T> => clock.sleep(TTL / 2).then(() => Promise.reject(new AppendTimeoutError('timeout')));
          let inFlightLost = false;
          const handle: ReplicatedLog = {
            ...h,
            append: (subj, d, o) => {
              if (!electing) return h.append(subj, d, o);
              if (fast && inFlightLost) return Promise.reject(new Error('jetstream is not enabled'));
              inFlightLost = true;
              return lost();
            },
            read: (f, m, w) => (electing ? clock.sleep(w).then(() => []) : h.read(f, m, w)),
            lastSequence: () => (electing ? lost() : h.lastSequence()),
          };
          const a = node('a', handle, clock);
          a.lead.start();
          await run(clock, TTL + 500);
          const b = node('b', handle, clock);
          const c = node('c', handle, clock);
          b.lead.start();
          c.lead.start();
          // Confirmed load: an append every 100 ms.
          const load = clock.every(100, () => void a.promoted?.seq.append(subjects.seg('s'), Buffer.from('m')).catch(() => undefined));
          await run(clock, TTL + phase);
          electing = true;
          inFlightLost = false;
          await run(clock, length);
          electing = false;
          await run(clock, 4 * TTL);
          load.cancel();
          const where = `${fast ? 'fast' : 'timeout'} failures, ${length} ms election, phase ${phase}`;
          expect(marks(log).filter((m) => m.type === FrameType.Barrier).length, where).toBe(1);
          expect(a.lead.role, where).toBe('leader');
          expect(b.applier.applied, where).toBe(log.lastSeq);
          a.lead.stop();
          b.lead.stop();
          c.lead.stop();
        }
      }
    }
  }, 60_000);

  it('two followers on a quiet log: exactly one wins, the other follows it', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    const a = node('a', log.handle(), clock);
    const b = node('b', log.handle(), clock);
    a.lead.start();
    b.lead.start();
    await run(clock, 3 * TTL);
    const roles = [a.lead.role, b.lead.role].sort();
    expect(roles).toEqual(['follower', 'leader']);
    const barriers = marks(log).filter((m) => m.type === FrameType.Barrier);
    expect(barriers.length).toBe(1);
    a.lead.stop();
    b.lead.stop();
  });

  it('a follower waits while the log is unreachable and takes over once it is back', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    log.down = true;
    const notes: string[] = [];
    const applier = new ListApplier();
    let promoted = false;
    const lead = new Leadership({
      log: log.handle(), subjects, applier, clock, node: 'a', ttlMs: TTL, window: 2,
      events: { promoted: () => (promoted = true), fenced: () => undefined, note: (m) => notes.push(m) },
    });
    lead.start();
    await run(clock, 3 * TTL);
    expect(promoted).toBe(false);
    expect(notes).toContain('replicated log unreachable, retrying');
    log.down = false;
    await run(clock, 2 * TTL);
    expect(promoted).toBe(true);
    lead.stop();
  });
});

describe('a follower that meets trouble keeps following', () => {
  it('retries a batch whose apply failed, and still takes over', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    log.appendForeign(subjects.ctl, encodeMark(FrameType.Barrier, 1, 0, 'r'));
    let failures = 1;
    const applier = new ListApplier();
    const flaky: Applier = {
      get applied() {
        return applier.applied;
      },
      apply: async (entries) => {
        if (failures-- > 0) throw new Error('disk full');
        await applier.apply(entries);
      },
    };
    const notes: string[] = [];
    let promoted = false;
    const lead = new Leadership({
      log: log.handle(), subjects, applier: flaky, clock, node: 'b', ttlMs: TTL, window: 2,
      events: { promoted: () => (promoted = true), fenced: () => undefined, note: (m) => notes.push(m) },
    });
    lead.start();
    await run(clock, 3 * TTL);
    expect(notes).toContain('applying the replicated log failed, retrying');
    expect(lead.applyFailures).toBe(1);
    expect(promoted).toBe(true);
    expect(lead.epochSeen).toBe(2);
    lead.stop();
  });

  it('restarts a reader that stopped receiving while the log moved on', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    const h = log.handle();
    let stuck = true;
    let resets = 0;
    const handle: ReplicatedLog = {
      ...h,
      read: (f, m, w) => (stuck ? clock.sleep(w).then(() => []) : h.read(f, m, w)),
      resetReader: () => {
        resets++;
        stuck = false;
      },
    };
    log.appendForeign(subjects.ctl, encodeMark(FrameType.Barrier, 1, 0, 'r'));
    const b = node('b', handle, clock);
    b.lead.start();
    await run(clock, 5 * TTL);
    expect(resets).toBe(1);
    expect(b.applier.applied).toBeGreaterThanOrEqual(1);
    expect(b.lead.role).toBe('leader');
    b.lead.stop();
  });
});

describe('a follower takes over TTL after the log went silent, not later', () => {
  it('a reader stuck while the leader appends is restarted within 3 TTL/4; the follower leads TTL (and a quantum at most) after the leader stops', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    const a = node('a', log.handle(), clock);
    a.lead.start();
    await run(clock, TTL + 500);
    const h = log.handle();
    let stuck = false;
    let restartedAt = 0;
    const handle: ReplicatedLog = {
      ...h,
      read: (f, m, w) => (stuck ? clock.sleep(w).then(() => []) : h.read(f, m, w)),
      resetReader: () => {
        restartedAt = clock.now();
        stuck = false;
      },
    };
    const b = node('b', handle, clock);
    b.lead.start();
    await run(clock, TTL);
    // Its consumer lost with a NATS node: nothing more arrives, though the leader heartbeats.
    stuck = true;
    const stuckAt = clock.now();
    await run(clock, 3 * TTL);
    expect(b.lead.readerRestarts).toBe(1);
    // Two quanta without a delivery while the log named newer entries (the last read may have delivered just after).
    expect(restartedAt - stuckAt).toBeLessThanOrEqual((3 * TTL) / 4 + 100);
    expect(b.applier.applied).toBe(log.lastSeq);
    // Stuck again just before the leader dies: it is restarted, and catching up on entries the log
    // named does not start the countdown again; the leader's last appends were named within a quantum.
    stuck = true;
    await run(clock, 300);
    a.lead.stop();
    const diedAt = clock.now();
    for (let t = 0; t < 3 * TTL && b.lead.role !== 'leader'; t += 50) await run(clock, 50);
    expect(b.lead.role).toBe('leader');
    expect(b.promoted?.epoch).toBe(2);
    expect(clock.now() - diedAt).toBeLessThanOrEqual(TTL + TTL / 4 + 100);
    b.lead.stop();
  });

  it('a follower started under load, and one back from an outage, count from the leader\'s last append', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    let down = false;
    const h = log.handle();
    const a = node('a', h, clock);
    a.lead.start();
    await run(clock, TTL + 500);
    const load = clock.every(100, () => void a.promoted?.seq.append(subjects.seg('s'), Buffer.from('m')).catch(() => undefined));
    // b's answers fail for a while (an outage only it sees), then the load runs on without a quiet moment.
    const b = node('b', {
      ...h,
      read: (f, m, w) => (down ? Promise.reject(new Error('consumer lost')) : h.read(f, m, w)),
      lastSequence: () => (down ? Promise.reject(new Error('timeout')) : h.lastSequence()),
    }, clock);
    b.lead.start();
    await run(clock, TTL);
    down = true;
    await run(clock, TTL);
    down = false;
    await run(clock, TTL);
    load.cancel();
    a.lead.stop();
    const diedAt = clock.now();
    for (let t = 0; t < 3 * TTL && b.lead.role !== 'leader'; t += 50) await run(clock, 50);
    expect(b.lead.role).toBe('leader');
    expect(clock.now() - diedAt).toBeLessThanOrEqual(TTL + 150);
    b.lead.stop();
  });

  it('a barrier that went in unanswered is read back: the node leads with it, no second barrier', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    log.appendForeign(subjects.ctl, encodeMark(FrameType.Barrier, 1, 0, 'old'));
    // The barrier's ack is lost, the append is in.
    log.inject({ kind: 'timeout-applied' });
    const notes: string[] = [];
    let promoted: { epoch: number; at: number } | null = null;
    const lead = new Leadership({
      log: log.handle(), subjects, applier: new ListApplier(), clock, node: 'b', ttlMs: TTL, window: 2,
      events: { promoted: (_s, epoch, at) => (promoted = { epoch, at }), fenced: () => undefined, note: (m) => notes.push(m) },
    });
    lead.start();
    await run(clock, 4 * TTL);
    expect(notes).toContain('barrier append failed, following');
    expect(lead.role).toBe('leader');
    expect(promoted).toEqual({ epoch: 2, at: 2 });
    const barriers = marks(log).filter((m) => m.type === FrameType.Barrier);
    expect(barriers.map((m) => [m.seq, m.node, m.epoch])).toEqual([[1, 'old', 1], [2, 'b', 2]]);
    expect(log.attempts.filter((x) => x.subject === subjects.ctl).length).toBe(1);
    lead.stop();
  });

  it('a barrier lost unanswered is tried again with the same id once the log answers, and wins', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    log.appendForeign(subjects.ctl, encodeMark(FrameType.Barrier, 1, 0, 'old'));
    log.inject({ kind: 'timeout-lost' });
    const b = node('b', log.handle(), clock);
    b.lead.start();
    await run(clock, 5 * TTL);
    expect(b.lead.role).toBe('leader');
    const tries = log.attempts.filter((x) => x.subject === subjects.ctl);
    expect(tries.length).toBe(2);
    expect(tries[0]?.msgId).toBe(tries[1]?.msgId);
    expect(marks(log).filter((m) => m.type === FrameType.Barrier).length).toBe(2);
    b.lead.stop();
  });
});

describe('the leader pipeline (Sequencer)', () => {
  function seqr(log: MemoryLog, clock: ManualClock, window = 3): { s: Sequencer; fenced: FencedError[] } {
    const fenced: FencedError[] = [];
    const s = new Sequencer({ log: log.handle(), clock, node: 'a', epoch: 1, base: log.lastSeq, window, onFenced: (e) => fenced.push(e) });
    return { s, fenced };
  }

  it('keeps `window` appends in flight with consecutive expectations', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    log.appendDelayMs = 10;
    const { s } = seqr(log, clock, 3);
    const got: number[] = [];
    for (let i = 0; i < 7; i++) void s.append('x', Buffer.from([i])).then((n) => got.push(n));
    await flush();
    expect(log.attempts.length).toBe(0);
    // Three sleep on the clock at once: the window.
    expect(clock.pending).toBe(3);
    await run(clock, 100, 10);
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(log.all().map((e) => (e.data as Buffer)[0])).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('retries timeouts and failures in order with the same ids, applied or not, without fencing', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    const { s, fenced } = seqr(log, clock, 4);
    const got: number[] = [];
    // An ack lost after the append went in: the retry is answered as a duplicate.
    log.inject({ kind: 'timeout-applied' });
    for (let i = 0; i < 3; i++) void s.append('x', Buffer.from([i])).then((n) => got.push(n));
    await run(clock, 2_000);
    expect(log.attempts.some((a) => a.outcome === 'duplicate')).toBe(true);
    // A lost append in the middle of a full window, then a plain failure on its retry.
    log.inject({ kind: 'timeout-lost' }, { kind: 'fail' });
    for (let i = 3; i < 10; i++) void s.append('x', Buffer.from([i])).then((n) => got.push(n));
    await run(clock, 5_000);
    expect(fenced).toEqual([]);
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(log.all().map((e) => (e.data as Buffer)[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.retries).toBeGreaterThanOrEqual(3);
  });

  it('a pipelined append cannot land behind a rival that took its predecessor\'s slot', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    const { s, fenced } = seqr(log, clock, 3);
    // The first append is lost (no answer), a rival's barrier lands in its slot, the second
    // (sent before the first was acknowledged) expects exactly that slot.
    log.inject({ kind: 'timeout-lost' });
    const r1 = s.append('x', Buffer.from('1'));
    log.appendForeign(subjects.ctl, Buffer.from('rival barrier'));
    const r2 = s.append('x', Buffer.from('2'));
    const results = await Promise.allSettled([r1, r2, run(clock, 3_000)]);
    expect(results[0].status).toBe('rejected');
    expect(results[1].status).toBe('rejected');
    expect(fenced.length).toBe(1);
    expect(log.lastSeq).toBe(1);
    expect(log.all().map((e) => e.subject)).toEqual([subjects.ctl]);
  });

  it('is fenced by a foreign append: pending appends are rejected, nothing more is appended', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog(clock);
    const { s, fenced } = seqr(log, clock, 2);
    await s.append('x', Buffer.from('1'));
    log.appendForeign(subjects.ctl, Buffer.from('barrier'));
    const results = await Promise.allSettled([s.append('x', Buffer.from('2')), s.append('x', Buffer.from('3'))]);
    await run(clock, 2_000);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(fenced.length).toBe(1);
    expect(log.lastSeq).toBe(2);
    await expect(s.append('x', Buffer.from('4'))).rejects.toBeInstanceOf(FencedError);
  });
});
