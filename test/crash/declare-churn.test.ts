// Durable definitions survive SIGKILL: every exchange, queue and binding whose declare-ok /
// bind-ok was received exists after a restart, and every one whose delete-ok / unbind-ok was
// received stays gone.
//
// Clients declare, bind, unbind and delete durable objects in a loop (awaiting every reply) while
// another client redeclares the objects they are creating; the broker child is SIGKILLed at a
// random instant. After the restart: passive declares for objects, and for bindings a marker is
// published through the binding and must come out of the queue (or, for exchange-to-exchange
// bindings, out of a fresh queue bound to the destination exchange).

import { describe, expect, it } from 'vitest';
import type * as amqplib from 'amqplib';
import {
  channel,
  type ChildBroker,
  closeAllConnections,
  confirmChannel,
  connect,
  drainQueues,
  killAllChildren,
  random,
  randInt,
  sleep,
  startChild,
  tempDataDir,
  useCrashHarness,
} from './harness.js';

useCrashHarness();

const TYPES = ['direct', 'topic', 'fanout', 'headers'] as const;
type ExType = (typeof TYPES)[number];

interface Binding {
  kind: 'queue' | 'exchange';
  source: string;
  dest: string;
  key: string;
}

/** Headers exchanges get a binding that matches the header `hk` equal to the key. */
const bindArgs = (sourceType: ExType, key: string): Record<string, unknown> =>
  sourceType === 'headers' ? { 'x-match': 'all', hk: key } : {};

const pick = <T>(xs: readonly T[]): T | undefined => (xs.length === 0 ? undefined : xs[randInt(0, xs.length - 1)]);

/** A request whose outcome is unknown until its reply arrives. Declares and binds need no entry:
 * their objects join the model only once acknowledged. */
type InFlight = { op: 'unbind'; b: Binding } | { op: 'deleteQueue' | 'deleteExchange'; name: string };

/** What the clients were told, across rounds. */
class Defs {
  readonly exchanges = new Map<string, ExType>();
  readonly queues = new Set<string>();
  readonly bindings = new Map<string, Binding>();
  readonly deletedExchanges = new Set<string>();
  readonly deletedQueues = new Set<string>();
  /** Direct queue bindings whose unbind-ok was received. */
  readonly unbound: Binding[] = [];
  /** Requests still waiting for their reply when the broker died: resolved after the restart. */
  readonly inFlight = new Set<InFlight>();
  /** Types of exchanges whose declare was sent (for the redeclaring client). */
  readonly sentExchanges = new Map<string, ExType>();
  readonly sentQueues: string[] = [];
  /** Redeclared by the redeclaring client: never deleted. */
  readonly claimed = new Set<string>();
  /** A delete was sent: never redeclared. */
  readonly deleting = new Set<string>();
  oks = 0;

  static bindingId(b: Binding): string {
    return `${b.kind}|${b.source}|${b.dest}|${b.key}`;
  }

  dropExchange(name: string): void {
    this.exchanges.delete(name);
    this.deletedExchanges.add(name);
    for (const [id, b] of this.bindings) if (b.source === name || (b.kind === 'exchange' && b.dest === name)) this.bindings.delete(id);
  }

  dropQueue(name: string): void {
    this.queues.delete(name);
    this.deletedQueues.add(name);
    for (const [id, b] of this.bindings) if (b.kind === 'queue' && b.dest === name) this.bindings.delete(id);
  }
}

/** One client: random declare/bind/unbind/delete operations, each awaited, until the broker dies. */
async function churn(url: string, defs: Defs, prefix: string, dead: () => boolean, ready: () => void): Promise<void> {
  const conn = await connect(url);
  const ch = await channel(conn);
  ready();
  let n = 0;
  while (!dead()) {
    n++;
    const roll = random();
    const mine = [...defs.exchanges.keys()].filter((x) => x.startsWith(prefix));
    const myQueues = [...defs.queues].filter((q) => q.startsWith(prefix));
    let inFlight: InFlight | null = null;
    let apply: () => void;
    let op: () => Promise<unknown>;
    const x = pick(mine);
    const q = pick(myQueues);
    if (roll < 0.2 || x === undefined) {
      const name = `${prefix}.x${n}`;
      const type = TYPES[n % TYPES.length] as ExType;
      defs.sentExchanges.set(name, type);
      op = () => ch.assertExchange(name, type, { durable: true });
      apply = () => defs.exchanges.set(name, type);
    } else if (roll < 0.4 || q === undefined) {
      const name = `${prefix}.q${n}`;
      defs.sentQueues.push(name);
      op = () => ch.assertQueue(name, { durable: true });
      apply = () => defs.queues.add(name);
    } else if (roll < 0.65) {
      const key = `${prefix}.k${n}`;
      const b: Binding = { kind: 'queue', source: x, dest: q, key };
      op = () => ch.bindQueue(q, x, key, bindArgs(defs.exchanges.get(x) as ExType, key));
      apply = () => defs.bindings.set(Defs.bindingId(b), b);
    } else if (roll < 0.8) {
      const dest = pick(mine.filter((d) => d !== x));
      if (dest === undefined) continue;
      const key = `${prefix}.k${n}`;
      const b: Binding = { kind: 'exchange', source: x, dest, key };
      op = () => ch.bindExchange(dest, x, key, bindArgs(defs.exchanges.get(x) as ExType, key));
      apply = () => defs.bindings.set(Defs.bindingId(b), b);
    } else if (roll < 0.88) {
      const b = pick([...defs.bindings.values()].filter((c) => c.kind === 'queue' && c.key.startsWith(prefix) && defs.exchanges.get(c.source) === 'direct'));
      if (b === undefined) continue;
      inFlight = { op: 'unbind', b };
      op = () => ch.unbindQueue(b.dest, b.source, b.key, {});
      apply = () => {
        defs.bindings.delete(Defs.bindingId(b));
        defs.unbound.push(b);
      };
    } else if (roll < 0.94) {
      if (defs.claimed.has(q)) continue;
      defs.deleting.add(q);
      inFlight = { op: 'deleteQueue', name: q };
      op = () => ch.deleteQueue(q);
      apply = () => defs.dropQueue(q);
    } else {
      if (defs.claimed.has(x)) continue;
      defs.deleting.add(x);
      inFlight = { op: 'deleteExchange', name: x };
      op = () => ch.deleteExchange(x);
      apply = () => defs.dropExchange(x);
    }
    if (inFlight !== null) defs.inFlight.add(inFlight);
    try {
      await op();
    } catch (err) {
      if (dead()) return;
      // A channel error here would be a broker bug; surface it.
      throw err;
    }
    if (inFlight !== null) defs.inFlight.delete(inFlight);
    apply();
    defs.oks++;
  }
}

/** Redeclares, with the same arguments, whatever the churn clients have just sent a declare for. */
async function redeclarer(url: string, defs: Defs, dead: () => boolean, ready: () => void): Promise<void> {
  const conn = await connect(url);
  const ch = await channel(conn);
  ready();
  let xi = defs.sentExchanges.size;
  let qi = defs.sentQueues.length;
  while (!dead()) {
    let op: (() => Promise<unknown>) | null = null;
    let name = '';
    let apply: () => void = () => undefined;
    const xs = [...defs.sentExchanges];
    if (xs.length > xi) {
      const [x, type] = xs[xs.length - 1] as [string, ExType];
      xi = xs.length;
      name = x;
      op = () => ch.assertExchange(x, type, { durable: true });
      apply = () => defs.exchanges.set(x, type);
    } else if (defs.sentQueues.length > qi) {
      const q = defs.sentQueues[defs.sentQueues.length - 1] as string;
      qi = defs.sentQueues.length;
      name = q;
      op = () => ch.assertQueue(q, { durable: true });
      apply = () => defs.queues.add(q);
    }
    if (op === null || defs.deleting.has(name)) {
      await new Promise((r) => setImmediate(r));
      continue;
    }
    // From now on the churn clients leave this object alone.
    defs.claimed.add(name);
    try {
      await op();
    } catch (err) {
      if (dead()) return;
      throw err;
    }
    apply();
    defs.oks++;
  }
}

async function exists(conn: amqplib.ChannelModel, kind: 'exchange' | 'queue', name: string): Promise<boolean> {
  const ch = await channel(conn);
  try {
    if (kind === 'queue') await ch.checkQueue(name);
    else await ch.checkExchange(name);
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  }
  await ch.close();
  return true;
}

interface DefsCheck {
  missing: string[];
  resurrected: string[];
  bindingsChecked: number;
}

async function verifyDefs(broker: ChildBroker, defs: Defs): Promise<DefsCheck> {
  const res: DefsCheck = { missing: [], resurrected: [], bindingsChecked: 0 };
  const conn = await connect(broker.url);
  // A delete or unbind that got no reply may or may not have happened: look, and believe it.
  for (const f of defs.inFlight) {
    if (f.op === 'unbind') defs.bindings.delete(Defs.bindingId(f.b));
    else if (f.op === 'deleteQueue' && !(await exists(conn, 'queue', f.name))) defs.dropQueue(f.name);
    else if (f.op === 'deleteExchange' && !(await exists(conn, 'exchange', f.name))) defs.dropExchange(f.name);
  }
  defs.inFlight.clear();
  for (const [x] of defs.exchanges) if (!(await exists(conn, 'exchange', x))) res.missing.push(`exchange ${x}`);
  for (const q of defs.queues) if (!(await exists(conn, 'queue', q))) res.missing.push(`queue ${q}`);
  for (const x of defs.deletedExchanges) if (await exists(conn, 'exchange', x)) res.resurrected.push(`exchange ${x}`);
  for (const q of defs.deletedQueues) if (await exists(conn, 'queue', q)) res.resurrected.push(`queue ${q}`);

  // Bindings: publish a marker through each and look for it.
  const pub = await confirmChannel(conn);
  const get = await channel(conn);
  const want = new Map<string, string[]>(); // queue -> markers that must be there
  const mustNot = new Map<string, string[]>(); // queue -> markers that must not be there
  const add = (m: Map<string, string[]>, q: string, marker: string): void => {
    const l = m.get(q) ?? [];
    l.push(marker);
    m.set(q, l);
  };
  const send = (exchange: string, key: string, marker: string): void => {
    pub.publish(exchange, key, Buffer.from(marker), { persistent: true, headers: { hk: key } });
  };
  for (const b of defs.bindings.values()) {
    if (!defs.exchanges.has(b.source) || (b.kind === 'queue' ? !defs.queues.has(b.dest) : !defs.exchanges.has(b.dest))) continue;
    res.bindingsChecked++;
    const marker = `via ${Defs.bindingId(b)}`;
    if (b.kind === 'queue') {
      add(want, b.dest, marker);
    } else {
      // Observe the destination exchange through a fresh queue bound so that the marker matches.
      const { queue } = await get.assertQueue('', { exclusive: true, durable: false });
      const destType = defs.exchanges.get(b.dest) as ExType;
      await get.bindQueue(queue, b.dest, b.key, bindArgs(destType, b.key));
      add(want, queue, marker);
    }
    send(b.source, b.key, marker);
  }
  for (const b of defs.unbound) {
    if (!defs.exchanges.has(b.source) || !defs.queues.has(b.dest)) continue;
    const marker = `unbound ${Defs.bindingId(b)}`;
    add(mustNot, b.dest, marker);
    send(b.source, b.key, marker);
  }
  await pub.waitForConfirms();
  const toDrain: string[] = [];
  for (const q of new Set([...want.keys(), ...mustNot.keys()])) {
    if (!res.missing.includes(`queue ${q}`)) toDrain.push(q);
    else for (const marker of want.get(q) ?? []) res.missing.push(`binding ${marker} (queue ${q})`);
  }
  const drained = await drainQueues(get, toDrain);
  for (const q of toDrain) {
    const got = new Set((drained.get(q) ?? []).map((m) => m.body.toString()));
    for (const marker of want.get(q) ?? []) if (!got.has(marker)) res.missing.push(`binding ${marker} (queue ${q})`);
    for (const marker of mustNot.get(q) ?? []) if (got.has(marker)) res.resurrected.push(`binding ${marker} (queue ${q})`);
  }
  await conn.close();
  return res;
}

describe('SIGKILL during declare/bind churn', () => {
  it('keeps every acknowledged durable definition (4 random kills)', { timeout: 30_000 }, async () => {
    const dir = tempDataDir('defs');
    const defs = new Defs();
    const ROUNDS = 4;
    const failures: string[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const broker = await startChild(dir);
      if (round > 0) {
        const c = await verifyDefs(broker, defs);
        console.log(
          `[crash/defs] after kill ${round}: exchanges=${defs.exchanges.size} queues=${defs.queues.size} ` +
            `bindingsChecked=${c.bindingsChecked} deleted=${defs.deletedExchanges.size + defs.deletedQueues.size} ` +
            `missing=${c.missing.length} resurrected=${c.resurrected.length}`,
        );
        if (c.missing.length + c.resurrected.length > 0) console.log(`[crash/defs]   ${[...c.missing, ...c.resurrected].slice(0, 10).join('; ')}`);
        failures.push(...c.missing.map((m) => `kill ${round}: missing ${m}`), ...c.resurrected.map((m) => `kill ${round}: resurrected ${m}`));
        // Forget what was lost so the next rounds judge only their own work.
        for (const m of c.missing) {
          const [, kind, name] = /^(exchange|queue) (\S+)$/.exec(m) ?? [];
          if (kind === 'exchange' && name !== undefined) defs.dropExchange(name);
          if (kind === 'queue' && name !== undefined) defs.dropQueue(name);
        }
        if (c.missing.some((m) => m.startsWith('binding'))) {
          for (const m of c.missing) {
            const id = /^binding via (\S+) /.exec(m)?.[1];
            if (id !== undefined) defs.bindings.delete(id);
          }
        }
        defs.deletedExchanges.clear();
        defs.deletedQueues.clear();
        defs.unbound.length = 0;
      }
      if (round === ROUNDS) break;
      let isDead = false;
      const dead = (): boolean => isDead;
      const okBefore = defs.oks;
      let readyCount = 0;
      let allReady!: () => void;
      const started = new Promise<void>((r) => (allReady = r));
      const ready = (): void => {
        if (++readyCount === 3) allReady();
      };
      const workers = [
        churn(broker.url, defs, `r${round}.a`, dead, ready),
        churn(broker.url, defs, `r${round}.b`, dead, ready),
        redeclarer(broker.url, defs, dead, ready),
      ];
      const settled = Promise.allSettled(workers);
      await Promise.race([started, settled]);
      const killAfter = randInt(10, 400);
      await sleep(killAfter);
      isDead = true;
      await broker.kill();
      for (const r of await settled) if (r.status === 'rejected') failures.push(`round ${round}: client error ${String(r.reason)}`);
      await closeAllConnections();
      console.log(`[crash/defs] round ${round}: killed at ${killAfter} ms after ${defs.oks - okBefore} acknowledged operations`);
    }
    await killAllChildren();
    expect(defs.oks).toBeGreaterThan(0);
    expect(failures, 'acknowledged definitions lost or undone by a crash').toEqual([]);
  });
});

describe('declare-ok while the definitions log is busy', () => {
  // Another connection keeps the definitions log writing (durable exchange declares on four
  // channels); a durable queue is declared and the broker is SIGKILLed the moment its
  // declare-ok arrives. A declare-ok must only be sent once the queue is on disk.
  it('a durable queue whose declare-ok arrived exists after SIGKILL (6 attempts)', { timeout: 20_000 }, async () => {
    const dir = tempDataDir('declare-ok');
    const lost: string[] = [];
    const ATTEMPTS = 6;
    for (let i = 0; i < ATTEMPTS; i++) {
      const broker = await startChild(dir);
      const busy = await connect(broker.url);
      const chans = await Promise.all([0, 1, 2, 3].map(() => channel(busy)));
      let killing = false;
      const background = chans.map(async (ch, k) => {
        for (let n = 0; !killing; n++) {
          try {
            await ch.assertExchange(`busy.${i}.${k}.${n}`, 'direct', { durable: true });
          } catch {
            return;
          }
        }
      });
      const conn = await connect(broker.url);
      const ch = await channel(conn);
      await sleep(randInt(20, 60));
      const name = `declared.${i}`;
      await ch.assertQueue(name, { durable: true });
      killing = true;
      await broker.kill();
      await Promise.all(background);
      await closeAllConnections();

      const after = await startChild(dir);
      const c = await connect(after.url);
      if (!(await exists(c, 'queue', name))) lost.push(name);
      await closeAllConnections();
      await after.kill();
    }
    console.log(`[crash/declare-ok] attempts=${ATTEMPTS} lost=${lost.length}`);
    expect(lost, 'declare-ok received, queue gone after SIGKILL').toEqual([]);
  });
});
