// The HA kill matrix: 3 nats-server and 3 warren processes (the CLI with --ha-nats) on loopback,
// confirmed load from amqplib publishers (1 s heartbeat) that look for the leader on every host,
// and cycles of SIGKILL of the leader, SIGSTOP of the leader past the TTL, SIGKILL of a NATS node.
// Each cycle's line gives its phases from the nodes' logs (silence seen, barrier won, recovery,
// listening, the client's failure and reconnection). At the end the queue is drained from whoever
// leads and compared with what was confirmed; the stream is audited for appends accepted outside
// their epoch. Used by test/ha/kill.test.ts (short) and `npm run ha:kill-test` (about 3 minutes).

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as amqplib from 'amqplib';
import { decodeFrame, FrameType } from '../../src/ha/frames.js';
import { JetStreamLog } from '../../src/ha/jetstream-log.js';
import { groupSubjects } from '../../src/ha/replicated-log.js';
import { systemClock } from '../../src/util/clock.js';
import { ensureBuilt, repoRoot } from '../crash/harness.js';
import { freePort } from '../helpers/free-port.js';
import { startNatsCluster, type NatsCluster } from './nats-cluster.js';

export type Action = 'kill-leader' | 'stop-leader' | 'kill-nats';

export interface MatrixOptions {
  /** Actions in order; more are drawn at random until `seconds` have passed. */
  actions: Action[];
  seconds: number;
  ttlMs: number;
  log?: (line: string) => void;
}

export interface MatrixResult {
  cycles: number;
  confirmed: number;
  lost: number;
  duplicated: number;
  failoverMsMax: number;
  appendsOutsideEpoch: number;
  summary: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const GROUP = 'kill';
const QUEUE = 'ha-kill';

interface Warren {
  readonly name: string;
  readonly port: number;
  readonly rolePort: number;
  readonly dir: string;
  proc: ChildProcess | null;
  output: string;
}

/** A line of a warren node's log (pino JSON): when (wall clock, ms) and what. */
interface Event {
  readonly at: number;
  readonly node: string;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/** Every node's log lines that tell a failover's phases, in arrival order. */
const events: Event[] = [];

function record(w: Warren, line: string): void {
  if (!line.startsWith('{')) return;
  try {
    const j = JSON.parse(line) as Record<string, unknown>;
    const msg = typeof j.msg === 'string' ? j.msg : '';
    if (msg === 'client closed connection') return;
    events.push({ at: typeof j.time === 'number' ? j.time : Date.now(), node: w.name, msg, fields: j });
    if (events.length > 20_000) events.splice(0, 10_000);
  } catch {
    // Not a log line.
  }
}

function launch(w: Warren, nats: string, ttlMs: number): void {
  const args = [
    path.join(repoRoot, 'dist', 'cli', 'main.js'), 'serve',
    // Info: 'warren listening' (with the recovery time) marks a failover's phases.
    '--host', '127.0.0.1', '--port', String(w.port), '--data-dir', w.dir, '--log-level', 'info', '--sync', 'always',
    '--no-management-port', '--ha-nats', nats, '--ha-group', GROUP, '--ha-ttl-ms', String(ttlMs), '--ha-role-port', String(w.rolePort), '--ha-node', w.name,
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  w.proc = proc;
  w.output = '';
  let partial = '';
  const keep = (b: Buffer): void => {
    const text = b.toString('utf8');
    w.output = (w.output + text).slice(-50_000);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) record(w, l);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  proc.once('exit', () => {
    if (w.proc === proc) w.proc = null;
  });
}

async function role(w: Warren): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${w.rolePort}/ha/role`, { signal: AbortSignal.timeout(1_000) });
    return ((await res.json()) as { role: string }).role;
  } catch {
    return 'down';
  }
}

async function findLeader(ws: Warren[], timeoutMs: number, not: Warren | null = null): Promise<Warren> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    for (const w of ws) if (w !== not && w.proc !== null && (await role(w)) === 'leader') return w;
    await sleep(100);
  }
  throw new Error(`no leader within ${timeoutMs} ms:\n${ws.map((w) => `--- ${w.name}\n${w.output.slice(-3000)}`).join('\n')}`);
}

/**
 * Publishers with confirms that look for the leader again on any failure. They ask for a 1 s
 * AMQP heartbeat, as a client of an HA group should: a frozen leader keeps its sockets open, and
 * only the missing heartbeats (two intervals, amqplib's check) tell the client to move on.
 */
class Load {
  readonly confirmed = new Set<string>();
  /** Batches confirmed in full: when sent and when confirmed (wall clock, for failover times). */
  private readonly times: { sent: number; at: number }[] = [];
  /** Connections given up: when and why (a heartbeat timeout, a refused connect...). */
  readonly failures: { at: number; port: number; reason: string }[] = [];
  /** Channels opened and queue declared: when, on which port. */
  readonly opened: { at: number; port: number }[] = [];
  private next = 0;
  private stopped = false;
  private readonly runs: Promise<void>[] = [];
  reconnects = 0;

  constructor(private readonly ports: number[]) {}

  /** When the first batch published after `t0` was confirmed, or null. */
  firstConfirmSentAfter(t0: number): number | null {
    let best: number | null = null;
    for (const t of this.times) if (t.sent >= t0 && (best === null || t.at < best)) best = t.at;
    return best;
  }

  start(publishers: number): void {
    for (let i = 0; i < publishers; i++) this.runs.push(this.run(i));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.runs);
  }

  /**
   * Connects to every host at once and keeps the first that completes the AMQP handshake: only
   * the leader listens (standbys refuse, a frozen leader never answers), so the client finds it
   * as soon as it serves, whatever the order of the list. A second one answering (a fenced leader
   * in its last moments) is closed.
   */
  private connectAny(): Promise<{ conn: amqplib.ChannelModel; port: number }> {
    return new Promise((resolve, reject) => {
      let done = false;
      const reasons = new Set<string>();
      const started = Date.now();
      const attempt = (port: number): void => {
        if (done) return;
        // A frozen node still completes the TCP handshake (the kernel does): only the timeout ends the AMQP one.
        amqplib.connect(`amqp://guest:guest@127.0.0.1:${port}?heartbeat=1`, { timeout: 1_000 }).then(
          (conn) => {
            conn.on('error', () => undefined);
            if (done) {
              conn.close().catch(() => undefined);
              return;
            }
            done = true;
            resolve({ conn, port });
          },
          (err: unknown) => {
            reasons.add(err instanceof Error ? err.message : String(err));
            if (done) return;
            // Given up now and then, so that a long search shows in the failures.
            if (this.stopped || Date.now() - started > 10_000) {
              done = true;
              reject(new Error(`no host: ${[...reasons].join('; ')}`));
              return;
            }
            // Each host on its own: one that hangs (frozen) does not hold up the others.
            setTimeout(() => attempt(port), 100);
          },
        );
      };
      for (const port of this.ports) attempt(port);
    });
  }

  private async run(id: number): Promise<void> {
    while (!this.stopped) {
      let conn: amqplib.ChannelModel | null = null;
      let port = 0;
      let connErr: string | null = null;
      try {
        ({ conn, port } = await this.connectAny());
        conn.on('error', (e: Error) => (connErr ??= e.message));
        const ch = await conn.createConfirmChannel();
        ch.on('error', () => undefined);
        await ch.assertQueue(QUEUE, { durable: true });
        this.opened.push({ at: Date.now(), port });
        if (this.opened.length > 10_000) this.opened.splice(0, 5_000);
        while (!this.stopped) {
          const batch: string[] = [];
          for (let k = 0; k < 20; k++) batch.push(`p${id}-${this.next++}`);
          const sent = Date.now();
          const acks = batch.map(
            (m) =>
              new Promise<boolean>((resolve) => {
                ch.sendToQueue(QUEUE, Buffer.from(m), { persistent: true }, (err) => resolve(err === null || err === undefined));
              }),
          );
          // The heartbeat ends a stalled connection; this is the last resort.
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 15_000)));
          const res = await Promise.race([Promise.all(acks), timeout]).finally(() => clearTimeout(timer));
          if (res === 'timeout') throw new Error('confirms stalled');
          res.forEach((ok, k) => {
            if (ok) this.confirmed.add(batch[k] as string);
          });
          // amqplib fails the unconfirmed callbacks of a connection it closed (heartbeat timeout): no confirm.
          if (res.some((ok) => !ok)) throw new Error('nacked or closed');
          this.times.push({ sent, at: Date.now() });
          if (this.times.length > 100_000) this.times.splice(0, 50_000);
        }
      } catch (err) {
        this.reconnects++;
        this.failures.push({ at: Date.now(), port, reason: connErr ?? (err instanceof Error ? err.message : String(err)) });
        if (this.failures.length > 10_000) this.failures.splice(0, 5_000);
        await sleep(100);
      } finally {
        if (conn !== null) {
          const c = conn;
          await Promise.race([c.close().catch(() => undefined), sleep(1_000)]);
        }
      }
    }
  }
}

/** Warnings worth counting in a cycle's line (a barrier lost, the log unreachable...). */
const NOTES = new Map([
  ['barrier lost, following', 'barrier lost'],
  ['barrier append failed, following', 'barrier unanswered'],
  ['replicated log unreachable, retrying', 'log unreachable'],
  ['replicated log answered slowly, waiting', 'log slow'],
  ['replicated log answering again', 'log back'],
  ['follower behind the log and receiving nothing, restarting the reader', 'reader restarted'],
  ['HA: leader appends retried', 'leader retried'],
]);

/**
 * A cycle's phases from the nodes' logs, in ms after the blow: the standby that found the log
 * silent, won the barrier, recovered and listened; the client's first failure; warnings by kind.
 * `blown` is the node hit (its own lines are left out), null when a NATS node was.
 */
function phases(t0: number, blown: string | null, load: Load): string {
  const after = events.filter((e) => e.at >= t0 && e.node !== blown);
  const rel = (at: number | undefined): string => (at === undefined ? '-' : String(at - t0));
  const parts: string[] = [];
  const promoted = after.find((e) => e.msg === 'HA: promoted to leader');
  if (promoted !== undefined) {
    const silent = after.find((e) => e.node === promoted.node && e.msg === 'HA: log silent past the TTL, competing for the lead');
    const listening = after.find((e) => e.node === promoted.node && e.msg === 'warren listening');
    const opened = after.find((e) => e.node === promoted.node && e.msg === 'connection open');
    parts.push(
      `silence ${rel(silent?.at)}`,
      `promoted ${rel(promoted.at)} ${promoted.node}`,
      `listening ${rel(listening?.at)} (recovery ${String(listening?.fields.recoveryMs ?? '-')} ms, ${String(listening?.fields.recoveredMessages ?? '-')} msgs)`,
      `server opened a connection ${rel(opened?.at)}`,
    );
  }
  const failed = load.failures.find((f) => f.at >= t0);
  if (failed !== undefined) parts.push(`client failed ${rel(failed.at)} '${failed.reason}'`);
  const declared = load.opened.find((c) => c.at >= t0);
  if (declared !== undefined) parts.push(`client declared ${rel(declared.at)}`);
  const counts = new Map<string, Set<string>>();
  let n = 0;
  for (const e of after) {
    const k = NOTES.get(e.msg);
    if (k === undefined) continue;
    n++;
    const nodes = counts.get(k) ?? new Set<string>();
    nodes.add(e.node);
    counts.set(k, nodes);
  }
  if (n > 0) parts.push([...counts].map(([k, nodes]) => `${k} (${[...nodes].join(' ')})`).join(', '));
  return parts.join(', ') || 'no phases logged';
}

/** Files under a data directory with their sizes (a promotion that lost messages shows what it had). */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${path.relative(dir, p)}=${fs.statSync(p).size}`);
    }
  };
  try {
    walk(dir);
  } catch (err) {
    out.push(`(${err instanceof Error ? err.message : String(err)})`);
  }
  return out;
}

/** The HA and listener lines of every node from `before` ms ahead of t0, times relative to t0. */
function eventLines(t0: number, before: number): string[] {
  const skip = new Set(['pid', 'hostname', 'name', 'time', 'msg', 'level', 'component', 'group']);
  return events
    .filter((e) => e.at >= t0 - before && e.msg !== 'connection open' && e.msg !== 'HA standby: refused AMQP connections')
    .map((e) => {
      const f = Object.entries(e.fields).filter(([k]) => !skip.has(k)).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
      return `${e.at - t0} ${e.node} ${e.msg} ${f.join(' ')}`.slice(0, 300);
    });
}

/** Appends whose msg id names an epoch below the latest barrier before them: a fenced leader's. */
async function audit(cluster: NatsCluster): Promise<number> {
  const log = await JetStreamLog.open({ servers: cluster.urls.split(','), subjects: groupSubjects(GROUP), replicas: 3, appendTimeoutMs: 10_000, clock: systemClock, name: 'audit' });
  try {
    const last = await log.lastSequence();
    let epoch = 0;
    let outside = 0;
    let next = 1;
    while (next <= last) {
      const got = await log.read(next, 1_000, 2_000);
      if (got.length === 0) break;
      for (const e of got) {
        const f = decodeFrame(e.data);
        if (f.type === FrameType.Barrier) epoch = Math.max(epoch, f.epoch);
        const m = /\/(\d+)-\d+$/.exec(e.msgId ?? '');
        if (m !== null && Number(m[1]) < epoch) outside++;
        next = e.seq + 1;
      }
    }
    return outside;
  } finally {
    await log.close();
  }
}

export async function runKillMatrix(o: MatrixOptions): Promise<MatrixResult> {
  const say = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  await ensureBuilt();
  events.length = 0;
  const cluster = await startNatsCluster(3, 'warren-kill');
  const ws: Warren[] = [];
  let load: Load | null = null;
  try {
    for (let i = 0; i < 3; i++) {
      ws.push({ name: `w${i + 1}`, port: await freePort(), rolePort: await freePort(), dir: fs.mkdtempSync(path.join(tmpdir(), `warren-kill-w${i + 1}-`)), proc: null, output: '' });
    }
    launch(ws[0] as Warren, cluster.urls, o.ttlMs);
    await findLeader(ws, 60_000);
    for (const w of ws.slice(1)) launch(w, cluster.urls, o.ttlMs);
    load = new Load(ws.map((w) => w.port));
    load.start(2);
    await sleep(3_000);
    let cycles = 0;
    let failoverMsMax = 0;
    let shortShown = false;
    const start = performance.now();
    const actions = [...o.actions];
    while (actions.length > 0 || performance.now() - start < o.seconds * 1_000) {
      const all: Action[] = ['kill-leader', 'stop-leader', 'kill-nats'];
      const action = actions.shift() ?? (all[Math.floor(Math.random() * all.length)] as Action);
      const leader = await findLeader(ws, 60_000);
      const t0 = Date.now();
      // Publishes counted for the failover time start once the blow has landed.
      let landed = t0;
      if (action === 'kill-leader') {
        const p = leader.proc;
        const gone = p === null ? Promise.resolve() : new Promise<void>((r) => p.once('exit', () => r()));
        p?.kill('SIGKILL');
        await gone;
        landed = Date.now();
        await findLeader(ws, 60_000, leader);
      } else if (action === 'stop-leader') {
        leader.proc?.kill('SIGSTOP');
        await findLeader(ws, 60_000, leader);
        // Past the TTL and the takeover: the old leader must wake up fenced.
        await sleep(o.ttlMs);
        leader.proc?.kill('SIGCONT');
      } else {
        const i = Math.floor(Math.random() * 3);
        cluster.signal(i, 'SIGKILL');
        await sleep(2_000);
        await cluster.restart(i);
      }
      // Failover ends at the first confirm after the kill.
      // (of a message published after the kill: confirms of earlier ones may still arrive from the old leader's last turn).
      const until = Date.now() + 60_000;
      let first = load.firstConfirmSentAfter(landed);
      while (first === null) {
        if (Date.now() > until) throw new Error(`no confirm within 60 s after ${action}`);
        await sleep(20);
        first = load.firstConfirmSentAfter(landed);
      }
      const ms = Math.round(first - t0);
      // A NATS node's death stalls confirms for the engine's election at most: warren does not fail over.
      if (action === 'kill-nats' && (await findLeader(ws, 10_000)) !== leader) throw new Error(`kill-nats moved the lead away from ${leader.name}`);
      if (action !== 'kill-nats') failoverMsMax = Math.max(failoverMsMax, ms);
      cycles++;
      say(`ha: cycle ${cycles} ${action} ${leader.name}: first confirm after ${ms} ms (${phases(t0, action === 'kill-nats' ? null : leader.name, load)}), confirmed so far ${load.confirmed.size}`);
      // A slow failover shows its log lines (from a TTL before the blow) to tell where the time went;
      // so does a promotion that recovered far fewer messages than were confirmed, with its files.
      const recovered = events.find((e) => e.at >= t0 && e.msg === 'warren listening' && e.node !== leader.name)?.fields.recoveredMessages;
      const short: boolean = typeof recovered === 'number' && recovered < load.confirmed.size / 2 && !shortShown;
      if ((action !== 'kill-nats' && ms > o.ttlMs + 2_000) || short) for (const l of eventLines(t0, o.ttlMs)) say(`ha:   ${l}`);
      if (short) for (const w of ws) if (w !== leader) say(`ha:   ${w.name} files: ${listFiles(w.dir).join(', ')}`);
      // Once: every later promotion recovers from the same loss.
      shortShown ||= short;
      if (action === 'kill-leader') launch(leader, cluster.urls, o.ttlMs);
      // Random moments: let the load run a little before the next blow.
      await sleep(1_000 + Math.floor(Math.random() * 2_000));
    }
    await load.stop();
    const leader = await findLeader(ws, 60_000);
    const conn = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${leader.port}`);
    const ch = await conn.createChannel();
    const seen = new Map<string, number>();
    const note = (content: Buffer): void => {
      const id = content.toString();
      seen.set(id, (seen.get(id) ?? 0) + 1);
    };
    // A consumer, not a basic.get per message: hundreds of thousands of round trips took minutes.
    const { messageCount } = await ch.checkQueue(QUEUE);
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      if (messageCount === 0) return resolve();
      ch.consume(QUEUE, (m) => {
        if (m === null) return reject(new Error('drain consumer cancelled'));
        note(m.content);
        if (++received === messageCount) resolve();
      }, { noAck: true, consumerTag: 'drain' }).catch(reject);
    });
    if (messageCount > 0) await ch.cancel('drain');
    // Anything left after the count (nothing is publishing now) is read one by one.
    for (;;) {
      const m = await ch.get(QUEUE, { noAck: true });
      if (m === false) break;
      note(m.content);
    }
    await conn.close();
    let lost = 0;
    for (const id of load.confirmed) if (!seen.has(id)) lost++;
    let duplicated = 0;
    for (const n of seen.values()) if (n > 1) duplicated += n - 1;
    const appendsOutsideEpoch = await audit(cluster);
    const summary = `ha: cycles=${cycles} confirmed=${load.confirmed.size} lost=${lost} duplicated=${duplicated} failover_ms_max=${failoverMsMax} appends_outside_epoch=${appendsOutsideEpoch}`;
    say(summary);
    return { cycles, confirmed: load.confirmed.size, lost, duplicated, failoverMsMax, appendsOutsideEpoch, summary };
  } finally {
    if (load !== null) await load.stop();
    for (const w of ws) {
      const p = w.proc;
      if (p?.pid !== undefined) {
        const gone = new Promise<void>((r) => p.once('exit', () => r()));
        process.kill(p.pid, 'SIGKILL');
        await gone;
      }
      fs.rmSync(w.dir, { recursive: true, force: true });
    }
    await cluster.stop();
  }
}
