// A leader's definition replies wait for the replicated log, not only for its own fsync: with the
// in-memory log holding every append (its append delay, on a manual clock), queue.declare-ok,
// exchange.declare-ok, queue.bind-ok and the management API's PUT stay unanswered after the local
// fsync, and come once the appends are acked. A leader fenced before the ack never answers: the
// connection closes with 541, and the store takes no more changes; a tx.commit whose messages'
// append meets the same fate gets no commit-ok either. And the store on its own:
// whenDurable waits for the replication of the ops recorded before it, only those, and fails with it.

import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as amqplib from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLog } from '../../src/ha/memory-log.js';
import { groupSubjects } from '../../src/ha/replicated-log.js';
import { accessReplication, Replicator, type ReplicatorContext } from '../../src/ha/replicator.js';
import { FencedError, Sequencer } from '../../src/ha/sequencer.js';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';
import { DefinitionsStore } from '../../src/store/definitions-store.js';
import * as M from '../../src/protocol/generated/amqp.js';
import { ManualClock } from '../../src/util/clock.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from './ha-group.js';

const subjects = groupSubjects('dw');
const dirs: string[] = [];
const running: RunningBroker[] = [];
const conns: amqplib.ChannelModel[] = [];

function tmp(tag: string): string {
  const d = fs.mkdtempSync(path.join(tmpdir(), `warren-ha-${tag}-`));
  dirs.push(d);
  return d;
}

afterEach(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => undefined);
  for (const r of running.splice(0)) await r.close().catch(() => undefined);
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

interface Leader {
  r: RunningBroker;
  log: MemoryLog;
  clock: ManualClock;
  defs: DefinitionsStore;
  failures: Error[];
}

/** A broker leading through an in-memory log, wired as a promotion wires it; its appends' delays run on `clock`. */
async function leader(extra: StartOptions = {}): Promise<Leader> {
  const clock = new ManualClock();
  const log = new MemoryLog(clock);
  const failures: Error[] = [];
  const handle = log.handle();
  const sequencer = new Sequencer({ log: handle, clock, node: 'a', epoch: 1, base: log.lastSeq, window: 3, onFenced: (e) => failures.push(e) });
  const ctx: ReplicatorContext = { sequencer, log: handle, subjects, dataDir: tmp('leader'), maxPayload: 1024 * 1024, onFailed: (e) => failures.push(e) };
  const r = await startBroker({ port: 0, dataDir: ctx.dataDir, logLevel: 'silent', ...extra, replication: (dir) => Replicator.forVhost(ctx, dir), accessReplication: accessReplication(ctx) });
  running.push(r);
  const store = r.broker.vhosts.get('/')?.store;
  if (store === null || store === undefined) throw new Error('no store for /');
  return { r, log, clock, defs: store.definitions, failures };
}

async function connect(port: number): Promise<amqplib.ChannelModel> {
  const c = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${port}`);
  conns.push(c);
  return c;
}

const defsFrames = (log: MemoryLog): number => log.all().filter((e) => e.subject === subjects.defs).length;

/**
 * Starts `op` with every append held; once its change is fsynced locally and its append waits,
 * checks the reply has not come (`probe` is a round trip the reply would have come before), then
 * releases the appends and returns the reply.
 */
async function heldUntilAcked<T>(l: Leader, op: () => Promise<T>, probe: () => Promise<unknown>): Promise<T> {
  const syncs = l.defs.stats().syncs;
  const frames = defsFrames(l.log);
  l.log.appendDelayMs = 1_000;
  let answered = false;
  const reply = op().then((v) => {
    answered = true;
    return v;
  });
  await until('the local fsync, with the append waiting', () => l.defs.stats().syncs > syncs && l.clock.pending > 0);
  await probe();
  expect(answered).toBe(false);
  expect(defsFrames(l.log)).toBe(frames);
  l.log.appendDelayMs = 0;
  l.clock.advance(1_000);
  const v = await reply;
  expect(defsFrames(l.log)).toBeGreaterThan(frames);
  return v;
}

describe('definition replies wait for the replicated log', () => {
  it('queue.declare-ok, exchange.declare-ok and queue.bind-ok come only once the DEFS appends are acked', async () => {
    const l = await leader();
    const c = await connect(l.r.port);
    const ch = await c.createChannel();
    // Replies on another channel are not held: one is a round trip behind which a held reply would have come.
    const other = await c.createChannel();
    const probe = (): Promise<unknown> => other.prefetch(1);
    expect((await heldUntilAcked(l, () => ch.assertQueue('orders', { durable: true }), probe)).queue).toBe('orders');
    await heldUntilAcked(l, () => ch.assertExchange('in', 'direct', { durable: true }), probe);
    await heldUntilAcked(l, () => ch.bindQueue('orders', 'in', 'k'), probe);
    // Nothing held when nothing changed: a passive declare answers with the appends still held.
    l.log.appendDelayMs = 1_000;
    expect((await ch.checkQueue('orders')).queue).toBe('orders');
    l.log.appendDelayMs = 0;
    expect(l.failures).toEqual([]);
  });

  it('the management API answers a queue PUT only once its DEFS append is acked', async () => {
    const l = await leader({ managementPort: 0 });
    const base = `http://127.0.0.1:${String(l.r.managementPort)}`;
    const authorization = `Basic ${Buffer.from('guest:guest').toString('base64')}`;
    const res = await heldUntilAcked(
      l,
      () => fetch(`${base}/api/queues/%2F/api-q`, { method: 'PUT', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ durable: true }) }),
      () => fetch(`${base}/api/overview`, { headers: { authorization } }).then((r) => r.text()),
    );
    expect(res.status).toBe(201);
    expect(l.failures).toEqual([]);
  });

  it('a leader fenced before the ack never sends declare-ok: the connection closes with 541 and the store takes no more changes', async () => {
    const l = await leader();
    const c = await connect(l.r.port);
    const closed = new Promise<Error | undefined>((resolve) => c.on('close', (e?: Error) => resolve(e)));
    c.on('error', () => undefined);
    const ch = await c.createChannel();
    ch.on('error', () => undefined);
    const syncs = l.defs.stats().syncs;
    l.log.appendDelayMs = 1_000;
    const reply = ch.assertQueue('lost', { durable: true }).then(
      () => 'declare-ok' as const,
      () => 'no reply' as const,
    );
    await until('the local fsync, with the append waiting', () => l.defs.stats().syncs > syncs && l.clock.pending > 0);
    // A rival leader's barrier goes in first: the held append meets it and this node is fenced.
    l.log.appendForeign(subjects.ctl, new Uint8Array([1]));
    l.clock.advance(1_000);
    expect(await Promise.race([reply, closed.then(() => 'closed' as const)])).not.toBe('declare-ok');
    expect(await reply).toBe('no reply');
    expect(String(await closed)).toMatch(/541/);
    expect(l.failures[0]).toBeInstanceOf(FencedError);
    expect(() => l.defs.putQueue({ vhost: '/', name: 'later', autoDelete: false, exclusive: false, arguments: Buffer.alloc(0) })).toThrow(FencedError);
    const waited = await new Promise<Error | null>((resolve) => l.defs.whenDurable(resolve));
    expect(waited).toBeInstanceOf(FencedError);
  });

  it('a leader fenced before its messages are acked never sends tx.commit-ok: the connection closes with 541', async () => {
    const l = await leader();
    const c = await RawClient.open(l.r.port);
    await c.openChannel(1);
    await c.call(1, { id: M.QUEUE_DECLARE, ticket: 0, queue: 'tx-lost', passive: false, durable: true, exclusive: false, autoDelete: false, nowait: false, arguments: {} }, M.QUEUE_DECLARE_OK);
    await c.call(1, { id: M.TX_SELECT }, M.TX_SELECT_OK);
    l.log.appendDelayMs = 1_000;
    c.publish(1, '', 'tx-lost', Buffer.from('m'), { deliveryMode: 2 });
    c.sendMethod(1, { id: M.TX_COMMIT });
    await until('the message batch appended and held', () => l.clock.pending > 0);
    // A rival leader's barrier goes in first: the held append meets it and this node is fenced.
    l.log.appendForeign(subjects.ctl, new Uint8Array([1]));
    l.clock.advance(1_000);
    // Up to the connection's close (a connection.blocked may come first: the failed store is an
    // alarm), and never tx.commit-ok.
    const seen: string[] = [];
    let close: M.ConnectionClose | null = null;
    while (close === null) {
      const { method } = await c.nextMethod(5_000);
      seen.push(M.METHOD_INFO.get(method.id)?.name ?? String(method.id));
      if (method.id === M.CONNECTION_CLOSE) close = method;
    }
    expect(seen).not.toContain('tx.commit-ok');
    expect(close.replyCode).toBe(541);
    expect(l.failures[0]).toBeInstanceOf(FencedError);
    await c.close();
  });
});

describe('DefinitionsStore.whenDurable with replication', () => {
  const queue = (name: string): { vhost: string; name: string; autoDelete: boolean; exclusive: boolean; arguments: Buffer } => ({ vhost: '/', name, autoDelete: false, exclusive: false, arguments: Buffer.alloc(0) });

  /** A store whose replication acks (or fails) each op when the test says so. */
  function store(): { s: DefinitionsStore; acks: { resolve: () => void; reject: (e: Error) => void }[] } {
    const acks: { resolve: () => void; reject: (e: Error) => void }[] = [];
    const s = new DefinitionsStore({
      dir: path.join(tmp('store'), 'definitions'),
      onRecord: () => new Promise<void>((resolve, reject) => acks.push({ resolve, reject })),
    });
    return { s, acks };
  }

  const durable = (s: DefinitionsStore): { result: () => Error | null | 'pending' } => {
    let result: Error | null | 'pending' = 'pending';
    s.whenDurable((err) => (result = err));
    return { result: () => result };
  };

  it('answers once the ops before the call are acked, not waiting for later ones', async () => {
    const { s, acks } = store();
    await s.open();
    s.putQueue(queue('a'));
    s.putQueue(queue('b'));
    const first = durable(s);
    s.putQueue(queue('c'));
    const second = durable(s);
    await until('the fsync', () => s.stats().syncs > 0);
    await new Promise((r) => setImmediate(r));
    expect(first.result()).toBe('pending');
    // Acks come in log order: the second op's ack covers the first.
    (acks[0] as { resolve: () => void }).resolve();
    (acks[1] as { resolve: () => void }).resolve();
    await until('the first waiter', () => first.result() !== 'pending');
    expect(first.result()).toBeNull();
    expect(second.result()).toBe('pending');
    (acks[2] as { resolve: () => void }).resolve();
    await until('the second waiter', () => second.result() !== 'pending');
    expect(second.result()).toBeNull();
    await s.close();
  });

  it('a failed replication fails the waiters and every later change', async () => {
    const { s, acks } = store();
    await s.open();
    s.putQueue(queue('a'));
    const w = durable(s);
    const boom = new Error('append refused');
    (acks[0] as { reject: (e: Error) => void }).reject(boom);
    await until('the waiter', () => w.result() !== 'pending');
    expect(w.result()).toBe(boom);
    expect(() => s.putQueue(queue('b'))).toThrow(boom);
    await s.close();
  });
});
