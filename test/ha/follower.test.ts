// The leader's store replicates its group commits through the sequencer; a follower applies the
// log to its own directory; warren's recovery then finds the same messages in both. Confirms wait
// for the replicated log's ack as well as the local fsync, and never come from a fenced leader.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeVhostDelete, splitDefs } from '../../src/ha/frames.js';
import { Follower } from '../../src/ha/follower.js';
import { MemoryLog } from '../../src/ha/memory-log.js';
import { groupSubjects } from '../../src/ha/replicated-log.js';
import { Replicator } from '../../src/ha/replicator.js';
import { Sequencer } from '../../src/ha/sequencer.js';
import { vhostId } from '../../src/store/data-dir.js';
import type { RecoveredMessage } from '../../src/store/message-store.js';
import { SegmentStore } from '../../src/store/segment-store.js';
import { ManualClock } from '../../src/util/clock.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const subjects = groupSubjects('g');
const tmp = tempDirs('warren-ha');

const VHOST = vhostId('/');
const messagesDir = (data: string): string => path.join(data, 'vhosts', VHOST, 'messages');

function durable(store: SegmentStore): Promise<Error | null> {
  return new Promise((resolve) => store.whenDurable((err) => resolve(err)));
}

async function flushIo(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

interface Leader {
  store: SegmentStore;
  log: MemoryLog;
  sequencer: Sequencer;
  failures: Error[];
}

function leader(data: string, clock: ManualClock, log = new MemoryLog(clock), segmentSize = 64 * 1024): Leader {
  const failures: Error[] = [];
  const sequencer = new Sequencer({ log: log.handle(), clock, node: 'a', epoch: 1, base: log.lastSeq, window: 3, onFenced: () => undefined });
  const store = new SegmentStore({
    dir: messagesDir(data),
    segmentSize,
    sync: 'always',
    replication: Replicator.factory({ sequencer, log: log.handle(), subjects, dataDir: data, maxPayload: 8 * 1024 * 1024, onFailed: (e) => failures.push(e) }),
  });
  return { store, log, sequencer, failures };
}

/** What recovery finds: queue → [seq, redelivered, enqueuedAt, header, body] in order. */
async function recovered(dir: string): Promise<Record<string, unknown[][]>> {
  const store = new SegmentStore({ dir, sync: 'always' });
  const found = await store.open();
  const out: Record<string, unknown[][]> = {};
  for (const [q, msgs] of [...found.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    out[q] = [...msgs].map((m: RecoveredMessage) => [m.seq, m.redelivered, m.enqueuedAt, m.header.toString('hex'), store.readBody(q, m.seq).toString('hex')]);
  }
  await store.close();
  return out;
}

describe('follower', () => {
  it('rebuilds a directory that recovers to the leader\'s messages (rolls, out-of-line bodies, acks, deleted segments)', async () => {
    const clock = new ManualClock();
    const L = tmp('leader');
    const F = tmp('follower');
    const a = leader(L, clock);
    await a.store.open();
    const live: [string, number][] = [];
    let n = 0;
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 150; i++, n++) {
        const q = `q${n % 3}`;
        // Mostly small bodies (copied into the chunk), some above 16 KiB (written from their own buffer).
        const size = n % 37 === 0 ? 20_000 + n : 10 + (n % 300);
        const body = Buffer.alloc(size, n % 251);
        const seq = a.store.append(q, { exchange: 'ex', routingKey: `rk${n}`, header: Buffer.from([n & 255, 1, 2]), body, enqueuedAt: 1_700_000_000_000 + n });
        live.push([q, seq]);
      }
      // Ack most of the oldest messages so early segments empty and are deleted; mark some delivered.
      for (const [q, seq] of live.splice(0, 120)) a.store.ack(q, seq);
      for (const [q, seq] of live.slice(0, 10)) a.store.markDelivered(q, seq);
      expect(await durable(a.store)).toBeNull();
    }
    expect(a.failures).toEqual([]);
    expect(a.store.stats().segmentsDeleted ?? 1).toBeGreaterThan(0);
    await a.store.close();

    const f = await Follower.open({ dataDir: F, sync: true });
    await f.apply(await a.log.handle().read(1, 1_000_000, 0));
    expect(f.applied).toBe(a.log.lastSeq);
    expect(f.stats().deletes).toBeGreaterThan(0);
    await f.close();
    expect(Follower.appliedIn(F)).toBe(a.log.lastSeq);

    // Every follower file is a prefix of the leader's (the leader's may end with a local seal record).
    // Segment summaries (.sum) are local, derived at seal time and rebuilt by recovery: not replicated.
    const segs = (d: string): string[] => fs.readdirSync(messagesDir(d)).filter((n) => n.endsWith('.seg')).sort();
    const lf = segs(L);
    const ff = segs(F);
    expect(ff).toEqual(lf);
    for (const name of ff) {
      const fb = fs.readFileSync(path.join(messagesDir(F), name));
      const lb = fs.readFileSync(path.join(messagesDir(L), name));
      expect(lb.subarray(0, fb.length).equals(fb)).toBe(true);
    }
    // Deleted segments left the stream: what it holds is about the live data.
    const segSubjects = new Set(a.log.all().filter((e) => e.subject.includes('.seg.')).map((e) => e.subject));
    expect(segSubjects.size).toBe(ff.length);

    const mine = await recovered(messagesDir(F));
    const theirs = await recovered(messagesDir(L));
    expect(Object.values(mine).reduce((k, v) => k + v.length, 0)).toBe(live.length);
    expect(mine).toEqual(theirs);
  }, 60_000);

  it('refuses frames naming files outside the data directory', async () => {
    const clock = new ManualClock();
    const F = tmp('follower');
    const log = new MemoryLog(clock);
    log.appendForeign(subjects.defs, splitDefs('vhosts/../../etc/definitions.log', 0, Buffer.from('x'), 1 << 20)[0] as Buffer);
    const f = await Follower.open({ dataDir: F, sync: false });
    await expect(f.apply(await log.handle().read(1, 10, 0))).rejects.toThrow(/outside the data directory/);
    await f.close();
    // A VHOST_DELETE frame names exactly one vhost directory: never vhosts/ itself, a trash or staging directory, or a path above.
    for (const dir of ['vhosts', 'vhosts/', 'vhosts/..', 'vhosts/.deleted-ab', 'vhosts/ab/messages', 'other/ab', '../vhosts/ab']) {
      const one = new MemoryLog(clock);
      one.appendForeign(subjects.ctl, encodeVhostDelete(dir));
      const g = await Follower.open({ dataDir: F, sync: false });
      await expect(g.apply(await one.handle().read(1, 10, 0)), dir).rejects.toThrow(/outside the data directory/);
      await g.close();
    }
    expect(fs.readdirSync(F)).toEqual(['ha']);
  });
});

describe('leader hook: confirms wait for the replicated log', () => {
  it('a confirm waits for the append ack, not only the local fsync', async () => {
    const clock = new ManualClock();
    const L = tmp('leader');
    const log = new MemoryLog(clock);
    const a = leader(L, clock, log);
    await a.store.open();
    log.appendDelayMs = 1_000;
    const syncsBefore = a.store.stats().syncs;
    a.store.append('q', { exchange: '', routingKey: 'q', header: Buffer.from([1]), body: Buffer.from('hello'), enqueuedAt: 1 });
    let done: Error | null | undefined;
    a.store.whenDurable((err) => (done = err));
    // Real I/O: wait (bounded) for the local fsync of the batch.
    const until = performance.now() + 10_000;
    while (a.store.stats().syncs === syncsBefore && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
    await flushIo();
    expect(a.store.stats().syncs).toBeGreaterThan(syncsBefore);
    // Written and fsynced locally, not yet acknowledged by the log.
    expect(done).toBeUndefined();
    clock.advance(1_000);
    for (let i = 0; i < 10 && done === undefined; i++) await flushIo();
    expect(done).toBeNull();
    log.appendDelayMs = 0;
    await a.store.close();
  });

  it('a fenced leader confirms nothing more: its waiters fail', async () => {
    const clock = new ManualClock();
    const L = tmp('leader');
    const log = new MemoryLog(clock);
    const a = leader(L, clock, log);
    await a.store.open();
    expect(await durable(a.store)).toBeNull();
    log.appendForeign(subjects.ctl, Buffer.from('a rival barrier'));
    a.store.append('q', { exchange: '', routingKey: 'q', header: Buffer.from([1]), body: Buffer.from('late'), enqueuedAt: 1 });
    const err = await durable(a.store);
    expect(err?.message).toMatch(/fenced/);
    expect(a.failures.length).toBe(1);
    expect(log.all().some((e) => e.subject.includes('.seg.') && e.seq > 1)).toBe(false);
    await a.store.close().catch(() => undefined);
  });
});
