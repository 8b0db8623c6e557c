// A follower's copy is exact whatever it replays: definitions records land at the leader's
// positions (a replay after a crash does not append them twice, a leader's compaction does not
// move them), a file written again from position 0 starts afresh, a vhost's directory goes when
// the leader deletes the vhost, and the access snapshot arrives whole, in one frame or several.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Follower, HA_DIR } from '../../src/ha/follower.js';
import { encodeSegment, encodeVhostDelete, segmentToken, splitAccess } from '../../src/ha/frames.js';
import { Leadership } from '../../src/ha/leadership.js';
import { MemoryLog } from '../../src/ha/memory-log.js';
import { groupSubjects, UnappliableEntryError, type ReplicatedLog } from '../../src/ha/replicated-log.js';
import { accessReplication, Replicator, type ReplicatorContext } from '../../src/ha/replicator.js';
import { Sequencer } from '../../src/ha/sequencer.js';
import { ACCESS_FILE, AccessStore, decodeSnapshot, encodeSnapshot, type AccessSnapshot } from '../../src/store/access-store.js';
import { createVhostDir, vhostId } from '../../src/store/data-dir.js';
import { DefinitionsStore } from '../../src/store/definitions-store.js';
import type { Segment } from '../../src/store/segment.js';
import type { SegmentLog } from '../../src/store/segment-log.js';
import type { Definitions } from '../../src/store/definitions-types.js';
import { ManualClock } from '../../src/util/clock.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const subjects = groupSubjects('g');
const tmp = tempDirs('warren-ha');

interface Turn {
  ctx: ReplicatorContext;
  failures: Error[];
  purgeFailures: Error[];
}

/** A leader's replication context on `log`, as a promotion gives one (epoch n, from the log's last sequence). */
function turn(dataDir: string, log: MemoryLog, clock: ManualClock, epoch = 1, maxPayload = 8 * 1024 * 1024): Turn {
  const failures: Error[] = [];
  const purgeFailures: Error[] = [];
  const handle: ReplicatedLog = log.handle();
  const sequencer = new Sequencer({ log: handle, clock, node: `n${epoch}`, epoch, base: log.lastSeq, window: 3, onFenced: () => undefined });
  return {
    ctx: { sequencer, log: handle, subjects, dataDir, maxPayload, onFailed: (e) => failures.push(e), onPurgeFailed: (e) => purgeFailures.push(e) },
    failures,
    purgeFailures,
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

const args = Buffer.alloc(0);
const queue = (name: string): { vhost: string; name: string; autoDelete: boolean; exclusive: boolean; arguments: Buffer } => ({ vhost: '/', name, autoDelete: false, exclusive: false, arguments: args });

function shape(d: Definitions): unknown {
  return { vhosts: d.vhosts.map((v) => v.name), queues: d.queues.map((q) => q.name).sort() };
}

async function readDefs(vdir: string): Promise<Definitions> {
  const s = new DefinitionsStore({ dir: path.join(vdir, 'definitions') });
  const d = await s.open();
  await s.close();
  return d;
}

const defsLog = (vdir: string): string => path.join(vdir, 'definitions', 'definitions.log');

describe('follower replay of definitions', () => {
  it('places DEFS records at the leader\'s positions: a replay after a crash leaves one copy of each op', async () => {
    const clock = new ManualClock();
    const L = tmp('leader');
    const F = tmp('follower');
    const log = new MemoryLog(clock);
    const vdir = await createVhostDir(L, '/');
    const t = turn(L, log, clock);
    const defs = new DefinitionsStore({ dir: path.join(vdir, 'definitions'), onRecord: Replicator.forVhost(t.ctx, vdir).definitions });
    await defs.open();
    defs.putVhost({ name: '/' });
    defs.putQueue(queue('orders'));
    defs.putQueue(queue('gone'));
    await settle();
    const firstBatch = log.lastSeq;
    defs.deleteQueue('/', 'gone');
    defs.putQueue(queue('invoices'));
    await defs.close();
    await settle();
    expect(t.failures).toEqual([]);

    const f1 = await Follower.open({ dataDir: F, sync: true });
    await f1.apply(await log.handle().read(1, firstBatch, 0));
    await f1.close();
    const appliedFile = path.join(F, HA_DIR, 'applied');
    const lagging = fs.readFileSync(appliedFile);
    const f2 = await Follower.open({ dataDir: F, sync: true });
    await f2.apply(await log.handle().read(firstBatch + 1, 100, 0));
    await f2.close();
    // A crash after the files were written, before the applied sequence was: the same frames again.
    fs.writeFileSync(appliedFile, lagging);
    const f3 = await Follower.open({ dataDir: F, sync: true });
    expect(f3.applied).toBe(firstBatch);
    await f3.apply(await log.handle().read(firstBatch + 1, 100, 0));
    // And once more from the start, as a follower with no applied file would.
    await f3.close();
    fs.rmSync(path.join(F, HA_DIR), { recursive: true });
    const f4 = await Follower.open({ dataDir: F, sync: true });
    await f4.apply(await log.handle().read(1, 100, 0));
    expect(f4.stats().defs).toBe(5);
    await f4.close();

    const fdir = path.join(F, 'vhosts', vhostId('/'));
    expect(fs.readFileSync(path.join(fdir, '.vhost'), 'utf8')).toBe('/');
    expect(fs.readFileSync(defsLog(fdir)).equals(fs.readFileSync(defsLog(vdir)))).toBe(true);
    const mine = await readDefs(fdir);
    expect(shape(mine)).toEqual({ vhosts: ['/'], queues: ['invoices', 'orders'] });
  });

  it('keeps placing records right after the leader compacts its log, and after a promoted copy takes over', async () => {
    const clock = new ManualClock();
    const A = tmp('a');
    const B = tmp('b');
    const C = tmp('c');
    const log = new MemoryLog(clock);
    const vdir = await createVhostDir(A, '/');
    const t1 = turn(A, log, clock, 1);
    // Compacts as soon as the log is twice its live state.
    const defs = new DefinitionsStore({ dir: path.join(vdir, 'definitions'), onRecord: Replicator.forVhost(t1.ctx, vdir).definitions, compactAboveBytes: 256 });
    await defs.open();
    defs.putVhost({ name: '/' });
    for (let round = 0; round < 20; round++) {
      defs.putQueue(queue(`tmp${round}`));
      defs.deleteQueue('/', `tmp${round}`);
      await new Promise<void>((res, rej) => defs.whenDurable((e) => (e === null ? res() : rej(e))));
    }
    defs.putQueue(queue('kept'));
    await defs.close();
    await settle();
    expect(defs.stats().compactions).toBeGreaterThan(0);
    expect(t1.failures).toEqual([]);

    // B follows and is promoted; C goes on following.
    const fb = await Follower.open({ dataDir: B, sync: false });
    await fb.apply(await log.handle().read(1, 1_000, 0));
    await fb.close();
    const bdir = path.join(B, 'vhosts', vhostId('/'));
    expect(shape(await readDefs(bdir))).toEqual({ vhosts: ['/'], queues: ['kept'] });
    // The leader's own log is the compacted one: shorter than the copies, with the same state.
    expect(fs.statSync(defsLog(vdir)).size).toBeLessThan(fs.statSync(defsLog(bdir)).size);

    fs.rmSync(path.join(B, HA_DIR), { recursive: true });
    const t2 = turn(B, log, clock, 2);
    const defsB = new DefinitionsStore({ dir: path.join(bdir, 'definitions'), onRecord: Replicator.forVhost(t2.ctx, bdir).definitions });
    await defsB.open();
    defsB.putQueue(queue('after-failover'));
    defsB.deleteQueue('/', 'kept');
    await defsB.close();
    await settle();
    expect(t2.failures).toEqual([]);

    const fc = await Follower.open({ dataDir: C, sync: false });
    await fc.apply(await log.handle().read(1, 1_000, 0));
    await fc.close();
    const cdir = path.join(C, 'vhosts', vhostId('/'));
    expect(fs.readFileSync(defsLog(cdir)).equals(fs.readFileSync(defsLog(bdir)))).toBe(true);
    expect(shape(await readDefs(cdir))).toEqual({ vhosts: ['/'], queues: ['after-failover'] });
    const stats = new DefinitionsStore({ dir: path.join(cdir, 'definitions') });
    await stats.open();
    expect(stats.stats().corruptRecords).toBe(0);
    await stats.close();
  });
  it('a record a dead leader half sent is cut from every copy by the next leader\'s first record', async () => {
    const clock = new ManualClock();
    const A = tmp('a');
    const B = tmp('b');
    const C = tmp('c');
    const full = new MemoryLog(clock);
    const vdir = await createVhostDir(A, '/');
    // About 300 bytes of room per frame: a queue with a long name takes two.
    const t1 = turn(A, full, clock, 1, 1400);
    const defs = new DefinitionsStore({ dir: path.join(vdir, 'definitions'), onRecord: Replicator.forVhost(t1.ctx, vdir).definitions });
    await defs.open();
    defs.putVhost({ name: '/' });
    defs.putQueue(queue('small'));
    await settle();
    const before = full.lastSeq;
    defs.putQueue(queue('q'.repeat(250)));
    await defs.close();
    await settle();
    expect(full.lastSeq - before).toBe(2);
    // The leader died with only the first frame of its last record in the stream.
    const log = new MemoryLog(clock);
    for (const e of full.all().slice(0, -1)) log.appendForeign(e.subject, e.data);
    for (const d of [B, C]) {
      const f = await Follower.open({ dataDir: d, sync: false });
      await f.apply(await log.handle().read(1, 1_000, 0));
      await f.close();
    }
    const bdir = path.join(B, 'vhosts', vhostId('/'));
    const cdir = path.join(C, 'vhosts', vhostId('/'));

    fs.rmSync(path.join(B, HA_DIR), { recursive: true });
    const t2 = turn(B, log, clock, 2);
    const defsB = new DefinitionsStore({ dir: path.join(bdir, 'definitions'), onRecord: Replicator.forVhost(t2.ctx, bdir).definitions });
    await defsB.open();
    expect(defsB.stats().truncatedBytes).toBeGreaterThan(0);
    defsB.putQueue(queue('after'));
    await defsB.close();
    await settle();
    expect(t2.failures).toEqual([]);

    const fc = await Follower.open({ dataDir: C, sync: false });
    await fc.apply(await log.handle().read(fc.applied + 1, 1_000, 0));
    await fc.close();
    expect(fs.readFileSync(defsLog(cdir)).equals(fs.readFileSync(defsLog(bdir)))).toBe(true);
    const check = new DefinitionsStore({ dir: path.join(cdir, 'definitions') });
    expect(shape(await check.open())).toEqual({ vhosts: ['/'], queues: ['after', 'small'] });
    expect(check.stats()).toMatchObject({ corruptRecords: 0, truncatedBytes: 0 });
    await check.close();
  });
});

describe('follower files', () => {
  it('a SEGMENT frame at position 0 of a file holding other bytes (a stale file of an earlier turn) starts it afresh', async () => {
    const clock = new ManualClock();
    const F = tmp('follower');
    const file = `vhosts/${vhostId('/')}/messages/000000000001.seg`;
    const abs = path.join(F, ...file.split('/'));
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, Buffer.alloc(4096, 0xee));
    const log = new MemoryLog(clock);
    log.appendForeign(subjects.seg('s'), encodeSegment(file, 0, Buffer.from('head')));
    log.appendForeign(subjects.seg('s'), encodeSegment(file, 4, Buffer.from('+tail')));
    const f = await Follower.open({ dataDir: F, sync: true });
    await f.apply(await log.handle().read(1, 1, 0));
    expect(fs.readFileSync(abs, 'utf8')).toBe('head');
    await f.apply(await log.handle().read(2, 10, 0));
    expect(fs.readFileSync(abs, 'utf8')).toBe('head+tail');
    await f.close();
  });

  it('removes a vhost\'s directory when the leader deletes the vhost, and purges its files\' frames', async () => {
    const clock = new ManualClock();
    const L = tmp('leader');
    const F = tmp('follower');
    const log = new MemoryLog(clock);
    const keep = await createVhostDir(L, '/');
    const doomed = await createVhostDir(L, 'doomed');
    const t = turn(L, log, clock);
    Replicator.forVhost(t.ctx, keep);
    Replicator.forVhost(t.ctx, doomed);
    // A message segment of the doomed vhost, as its store would have replicated it.
    const seg = path.join(doomed, 'messages', '000000000001.seg');
    fs.mkdirSync(path.dirname(seg));
    fs.writeFileSync(seg, 'segment bytes');
    const rel = path.relative(L, seg).split(path.sep).join('/');
    await t.ctx.sequencer.append(subjects.seg(segmentToken(rel)), encodeSegment(rel, 0, Buffer.from('segment bytes')));
    const f = await Follower.open({ dataDir: F, sync: true });
    await f.apply(await log.handle().read(1, 100, 0));
    const fDoomed = path.join(F, 'vhosts', vhostId('doomed'));
    expect(fs.readFileSync(path.join(fDoomed, 'messages', '000000000001.seg'), 'utf8')).toBe('segment bytes');

    const rep = accessReplication(t.ctx);
    await rep.vhostRemoved(doomed);
    fs.rmSync(doomed, { recursive: true });
    await settle();
    expect(t.failures).toEqual([]);
    const last = log.all().at(-1);
    expect(last?.subject).toBe(subjects.ctl);
    await f.apply(await log.handle().read(f.applied + 1, 100, 0));
    expect(f.stats().vhostDeletes).toBe(1);
    expect(fs.existsSync(fDoomed)).toBe(false);
    expect(fs.readdirSync(path.join(F, 'vhosts'))).toEqual([vhostId('/')]);
    // Applied again (a crash before the applied sequence moved): nothing left to remove, no error.
    fs.writeFileSync(path.join(F, HA_DIR, 'applied'), Buffer.alloc(0));
    await f.close();
    const again = await Follower.open({ dataDir: F, sync: true });
    await again.apply(await log.handle().read(1, 100, 0));
    expect(fs.existsSync(fDoomed)).toBe(false);
    await again.close();
    // The directory's files left the stream with it; the other vhost's stayed.
    const held = new Set(log.all().map((e) => e.subject));
    expect(held.has(subjects.seg(segmentToken(rel)))).toBe(false);
    expect(held.has(subjects.seg(segmentToken(`vhosts/${vhostId('doomed')}/.vhost`)))).toBe(false);
    expect(held.has(subjects.seg(segmentToken(`vhosts/${vhostId('/')}/.vhost`)))).toBe(true);
  });

  it('a vhost deleted and made again under its name keeps its new frames when the old directory\'s purges come late', async () => {
    const clock = new ManualClock();
    const L = tmp('leader');
    const F = tmp('follower');
    const log = new MemoryLog(clock);
    const t = turn(L, log, clock);
    const segFrame = async (vdir: string, text: string): Promise<string> => {
      const seg = path.join(vdir, 'messages', '000000000001.seg');
      fs.mkdirSync(path.dirname(seg), { recursive: true });
      fs.writeFileSync(seg, text);
      const rel = path.relative(L, seg).split(path.sep).join('/');
      await t.ctx.sequencer.append(subjects.seg(segmentToken(rel)), encodeSegment(rel, 0, Buffer.from(text)));
      return rel;
    };
    const old = await createVhostDir(L, 'v');
    Replicator.forVhost(t.ctx, old);
    await segFrame(old, 'old vhost');
    // The purges of the old directory's subjects are slow (a busy engine): they land after the vhost is back.
    log.purgeDelayMs = 1_000;
    await accessReplication(t.ctx).vhostRemoved(old);
    fs.rmSync(old, { recursive: true });
    const again = await createVhostDir(L, 'v');
    Replicator.forVhost(t.ctx, again);
    const rel = await segFrame(again, 'new vhost');
    await settle();
    for (let i = 0; i < 4; i++) {
      clock.advance(1_000);
      await settle();
    }
    expect(t.failures).toEqual([]);
    expect(t.purgeFailures).toEqual([]);
    // The old vhost's frames left the stream; the new one's are all there, the log's last entry too.
    expect(log.all().filter((e) => e.subject === subjects.seg(segmentToken(rel))).map((e) => Buffer.from(e.data).includes('new vhost'))).toEqual([true]);
    expect(log.all().at(-1)?.seq).toBe(log.lastSeq);
    // A follower rebuilding from the stream has the vhost made again, whole.
    const f = await Follower.open({ dataDir: F, sync: true });
    await f.apply(await log.handle().read(1, 100, 0));
    await f.close();
    const fdir = path.join(F, 'vhosts', vhostId('v'));
    expect(fs.readFileSync(path.join(fdir, '.vhost'), 'utf8')).toBe('v');
    expect(fs.readFileSync(path.join(F, ...rel.split('/')), 'utf8')).toBe('new vhost');
  });

  it('a segment deleted and written again under its name keeps its new frames when the DELETE\'s purge comes late', async () => {
    const clock = new ManualClock();
    const L = tmp('leader');
    const F = tmp('follower');
    const log = new MemoryLog(clock);
    const t = turn(L, log, clock);
    const failed: Error[] = [];
    const segLog = { replicated: () => undefined, replicationFailed: (e: Error) => failed.push(e) } as unknown as SegmentLog;
    const r = new Replicator(segLog, t.ctx);
    const seg = { path: path.join(L, 'vhosts', vhostId('/'), 'messages', '000000000001.seg') } as unknown as Segment;
    r.batch(seg, 0, [Buffer.from('first life')], 10, 10);
    await settle();
    log.purgeDelayMs = 1_000;
    r.deleted([seg]);
    await settle();
    r.batch(seg, 0, [Buffer.from('second')], 6, 6);
    await settle();
    clock.advance(1_000);
    await settle();
    expect([...failed, ...t.failures, ...t.purgeFailures]).toEqual([]);
    const f = await Follower.open({ dataDir: F, sync: true });
    await f.apply(await log.handle().read(1, 100, 0));
    await f.close();
    expect(f.stats().deletes).toBe(1);
    expect(fs.readFileSync(path.join(F, 'vhosts', vhostId('/'), 'messages', '000000000001.seg'), 'utf8')).toBe('second');
  });

  it('an entry that can never be applied stops the follower at once: one failure, no retries', async () => {
    const clock = new ManualClock();
    const log = versionOneLog(clock);
    const f = await Follower.open({ dataDir: tmp('follower'), sync: false });
    const fenced: Error[] = [];
    const lead = new Leadership({
      log: log.handle(),
      subjects,
      applier: f,
      clock,
      node: 'b',
      ttlMs: 1_000,
      window: 3,
      events: { promoted: () => undefined, fenced: (e) => fenced.push(e) },
    });
    lead.start();
    for (let i = 0; i < 40; i++) {
      clock.advance(250);
      await settle();
    }
    await lead.settled();
    expect(fenced.length).toBe(1);
    expect(fenced[0]).toBeInstanceOf(UnappliableEntryError);
    expect(fenced[0]?.message).toMatch(/entry 1 .*version 1, this warren reads version 2 only/);
    expect(lead.applyFailures).toBe(0);
    expect(lead.role).toBe('fenced');
    expect(f.applied).toBe(0);
    await f.close();
    // A VHOST_DELETE naming anything but one vhost directory can never be applied either.
    const bad = new MemoryLog(clock);
    bad.appendForeign(subjects.ctl, encodeVhostDelete('vhosts/../..'));
    const g = await Follower.open({ dataDir: tmp('bad'), sync: false });
    await expect(g.apply(await bad.handle().read(1, 10, 0))).rejects.toBeInstanceOf(UnappliableEntryError);
    await g.close();
  });

  it('refuses a frame of another version with a clear error', async () => {
    const clock = new ManualClock();
    const log = versionOneLog(clock);
    const f = await Follower.open({ dataDir: tmp('follower'), sync: false });
    await expect(f.apply(await log.handle().read(1, 10, 0))).rejects.toThrow(/version 1, this warren reads version 2 only/);
    expect(f.applied).toBe(0);
    await f.close();
  });
});

/** A log whose one entry is a frame of version 1 (which this release cannot apply). */
function versionOneLog(clock: ManualClock): MemoryLog {
  const log = new MemoryLog(clock);
  const v1 = Buffer.from(encodeSegment('vhosts/x/messages/1.seg', 0, Buffer.from('x')));
  v1[0] = 1;
  log.appendForeign(subjects.seg('x'), v1);
  return log;
}

function snapshot(users: number): AccessSnapshot {
  return {
    users: Array.from({ length: users }, (_, i) => ({ name: `user-${i}`, passwordHash: Buffer.alloc(36, i).toString('base64'), hashingAlgorithm: 'rabbit_password_hashing_sha256', tags: [], limits: {} })),
    vhosts: [{ name: '/', description: 'Default virtual host', tags: [], defaultQueueType: 'classic', limits: {} }],
    permissions: [],
    topicPermissions: [],
    clusterName: null,
    deletedVhosts: [],
    bootDefinitionsHash: null,
  };
}

describe('access snapshot replication', () => {
  it('a save resolves once the replicated log acknowledged the snapshot; the stream keeps only the last one', async () => {
    const clock = new ManualClock();
    const L = tmp('leader');
    const F = tmp('follower');
    const log = new MemoryLog(clock);
    const t = turn(L, log, clock);
    const rep = accessReplication(t.ctx);
    const store = new AccessStore(L, (bytes) => rep.snapshot(bytes));
    log.appendDelayMs = 500;
    let saved = false;
    const p = store.save(snapshot(1)).then(() => (saved = true));
    // Written locally, not yet acknowledged: the change is not acknowledged either.
    const until = performance.now() + 10_000;
    while (store.writes === 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
    await settle();
    expect(store.writes).toBe(1);
    expect(saved).toBe(false);
    clock.advance(500);
    await p;
    log.appendDelayMs = 0;
    await store.save(snapshot(2));
    await store.save(snapshot(3));
    await settle();
    expect(t.failures).toEqual([]);
    const held = log.all().filter((e) => e.subject === subjects.access);
    expect(held.length).toBe(1);

    const f = await Follower.open({ dataDir: F, sync: true });
    await f.apply(await log.handle().read(1, 100, 0));
    await f.close();
    expect(fs.readFileSync(path.join(F, ACCESS_FILE)).equals(fs.readFileSync(path.join(L, ACCESS_FILE)))).toBe(true);
    expect(decodeSnapshot(fs.readFileSync(path.join(F, ACCESS_FILE)), 'x').users.map((u) => u.name)).toEqual(['user-0', 'user-1', 'user-2']);
  });

  it('a snapshot larger than one frame goes in parts, reassembled across restarts; a snapshot seen only in part is skipped', async () => {
    const clock = new ManualClock();
    const L = tmp('leader');
    const F = tmp('follower');
    const log = new MemoryLog(clock);
    // 3 KiB of room per frame: a 200-user snapshot needs several.
    const t = turn(L, log, clock, 1, 4096);
    const rep = accessReplication(t.ctx);
    const big = encodeSnapshot(snapshot(200));
    const parts = splitAccess(big, 4096).length;
    expect(parts).toBeGreaterThan(3);
    await rep.snapshot(big);
    await settle();
    const entries = log.all().filter((e) => e.subject === subjects.access);
    expect(entries.length).toBe(parts);

    // Part by part, the follower restarting in between; every other restart replays its last part
    // (a crash after the part was written, before the applied sequence was).
    const appliedFile = path.join(F, HA_DIR, 'applied');
    for (let i = 0; i < parts; i++) {
      const f = await Follower.open({ dataDir: F, sync: true });
      const before = fs.readFileSync(appliedFile);
      const upto = (entries[i] as { seq: number }).seq;
      await f.apply((await log.handle().read(f.applied + 1, 1_000, 0)).filter((e) => e.seq <= upto));
      await f.close();
      if (i % 2 === 1) fs.writeFileSync(appliedFile, before);
      // Until the last part, nothing replaces the snapshot in place.
      expect(fs.existsSync(path.join(F, ACCESS_FILE))).toBe(i === parts - 1);
    }
    const f = await Follower.open({ dataDir: F, sync: true });
    await f.apply(await log.handle().read(f.applied + 1, 1_000, 0));
    expect(f.applied).toBe(log.lastSeq);
    await f.close();
    expect(fs.readFileSync(path.join(F, ACCESS_FILE)).equals(big)).toBe(true);
    expect(fs.existsSync(path.join(F, HA_DIR, 'access.partial'))).toBe(false);

    // A follower that read the first parts of a snapshot, then found them purged for a newer one.
    const G = tmp('late');
    const g = await Follower.open({ dataDir: G, sync: true });
    const firstParts = (await log.handle().read(1, 1_000, 0)).filter((e) => e.subject === subjects.access).slice(0, 2);
    await g.apply(firstParts);
    const small = encodeSnapshot(snapshot(1));
    await rep.snapshot(small);
    await settle();
    expect(log.all().filter((e) => e.subject === subjects.access).length).toBe(1);
    await g.apply(await log.handle().read(g.applied + 1, 1_000, 0));
    expect(fs.readFileSync(path.join(G, ACCESS_FILE)).equals(small)).toBe(true);
    // A lone continuation part (its snapshot's first parts never seen) changes nothing.
    const stray = Buffer.from(splitAccess(big, 4096)[1] as Buffer);
    const extra = new MemoryLog(clock);
    for (let i = 0; i < g.applied; i++) extra.appendForeign(subjects.hb, Buffer.alloc(0));
    extra.appendForeign(subjects.access, stray);
    await g.apply(await extra.handle().read(g.applied + 1, 10, 0));
    expect(fs.readFileSync(path.join(G, ACCESS_FILE)).equals(small)).toBe(true);
    expect(g.stats().accessSnapshots).toBe(1);
    await g.close();
    expect(decodeSnapshot(fs.readFileSync(path.join(F, ACCESS_FILE)), 'x').users.length).toBe(200);
  });

  it('a late purge of an old leader\'s snapshot leaves a newer leader\'s parts in the stream', async () => {
    const clock = new ManualClock();
    const L = tmp('leader');
    const F = tmp('follower');
    const log = new MemoryLog(clock);
    const t1 = turn(L, log, clock, 1, 4096);
    // The old leader's purge is held up (the process paused) until after the next leader's snapshot.
    log.purgeDelayMs = 5_000;
    await accessReplication(t1.ctx).snapshot(encodeSnapshot(snapshot(1)));
    await settle();
    log.purgeDelayMs = 0;
    const t2 = turn(L, log, clock, 2, 4096);
    const big = encodeSnapshot(snapshot(200));
    const parts = splitAccess(big, 4096).length;
    await accessReplication(t2.ctx).snapshot(big);
    await settle();
    clock.advance(5_000);
    await settle();
    expect([...t1.failures, ...t2.failures]).toEqual([]);
    expect(log.all().filter((e) => e.subject === subjects.access).length).toBe(parts);
    const f = await Follower.open({ dataDir: F, sync: true });
    await f.apply(await log.handle().read(1, 1_000, 0));
    await f.close();
    expect(fs.readFileSync(path.join(F, ACCESS_FILE)).equals(big)).toBe(true);
  });

  it('adds a part only to its own snapshot\'s parts; parts that do not add up are skipped, not retried', async () => {
    const clock = new ManualClock();
    const F = tmp('follower');
    const a = splitAccess(encodeSnapshot(snapshot(200)), 4096);
    const b = splitAccess(encodeSnapshot(snapshot(199)), 4096);
    const c = encodeSnapshot(snapshot(2));
    const log = new MemoryLog(clock);
    // A's first part, then B without its first part (purged before this copy read it), then C whole.
    log.appendForeign(subjects.access, a[0] as Buffer);
    for (const part of b.slice(1)) log.appendForeign(subjects.access, part);
    const f = await Follower.open({ dataDir: F, sync: true });
    await f.apply(await log.handle().read(1, 1_000, 0));
    expect(fs.existsSync(path.join(F, ACCESS_FILE))).toBe(false);
    expect(f.stats()).toMatchObject({ accessSnapshots: 0, accessSkipped: 0 });
    log.appendForeign(subjects.access, splitAccess(c, 4096)[0] as Buffer);
    await f.apply(await log.handle().read(f.applied + 1, 1_000, 0));
    expect(fs.readFileSync(path.join(F, ACCESS_FILE)).equals(c)).toBe(true);
    // Every part tagged alike, yet one part's bytes are not the snapshot's: skipped whole.
    const damaged = a.map((p) => Buffer.from(p));
    const second = damaged[1] as Buffer;
    second[second.length - 1] = (second[second.length - 1] as number) ^ 0xff;
    for (const part of damaged) log.appendForeign(subjects.access, part);
    await f.apply(await log.handle().read(f.applied + 1, 1_000, 0));
    expect(f.applied).toBe(log.lastSeq);
    expect(f.stats()).toMatchObject({ accessSnapshots: 1, accessSkipped: 1 });
    expect(fs.readFileSync(path.join(F, ACCESS_FILE)).equals(c)).toBe(true);
    expect(fs.existsSync(path.join(F, HA_DIR, 'access.partial'))).toBe(false);
    await f.close();
  });
});
