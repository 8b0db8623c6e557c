// What a promoted copy boots from: a broker leading through the in-memory log changes users,
// vhosts and permissions and deletes a vhost; a follower applies the log; a broker started on the
// follower's directory (what promotion does) has that state, seeds no default user over it, and
// imports boot definitions as at any restart (skip_if_unchanged sees the leader's import). A copy
// holding the group's data without its access snapshot refuses to start as a first start, and a
// wiped directory keeps no access snapshot a later promotion could serve.

import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as amqplib from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { Follower, HA_DIR } from '../../src/ha/follower.js';
import { encodeMark, FrameType } from '../../src/ha/frames.js';
import { MemoryLog } from '../../src/ha/memory-log.js';
import { HaNode } from '../../src/ha/node.js';
import { groupSubjects } from '../../src/ha/replicated-log.js';
import { accessReplication, Replicator, type ReplicatorContext } from '../../src/ha/replicator.js';
import { Sequencer } from '../../src/ha/sequencer.js';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';
import { ACCESS_FILE, type AccessReplication } from '../../src/store/access-store.js';
import { vhostDir } from '../../src/store/data-dir.js';
import { createRootLogger } from '../../src/log.js';
import { systemClock } from '../../src/util/clock.js';

const subjects = groupSubjects('p');
const dirs: string[] = [];
const running: RunningBroker[] = [];

function tmp(tag: string): string {
  const d = fs.mkdtempSync(path.join(tmpdir(), `warren-ha-${tag}-`));
  dirs.push(d);
  return d;
}

afterEach(async () => {
  for (const r of running.splice(0)) await r.close().catch(() => undefined);
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A broker leading on `dataDir`, replicating through `log` (as startHaBroker's leader path wires it). */
async function leader(dataDir: string, log: MemoryLog, extra: StartOptions = {}): Promise<{ r: RunningBroker; failures: Error[] }> {
  const failures: Error[] = [];
  const handle = log.handle();
  const sequencer = new Sequencer({ log: handle, clock: systemClock, node: 'a', epoch: 1, base: log.lastSeq, window: 3, onFenced: (e) => failures.push(e) });
  const ctx: ReplicatorContext = { sequencer, log: handle, subjects, dataDir, maxPayload: 1024 * 1024, onFailed: (e) => failures.push(e) };
  const r = await startBroker({ port: 0, dataDir, logLevel: 'error', ...extra, replication: (dir) => Replicator.forVhost(ctx, dir), accessReplication: accessReplication(ctx) });
  running.push(r);
  return { r, failures };
}

async function follow(log: MemoryLog, dataDir: string): Promise<void> {
  const f = await Follower.open({ dataDir, sync: true });
  await f.apply(await log.handle().read(f.applied + 1, 1_000_000, 0));
  expect(f.applied).toBe(log.lastSeq);
  await f.close();
  // As promotion does: the directory is a leader's from here on.
  fs.rmSync(path.join(dataDir, HA_DIR), { recursive: true });
}

async function promoted(dataDir: string, extra: StartOptions = {}): Promise<RunningBroker> {
  const r = await startBroker({ port: 0, dataDir, logLevel: 'error', ...extra });
  running.push(r);
  return r;
}

describe('promotion boots from the replicated state', () => {
  it('users, vhosts and permissions changed on the leader hold on the promoted copy; a deleted vhost is gone; no default user comes back', async () => {
    const log = new MemoryLog(systemClock);
    const A = tmp('a');
    const B = tmp('b');
    const { r: a, failures } = await leader(A, log);
    await a.broker.access.putVhost('tenant', { description: 'a tenant' });
    await a.broker.access.putUser({ name: 'alice', password: 'alice-pw', tags: 'monitoring' });
    await a.broker.access.setPermissions('alice', 'tenant', { configure: '^alice\\.', write: '.*', read: '.*' });
    await a.broker.access.setVhostLimits('tenant', { 'max-connections': 5 });
    await a.broker.access.putVhost('doomed');
    await a.broker.access.setPermissions('guest', 'doomed', { configure: '.*', write: '.*', read: '.*' });
    const c = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${a.port}/doomed`);
    await (await c.createChannel()).assertQueue('inside', { durable: true });
    await c.close();
    expect(fs.existsSync(vhostDir(A, 'doomed'))).toBe(true);
    await a.broker.access.deleteVhost('doomed');
    // The default user goes: a promoted copy must not seed it again.
    await a.broker.access.deleteUser('guest');
    expect(failures).toEqual([]);
    await a.close();

    await follow(log, B);
    expect(fs.existsSync(vhostDir(B, 'doomed'))).toBe(false);
    const b = await promoted(B);
    expect(b.broker.users.get('guest')).toBeUndefined();
    expect(b.broker.users.get('alice')?.tags).toEqual(['monitoring']);
    expect(b.broker.access.vhostNames().sort()).toEqual(['/', 'tenant']);
    expect(b.broker.access.vhostMetadata('tenant')?.description).toBe('a tenant');
    expect(b.broker.access.vhostLimits('tenant')).toEqual({ 'max-connections': 5 });
    expect(fs.existsSync(vhostDir(B, 'doomed'))).toBe(false);
    const conn = await amqplib.connect(`amqp://alice:alice-pw@127.0.0.1:${b.port}/tenant`);
    const ch = await conn.createChannel();
    expect((await ch.assertQueue('alice.q')).queue).toBe('alice.q');
    await conn.close();
    await expect(amqplib.connect(`amqp://guest:guest@127.0.0.1:${b.port}`)).rejects.toThrow(/ACCESS_REFUSED|403/);
  });

  it('boot definitions: imported at promotion as at any restart; skip_if_unchanged sees the leader\'s import', async () => {
    const work = tmp('defs');
    const defs = path.join(work, 'defs.json');
    fs.writeFileSync(defs, JSON.stringify({ users: [{ name: 'bob', password_hash: '', tags: [] }], vhosts: [{ name: '/' }] }));
    for (const skip of [true, false]) {
      const log = new MemoryLog(systemClock);
      const A = tmp('a');
      const B = tmp('b');
      const opts: StartOptions = { loadDefinitions: defs, definitionsSkipIfUnchanged: skip };
      const { r: a, failures } = await leader(A, log, opts);
      expect(a.broker.users.get('bob')).toBeDefined();
      // With boot definitions, a first start seeds no default user; nothing seeds one later either.
      expect(a.broker.users.get('guest')).toBeUndefined();
      await a.broker.access.deleteUser('bob');
      expect(failures).toEqual([]);
      await a.close();
      await follow(log, B);
      const b = await promoted(B, opts);
      expect(b.broker.users.get('guest')).toBeUndefined();
      // Unchanged files with skip_if_unchanged: not imported again, the leader's deletion stands.
      expect(b.broker.users.get('bob') === undefined).toBe(skip);
      await b.close();
    }
  });

  it('a copy holding the group\'s data but no access snapshot refuses to start: no default user seeded over the group\'s users', async () => {
    const log = new MemoryLog(systemClock);
    const A = tmp('a');
    const { r: a, failures } = await leader(A, log);
    await a.broker.access.putUser({ name: 'alice', password: 'alice-pw', tags: 'administrator' });
    await a.broker.access.deleteUser('guest');
    expect(failures).toEqual([]);
    await a.close();

    // The whole stream: the copy has its snapshot.
    const whole = tmp('whole');
    const fw = await Follower.open({ dataDir: whole, sync: false });
    await fw.apply(await log.handle().read(1, 1_000_000, 0));
    expect(fw.accessSnapshotMissing()).toBe(false);
    await fw.close();
    // Only barriers and heartbeats (leaders that never served): a first start is what it is.
    const marks = new MemoryLog(systemClock);
    marks.appendForeign(subjects.ctl, encodeMark(FrameType.Barrier, 1, 0, 'x'));
    marks.appendForeign(subjects.hb, encodeMark(FrameType.Heartbeat, 1, 0, 'x'));
    const fm = await Follower.open({ dataDir: tmp('marks'), sync: false });
    await fm.apply(await marks.handle().read(1, 10, 0));
    expect(fm.accessSnapshotMissing()).toBe(false);
    await fm.close();
    // The stream without its access snapshot: data, no snapshot.
    const lost = new MemoryLog(systemClock);
    for (const e of log.all()) if (e.subject !== subjects.access) lost.appendForeign(e.subject, e.data);
    const B = tmp('b');
    const fb = await Follower.open({ dataDir: B, sync: true });
    await fb.apply(await lost.handle().read(1, 1_000_000, 0));
    expect(fb.accessSnapshotMissing()).toBe(true);
    await fb.close();
    // And after a restart of the follower (nothing applied in this run): its directory says so.
    const again = await Follower.open({ dataDir: B, sync: true });
    expect(again.accessSnapshotMissing()).toBe(true);
    await again.close();
    fs.rmSync(path.join(B, HA_DIR), { recursive: true });

    const access: AccessReplication = { snapshot: () => Promise.resolve(), vhostRemoved: () => Promise.resolve(), snapshotLost: true };
    const refused = await startBroker({ port: 0, dataDir: B, logLevel: 'error', accessReplication: access }).then(
      (r) => {
        running.push(r);
        return null;
      },
      (err: unknown) => err as Error,
    );
    expect(refused?.message).toMatch(/access snapshot \(users, permissions\) never reached this node/);
    expect(fs.existsSync(path.join(B, ACCESS_FILE))).toBe(false);
  });

  it('wiping a directory (a fenced or failed turn) removes its access snapshot with the rest', async () => {
    const D = tmp('wipe');
    const log = new MemoryLog(systemClock);
    const { r } = await leader(D, log);
    await r.close();
    fs.writeFileSync(path.join(D, `${ACCESS_FILE}.tmp`), 'half a save');
    fs.mkdirSync(path.join(D, HA_DIR));
    expect(fs.existsSync(path.join(D, ACCESS_FILE))).toBe(true);
    const node = new HaNode({ nats: [], group: 'p' }, D, systemClock, createRootLogger('silent'));
    await node.wipe();
    expect(fs.readdirSync(D).filter((f) => [ACCESS_FILE, `${ACCESS_FILE}.tmp`, HA_DIR, 'vhosts'].includes(f))).toEqual([]);
  });
});
