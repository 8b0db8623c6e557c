// The JetStream ReplicatedLog against a real 3-node nats-server cluster on loopback: CAS appends,
// idempotent retries, reads across purges, and frames at the size limit.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamLog, versionAtLeast } from '../../src/ha/jetstream-log.js';
import { freePort } from '../helpers/free-port.js';
import { groupSubjects, WrongLastSequenceError, type LogEntry } from '../../src/ha/replicated-log.js';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { decodeFrame, encodeSegment, FrameType, splitSegment } from '../../src/ha/frames.js';
import { Follower } from '../../src/ha/follower.js';
import { Sequencer } from '../../src/ha/sequencer.js';
import { systemClock } from '../../src/util/clock.js';
import { startNatsCluster, type NatsCluster } from './nats-cluster.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

let cluster: NatsCluster;

beforeAll(async () => {
  cluster = await startNatsCluster(3);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

/** Opens the log, retrying while the cluster's meta leader is still being elected. */
async function openLog(group: string): Promise<JetStreamLog> {
  const until = performance.now() + 45_000;
  for (;;) {
    try {
      return await JetStreamLog.open({ servers: cluster.urls.split(','), subjects: groupSubjects(group), replicas: 3, appendTimeoutMs: 5_000, clock: systemClock, name: `test-${group}` });
    } catch (err) {
      if (performance.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Reads from `from` until `count` entries came (a read answers with what has arrived so far). */
async function readN(log: JetStreamLog, from: number, count: number): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  let next = from;
  const until = performance.now() + 20_000;
  while (out.length < count && performance.now() < until) {
    const got = await log.read(next, count - out.length, 1_000);
    out.push(...got);
    const last = got[got.length - 1];
    if (last !== undefined) next = last.seq + 1;
  }
  return out;
}

describe('JetStreamLog on a 3-node cluster', () => {
  it('connects to the node that leads the stream (an append there crosses no extra route)', async () => {
    const first = await openLog('t-lead');
    await first.close();
    // Several opens: a connection to a random node would land on the leader one time in three.
    for (let i = 0; i < 4; i++) {
      const log = await openLog('t-lead');
      try {
        const leader = await log.streamLeader();
        expect(leader).toMatch(/./);
        expect(log.server).toBe(leader);
      } finally {
        await log.close();
      }
    }
  });

  it('purges only when every given node answered with 2.9.21 or later (one older or silent node is enough to lose data)', async () => {
    const log = await openLog('versions');
    try {
      // The cluster here is Debian's 2.9.x: every node reports its version, and none purges safely.
      expect(log.serverVersions).toHaveLength(3);
      for (const v of log.serverVersions) expect(v).toMatch(/^\d+\.\d+\.\d+/);
      expect(log.purgesSafe).toBe(log.serverVersions.every((v) => versionAtLeast(v, [2, 9, 21])));
    } finally {
      await log.close();
    }
    // A node that does not answer (nothing listens on the port) counts as unsafe.
    const silent = `nats://127.0.0.1:${await freePort()}`;
    const withSilent = await JetStreamLog.open({ servers: [...cluster.urls.split(','), silent], subjects: groupSubjects('versions'), replicas: 3, appendTimeoutMs: 5_000, clock: systemClock, name: 'test-versions-silent' });
    try {
      expect(withSilent.serverVersions[3]).toBe('unreachable');
      expect(withSilent.purgesSafe).toBe(false);
    } finally {
      await withSilent.close();
    }
  });

  it('appends only on the expected last sequence, dedups retries, reads in order, purges a subject', async () => {
    const s = groupSubjects('t1');
    const log = await openLog('t1');
    try {
      expect(await log.lastSequence()).toBe(0);
      const a = await log.append(s.seg('a'), Buffer.from('one'), { expectedLastSeq: 0, msgId: '1-1' });
      const b = await log.append(s.seg('b'), Buffer.from('two'), { expectedLastSeq: a, msgId: '1-2' });
      expect([a, b]).toEqual([1, 2]);
      // A retry of the second append (same id) answers with its sequence, not a second copy.
      expect(await log.append(s.seg('b'), Buffer.from('two'), { expectedLastSeq: a, msgId: '1-2' })).toBe(2);
      // A rival with a stale view is fenced.
      await expect(log.append(s.ctl, Buffer.from('rival'), { expectedLastSeq: 1, msgId: '2-2' })).rejects.toBeInstanceOf(WrongLastSequenceError);
      // Pipelined: three appends in flight with consecutive expectations all land.
      const piped = await Promise.all([3, 4, 5].map((n) => log.append(s.seg('a'), Buffer.from(`p${n}`), { expectedLastSeq: n - 1, msgId: `1-${n}` })));
      expect(piped).toEqual([3, 4, 5]);
      // The sequence matches but the last entry is not the one named: refused (nats-server 2.9 checks both).
      await expect(log.append(s.seg('b'), Buffer.from('x'), { expectedLastSeq: 5, msgId: '1-6', expectedLastMsgId: '1-4' })).rejects.toBeInstanceOf(WrongLastSequenceError);
      const all = await readN(log, 1, 5);
      expect(all.map((e) => [e.seq, Buffer.from(e.data).toString()])).toEqual([[1, 'one'], [2, 'two'], [3, 'p3'], [4, 'p4'], [5, 'p5']]);
      expect(await log.append(s.seg('b'), Buffer.from('six'), { expectedLastSeq: 5, msgId: '1-6', expectedLastMsgId: '1-5' })).toBe(6);
      await log.purgeSubject(s.seg('a'));
      expect(await log.lastSequence()).toBe(6);
      const left = await readN(log, 1, 2);
      expect(left.map((e) => e.seq)).toEqual([2, 6]);
      // Nothing new: an empty answer after the wait.
      expect(await log.read(7, 100, 300)).toEqual([]);
    } finally {
      await log.close();
    }
  }, 90_000);

  it('carries frames split at max_payload minus the headroom (8 MB configured)', async () => {
    const s = groupSubjects('t2');
    const log = await openLog('t2');
    try {
      expect(log.maxPayload).toBe(8 * 1024 * 1024);
      const bytes = Buffer.alloc(20 * 1024 * 1024);
      for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i % 251;
      const frames = splitSegment('vhosts/x/messages/000000000001.seg', 100, bytes, log.maxPayload);
      expect(frames.length).toBe(3);
      let last = 0;
      for (const [i, f] of frames.entries()) last = await log.append(s.seg('x'), f, { expectedLastSeq: last, msgId: `1-${i + 1}` });
      const back = await readN(log, 1, 3);
      const out = Buffer.alloc(bytes.length);
      for (const e of back) {
        const f = decodeFrame(e.data);
        if (f.type !== FrameType.Segment) throw new Error('not a segment frame');
        out.set(f.bytes, f.position - 100);
      }
      expect(back.length).toBe(3);
      expect(out.equals(bytes)).toBe(true);
    } finally {
      await log.close();
    }
  }, 90_000);

  it('trims a subject keeping the latest entries (purge with filter and keep on 2.9)', async () => {
    const s = groupSubjects('t3');
    const log = await openLog('t3');
    try {
      let last = 0;
      for (let i = 1; i <= 5; i++) last = await log.append(s.hb, Buffer.from(`hb${i}`), { expectedLastSeq: last, msgId: `1-${i}` });
      await log.purgeSubject(s.hb, { keep: 1 });
      const left = await readN(log, 1, 1);
      expect(left.map((e) => [e.seq, Buffer.from(e.data).toString()])).toEqual([[5, 'hb5']]);
      expect(await log.lastSequence()).toBe(5);
    } finally {
      await log.close();
    }
  }, 90_000);

  it('purges a subject only below a sequence (filter with seq on 2.9): entries after it on the same subject stay', async () => {
    const s = groupSubjects('t5');
    const log = await openLog('t5');
    try {
      let last = 0;
      // a1 a2 DELETE(3) a4 a5: what a segment deleted and written again under its name leaves.
      for (const [i, subj] of [s.seg('a'), s.seg('a'), s.ctl, s.seg('a'), s.seg('b')].entries()) {
        last = await log.append(subj, Buffer.from(`e${i + 1}`), { expectedLastSeq: last, msgId: `1-${i + 1}` });
      }
      await log.purgeSubject(s.seg('a'), { upToSeq: 3 });
      // A bound below the first sequence removes nothing (seq 0 would mean "no bound" to the engine).
      await log.purgeSubject(s.seg('b'), { upToSeq: 0 });
      const left = await readN(log, 1, 3);
      expect(left.map((e) => [e.seq, Buffer.from(e.data).toString()])).toEqual([[3, 'e3'], [4, 'e4'], [5, 'e5']]);
      expect(await log.lastSequence()).toBe(5);
    } finally {
      await log.close();
    }
  }, 90_000);

  it('names the stream by its name and creation: every handle agrees; the stream deleted and made again is another', async () => {
    const log = await openLog('t6');
    const again = await openLog('t6');
    try {
      const id = await log.identity();
      expect(id).toContain('WLOG_t6');
      expect(await again.identity()).toBe(id);
      const nc = await connect({ servers: cluster.urls.split(',') });
      try {
        await (await jetstreamManager(nc)).streams.delete('WLOG_t6');
      } finally {
        await nc.close();
      }
      const made = await openLog('t6');
      try {
        const id2 = await made.identity();
        expect(id2).toContain('WLOG_t6');
        expect(id2).not.toBe(id);
      } finally {
        await made.close();
      }
    } finally {
      await log.close();
      await again.close();
    }
  }, 90_000);

  it('a follower started cold against a large stream catches up', async () => {
    const s = groupSubjects('t4');
    const log = await openLog('t4');
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'warren-ha-cold-'));
    try {
      const fenced: Error[] = [];
      const seq = new Sequencer({ log, clock: systemClock, node: 'w', epoch: 1, base: 0, window: 3, onFenced: (e) => fenced.push(e) });
      const chunk = Buffer.alloc(256 * 1024);
      const file = 'vhosts/0123/messages/000000000001.seg';
      const frames = 80;
      const appends: Promise<number>[] = [];
      for (let i = 0; i < frames; i++) {
        chunk.fill(i);
        appends.push(seq.append(s.seg('cold'), encodeSegment(file, i * chunk.length, chunk)));
      }
      await Promise.all(appends);
      expect(fenced).toEqual([]);
      const last = await log.lastSequence();
      expect(last).toBe(frames);
      const f = await Follower.open({ dataDir: dir, sync: true });
      const t0 = performance.now();
      while (f.applied < last && performance.now() - t0 < 60_000) await f.apply(await log.read(f.applied + 1, 64, 1_000));
      const ms = performance.now() - t0;
      await f.close();
      expect(f.applied).toBe(last);
      const out = fs.readFileSync(path.join(dir, file));
      expect(out.length).toBe(frames * chunk.length);
      for (let i = 0; i < frames; i++) expect(out[i * chunk.length + 1000]).toBe(i);
      console.log(`cold follower: ${(out.length / 1048576).toFixed(0)} MiB in ${Math.round(ms)} ms`);
    } finally {
      await log.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
