// One warren node of a replication group, before and between its turns as leader: connect to
// the replicated log (waiting, and saying so, while it is unreachable), follow it into the data
// directory, and hand over once this node wins a barrier. The broker side (index.ts) then runs
// warren's normal recovery on the directory and serves; when the sequencer is fenced it stops
// serving, wipes the directory and comes back here.

import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import * as path from 'node:path';
import type { Logger } from '../log.js';
import { VHOSTS_DIR } from '../store/data-dir.js';
import { fsyncDir } from '../store/segment-io.js';
import { ACCESS_FILE, type AccessReplication } from '../store/access-store.js';
import type { StoreReplication } from '../store/segment-log.js';
import type { Clock } from '../util/clock.js';
import { CopyHoleError, Follower, HA_DIR } from './follower.js';
import { JetStreamLog } from './jetstream-log.js';
import { Leadership } from './leadership.js';
import { groupSubjects, type GroupSubjects, type ReplicatedLog } from './replicated-log.js';
import { accessReplication, Replicator } from './replicator.js';
import type { Sequencer } from './sequencer.js';

export interface HaOptions {
  /** nats:// URLs of the NATS cluster. */
  nats: readonly string[];
  /** Replication group: one stream, one leader. */
  group: string;
  /** Silence after which a standby takes over (default 2000 ms). */
  ttlMs?: number;
  /** Leader appends in flight (default 3). */
  window?: number;
  /** Stream replicas when this node creates the stream (default 3). */
  replicas?: number;
  /** Unique name of this node in the group (default host-pid-random). */
  node?: string;
}

export type { AccessReplication, StoreReplication };

export const DEFAULT_HA_TTL_MS = 2_000;
/**
 * A standby fsyncs its copy and records the applied sequence at most this often: a restart
 * re-reads at most this much of the stream, and the leader's fsyncs no longer queue behind it.
 */
const FOLLOWER_PERSIST_EVERY_MS = 200;

export type HaRole = 'connecting' | 'standby' | 'promoting' | 'leader' | 'fenced' | 'stopped';

export interface LeaderTurn {
  readonly epoch: number;
  readonly sequencer: Sequencer;
  /** For Broker.replication: each vhost directory's stores replicate through the sequencer. */
  readonly replication: (vhostDir: string) => StoreReplication;
  /** For Broker.accessReplication: the access snapshot and vhost directory removals replicate through the sequencer. */
  readonly access: AccessReplication;
  /** Resolves when this turn ends: fenced (another node leads) or a replication failure. */
  readonly ended: Promise<Error>;
}

export class HaNode {
  readonly node: string;
  readonly subjects: GroupSubjects;
  role: HaRole = 'connecting';
  epoch = 0;
  private readonly o: HaOptions;
  private readonly dataDir: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private rlog: JetStreamLog | null = null;
  private leadership: Leadership | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;

  constructor(o: HaOptions, dataDir: string, clock: Clock, log: Logger) {
    this.o = o;
    this.dataDir = dataDir;
    this.clock = clock;
    this.log = log;
    this.subjects = groupSubjects(o.group);
    this.node = o.node ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  }

  private get ttl(): number {
    return this.o.ttlMs ?? DEFAULT_HA_TTL_MS;
  }

  /** Connects to the log, retrying until it answers or stop() is called. */
  private async connect(): Promise<JetStreamLog | null> {
    let attempt = 0;
    while (!this.stopped) {
      try {
        const l = await JetStreamLog.open({
          servers: this.o.nats,
          subjects: this.subjects,
          replicas: this.o.replicas ?? 3,
          // Well under the TTL: an append lost with a dying NATS node is retried (same msg id) before
          // a standby can count the silence as the leader's.
          appendTimeoutMs: Math.max(500, Math.floor(this.ttl / 2)),
          // A stalled pull is noticed within TTL/2, before a standby would count the silence.
          readerHeartbeatMs: Math.floor(this.ttl / 4),
          clock: this.clock,
          name: `warren ${this.node}`,
        });
        // close() ran meanwhile: this connection (reconnecting forever) would keep the process up.
        if (this.stopped) {
          await l.close();
          return null;
        }
        if (attempt > 0) this.log.info({ group: this.o.group }, 'replicated log reachable');
        if (!l.purgesSafe) {
          this.log.warn(
            { group: this.o.group, natsVersions: l.serverVersions },
            'a NATS node is older than 2.9.21 (or did not answer): such a node replays a filtered purge as a purge of every subject when it restarts (nats-server issue 4196), so the replicated log is never purged and grows; upgrade every node to 2.10.23 or later',
          );
        }
        return l;
      } catch (err) {
        // Once, then every 10th attempt: a long outage is not a flood.
        if (attempt % 10 === 0) this.log.warn({ group: this.o.group, nats: this.o.nats, err: err instanceof Error ? err.message : String(err), attempt }, 'replicated log unreachable, waiting');
        attempt++;
        await new Promise<void>((r) => {
          this.wake = r;
          this.clock.after(1_000, r);
        });
        this.wake = null;
      }
    }
    return null;
  }

  /**
   * Asks the log until it answers, or null once stopped: after a fenced turn the engine may be
   * electing a stream leader for seconds, which must not end the node.
   */
  private async untilAnswered<T>(what: string, ask: () => Promise<T>): Promise<T | null> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        return await ask();
      } catch (err) {
        if (attempt % 10 === 0) this.log.warn({ group: this.o.group, err: err instanceof Error ? err.message : String(err), attempt }, `replicated log did not answer (${what}), retrying`);
        await new Promise<void>((r) => {
          this.wake = r;
          this.clock.after(1_000, r);
        });
        this.wake = null;
      }
    }
    return null;
  }

  /**
   * Follows the log until this node leads (null if stopped first). A copy that missed records
   * (CopyHoleError) is wiped and rebuilt from the stream's first entry: it must never be promoted.
   */
  async waitForLead(): Promise<LeaderTurn | null> {
    for (let rebuilds = 1; ; rebuilds++) {
      const turn = await this.followUntilLead();
      if (!(turn instanceof CopyHoleError)) return turn;
      this.log.warn({ group: this.o.group, node: this.node, err: turn.message, rebuilds }, 'HA: this copy missed records of the replicated log; wiping it and rebuilding it from the stream');
      await this.wipe();
      // The stream itself may lack them (every copy rebuilt meets the same hole): not reread back to back.
      if (rebuilds > 1 && !this.stopped) {
        await new Promise<void>((r) => {
          this.wake = r;
          this.clock.after(this.ttl * 2 ** Math.min(6, rebuilds - 1), r);
        });
        this.wake = null;
      }
      if (this.stopped) return null;
    }
  }

  private async followUntilLead(): Promise<LeaderTurn | CopyHoleError | null> {
    this.role = 'connecting';
    this.rlog ??= await this.connect();
    const rlog = this.rlog;
    if (rlog === null || this.stopped) return null;
    const stream = await this.untilAnswered('stream info', () => rlog.identity());
    if (stream === null) return null;
    await this.prepareDataDir(rlog, stream);
    if (this.stopped) return null;
    const follower = await Follower.open({ dataDir: this.dataDir, sync: true, stream, persistEveryMs: FOLLOWER_PERSIST_EVERY_MS, clock: this.clock });
    if (this.stopped) {
      await follower.close();
      return null;
    }
    this.role = 'standby';
    this.log.info({ group: this.o.group, node: this.node, applied: follower.applied }, 'HA standby: following the replicated log; AMQP is served only once promoted');
    // The follower stopped for good (an entry it can never apply, or a fault of its own).
    let followerFailed: Error | null = null;
    const turn = await new Promise<{ seq: Sequencer; epoch: number; ended: Promise<Error> } | null>((resolve) => {
      let endTurn: (err: Error) => void = () => undefined;
      const ended = new Promise<Error>((r) => (endTurn = r));
      const lead = new Leadership({
        log: rlog,
        subjects: this.subjects,
        applier: follower,
        clock: this.clock,
        node: this.node,
        ttlMs: this.ttl,
        window: this.o.window ?? 3,
        events: {
          promoted: (seq, epoch) => resolve({ seq, epoch, ended }),
          fenced: (err) => {
            if (this.role !== 'leader' && this.role !== 'promoting' && !this.stopped) followerFailed = err;
            endTurn(err);
            resolve(null);
          },
          note: (msg, fields) => this.log.warn({ group: this.o.group, ...fields }, msg),
        },
      });
      this.leadership = lead;
      this.wake = () => resolve(null);
      lead.start();
    });
    this.wake = null;
    // Read before close: what this follower applied tells whether the group has data.
    const snapshotLost = follower.accessSnapshotMissing();
    await follower.close();
    const failed = followerFailed as Error | null;
    if (failed instanceof CopyHoleError && !this.stopped) {
      this.leadership = null;
      return failed;
    }
    if (failed !== null && !this.stopped) {
      // The caller logs it once and stops: following again would meet the same entry.
      this.role = 'stopped';
      this.leadership = null;
      await this.rlog?.close().catch(() => undefined);
      this.rlog = null;
      throw failed;
    }
    if (turn === null || this.stopped) return null;
    // From here the directory holds a leader's writes, not a follower's copy: without the applied
    // file a restart rebuilds it from the stream.
    fs.rmSync(path.join(this.dataDir, HA_DIR), { recursive: true, force: true });
    // Durable before this node writes as a leader: after a power loss the old applied file must
    // not come back and make a leader's directory look like a follower's copy.
    await fsyncDir(this.dataDir);
    // 'leader' once the broker listens (serving()): a health check must not route to a closed port.
    this.role = 'promoting';
    this.epoch = turn.epoch;
    this.log.warn({ group: this.o.group, node: this.node, epoch: turn.epoch }, 'HA: promoted to leader');
    const ctx = {
      sequencer: turn.seq,
      log: rlog as ReplicatedLog,
      subjects: this.subjects,
      dataDir: this.dataDir,
      maxPayload: rlog.maxPayload,
      // Appends fail for good only when fenced or on a bug (an unencodable frame): either way
      // the turn ends, so the node stops serving rather than leading without replicating.
      onFailed: (err: Error) => {
        turn.seq.close(err);
        this.leadership?.stop();
      },
      onPurgeFailed: (err: Error) => this.log.warn({ group: this.o.group, err: err.message }, 'HA: purge of retired frames failed (the stream keeps them until the next one)'),
    };
    return { epoch: turn.epoch, sequencer: turn.seq, replication: (dir) => Replicator.forVhost(ctx, dir), access: { ...accessReplication(ctx), snapshotLost }, ended: turn.ended };
  }

  /**
   * A directory that is not a copy of this log is rebuilt from it: one without the follower's
   * applied file (an earlier leader turn, or data from before HA), or a copy of another stream
   * (an earlier group, or this group's stream deleted and made again). If the stream is empty,
   * a directory holding data is refused rather than thrown away.
   */
  private async prepareDataDir(rlog: ReplicatedLog, stream: string): Promise<void> {
    const copy = Follower.isCopy(this.dataDir);
    const copyOf = copy ? (Follower.streamIn(this.dataDir) ?? 'a stream not named (an older release)') : null;
    if (copyOf === stream) return;
    const hasData = [VHOSTS_DIR, ACCESS_FILE].some((f) => fs.existsSync(path.join(this.dataDir, f)));
    if (!hasData) {
      if (copy) await this.wipe();
      return;
    }
    const what = copyOf === null ? 'data that is not in' : `a copy of ${copyOf}, not of`;
    const last = await this.untilAnswered('last sequence', () => rlog.lastSequence());
    if (last === null) return;
    if (last === 0) {
      throw new Error(`${this.dataDir} holds ${what} replication group '${this.o.group}' (${stream}, empty): start HA with an empty data directory`);
    }
    this.log.warn({ dataDir: this.dataDir, group: this.o.group, stream, copyOf }, copyOf === null ? 'HA: data directory is not a follower copy (an earlier leader turn); rebuilding it from the replicated log' : 'HA: data directory is a copy of another stream; rebuilding it from this one');
    await this.wipe();
  }

  /** Removes the data directory's vhosts, access snapshot and follower state (after a fenced turn). */
  async wipe(): Promise<void> {
    await fs.promises.rm(path.join(this.dataDir, VHOSTS_DIR), { recursive: true, force: true });
    // A stale snapshot would be served by a later promotion that never received the group's.
    await fs.promises.rm(path.join(this.dataDir, ACCESS_FILE), { force: true });
    await fs.promises.rm(path.join(this.dataDir, `${ACCESS_FILE}.tmp`), { force: true });
    await fs.promises.rm(path.join(this.dataDir, HA_DIR), { recursive: true, force: true });
  }

  /** The broker recovered this node's directory and listens. */
  serving(): void {
    if (this.role === 'promoting') this.role = 'leader';
  }

  /**
   * This node won the lead but cannot serve (its broker did not start): no more appends, no more
   * heartbeats, so another node takes over after the TTL. The node follows again once
   * waitForLead runs.
   */
  giveUp(turn: LeaderTurn, err: Error): void {
    turn.sequencer.close(err);
    // While still 'promoting': the turn's end is not reported as a follower failure.
    this.leadership?.stop();
    this.leadership = null;
    this.role = 'fenced';
  }

  /** This turn is over (fenced): the node is a follower again once waitForLead runs. */
  fenced(): void {
    this.role = 'fenced';
    this.leadership?.stop();
    this.leadership = null;
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.role = 'stopped';
    this.leadership?.stop();
    this.wake?.();
    await this.rlog?.close();
    this.rlog = null;
  }
}
