// Leadership through the log itself, no lease store: a leader appends a HEARTBEAT whenever it
// appended nothing for TTL/4. A follower that has applied everything (applied == the log's last
// sequence) and saw nothing new for TTL appends a BARRIER expecting `applied`; if that CAS wins,
// no one else appended since, and it leads, with the next epoch. A deposed leader learns it at
// its next append (a heartbeat at the latest), which fails its CAS (sequencer.ts).
//
// The log's last entry is never purged (segment subjects are purged only after a DELETE frame
// on the control subject, and heartbeats are trimmed keeping the latest), so `applied == last`
// is reachable.

import type { Clock, Timer } from '../util/clock.js';
import { decodeFrame, encodeMark, FrameType } from './frames.js';
import { AppendTimeoutError, UnappliableEntryError, WrongLastSequenceError, type GroupSubjects, type LogEntry, type ReplicatedLog } from './replicated-log.js';
import { FencedError, Sequencer } from './sequencer.js';

/** Applies entries to local state in log order (the follower); `applied` is the last one applied. */
export interface Applier {
  readonly applied: number;
  apply(entries: readonly LogEntry[]): Promise<void>;
}

/** Heartbeats between two trims of the heartbeat subject. */
export const HEARTBEATS_PER_TRIM = 64;

export type Role = 'follower' | 'leader' | 'fenced' | 'stopped';

export interface LeadershipEvents {
  /** This node won a barrier at `seq` and leads with `epoch`; everything up to `seq` is applied. */
  promoted(sequencer: Sequencer, epoch: number, seq: number): void;
  /** This node led and was deposed (or lost the log for good): stop confirming, restart as a follower. */
  fenced(err: Error): void;
  /** Something worth a log line (the log unreachable, a barrier lost...). */
  note?(msg: string, fields: Record<string, unknown>): void;
}

export interface LeadershipOptions {
  log: ReplicatedLog;
  subjects: GroupSubjects;
  applier: Applier;
  clock: Clock;
  node: string;
  /** Silence after which a follower tries to take over (default 2000 ms). */
  ttlMs: number;
  /** Leader appends in flight (2–4). */
  window: number;
  /** Entries per read. */
  readBatch?: number;
  events: LeadershipEvents;
}

export class Leadership {
  private readonly o: LeadershipOptions;
  private roleNow: Role = 'follower';
  /** Highest epoch seen in a HEARTBEAT or BARRIER. */
  epochSeen = 0;
  /** Last time the follower saw the log move (or started following). */
  private lastProgressAt: number;
  private sequencer: Sequencer | null = null;
  private heartbeatTimer: Timer | null = null;
  private loop: Promise<void> | null = null;
  barriersLost = 0;
  applyFailures = 0;

  constructor(o: LeadershipOptions) {
    this.o = o;
    this.lastProgressAt = o.clock.now();
  }

  get role(): Role {
    return this.roleNow;
  }

  /** Starts following (and, when the log goes quiet, competing for the lead). */
  start(): void {
    if (this.loop !== null) return;
    this.lastProgressAt = this.o.clock.now();
    this.loop = this.follow().catch((err: unknown) => {
      // Unexpected: the applier failed. Nothing safe is left to do but stop.
      this.roleNow = 'fenced';
      this.o.events.fenced(err instanceof Error ? err : new Error(String(err)));
    });
  }

  /** Resolves once the follow loop has exited (after stop(), promotion or a failure). */
  async settled(): Promise<void> {
    await this.loop;
  }

  /** Stops following or leading; a leader's turn ends (events.fenced with 'stopped'). */
  stop(): void {
    const wasLeader = this.roleNow === 'leader';
    this.roleNow = 'stopped';
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = null;
    if (wasLeader) {
      const err = new Error('stopped');
      this.sequencer?.close(err);
      this.o.events.fenced(err);
    }
  }

  private async follow(): Promise<void> {
    const { log, applier, clock } = this.o;
    const quantum = Math.max(1, Math.floor(this.o.ttlMs / 4));
    while (this.roleNow === 'follower') {
      let entries: LogEntry[];
      try {
        entries = await log.read(applier.applied + 1, this.o.readBatch ?? 256, quantum);
      } catch (err) {
        this.note('replicated log unreachable, retrying', err);
        await clock.sleep(quantum);
        this.unavailable();
        continue;
      }
      if (this.roleNow !== 'follower') return;
      if (entries.length > 0) {
        try {
          this.observe(entries);
          await applier.apply(entries);
        } catch (err) {
          // Never applicable: retrying would only repeat it; the loop ends (events.fenced).
          if (err instanceof UnappliableEntryError) throw err;
          // Re-read from what is applied (a batch applied again writes the same bytes); a follower
          // that gave up here would silently stop being a candidate.
          this.applyFailures++;
          this.note('applying the replicated log failed, retrying', err);
          await clock.sleep(quantum);
          continue;
        }
        this.lastProgressAt = clock.now();
        continue;
      }
      if (clock.now() - this.lastProgressAt < this.o.ttlMs) continue;
      let last: number;
      const asked = clock.now();
      try {
        last = await log.lastSequence();
      } catch (err) {
        this.note('replicated log unreachable, retrying', err);
        this.unavailable();
        continue;
      }
      // A slow answer means the engine was busy (an election): the leader could not append either.
      if (clock.now() - asked > quantum) {
        this.unavailable();
        continue;
      }
      // Entries exist we have not applied yet: keep reading before competing. If none arrive for
      // another TTL the reader is stuck (its consumer lost in a NATS node's death): start it again.
      if (last !== applier.applied || this.roleNow !== 'follower') {
        if (clock.now() - this.lastProgressAt >= 2 * this.o.ttlMs) {
          this.note('follower behind the log and receiving nothing, restarting the reader', new Error(`last ${last}`));
          log.resetReader?.();
          this.lastProgressAt = clock.now() - this.o.ttlMs;
        }
        continue;
      }
      await this.tryBarrier();
    }
  }

  /**
   * The log could not be read or answered slowly (the engine electing a stream leader after a
   * NATS node died): the leader could not append meanwhile, so that was no silence of the leader.
   * The countdown starts again, and the leader's retried append gets in first.
   */
  private unavailable(): void {
    this.lastProgressAt = this.o.clock.now();
  }

  private async tryBarrier(): Promise<void> {
    const { log, applier, clock, subjects } = this.o;
    const epoch = this.epochSeen + 1;
    const expected = applier.applied;
    const data = encodeMark(FrameType.Barrier, epoch, clock.now(), this.o.node);
    const msgId = `${this.o.node}/${epoch}-${expected + 1}`;
    for (;;) {
      try {
        const seq = await log.append(subjects.ctl, data, { expectedLastSeq: expected, msgId });
        if (this.roleNow !== 'follower') return;
        const entry: LogEntry = { seq, subject: subjects.ctl, data };
        this.observe([entry]);
        await applier.apply([entry]);
        this.promote(epoch, seq);
        return;
      } catch (err) {
        if (err instanceof WrongLastSequenceError) {
          // Someone appended meanwhile (a leader woke up, or another follower won): keep following.
          this.barriersLost++;
          this.lastProgressAt = clock.now();
          this.note('barrier lost, following', err);
          return;
        }
        // Unknown outcome: ask again with the same id, the answer tells whether it went in.
        this.note('barrier append failed, retrying', err);
        if (!(err instanceof AppendTimeoutError)) await clock.sleep(Math.max(1, Math.floor(this.o.ttlMs / 8)));
        if (this.roleNow !== 'follower') return;
      }
    }
  }

  private promote(epoch: number, seq: number): void {
    const s = new Sequencer({
      log: this.o.log,
      clock: this.o.clock,
      node: this.o.node,
      epoch,
      base: seq,
      window: this.o.window,
      onFenced: (err) => this.onFenced(err),
    });
    this.sequencer = s;
    this.roleNow = 'leader';
    const quantum = Math.max(1, Math.floor(this.o.ttlMs / 4));
    let beats = 0;
    // Checked at a finer grain than TTL/4 so the gap between two appends stays close to TTL/4.
    this.heartbeatTimer = this.o.clock.every(Math.max(1, Math.floor(quantum / 2)), () => {
      if (this.roleNow !== 'leader' || s.isFenced) return;
      if (s.outstanding === 0 && this.o.clock.now() - s.lastSentAt >= quantum) {
        s.append(this.o.subjects.hb, encodeMark(FrameType.Heartbeat, epoch, this.o.clock.now(), this.o.node)).then(
          () => {
            // An idle group would otherwise grow its stream by a heartbeat every TTL/4 forever.
            if (++beats % HEARTBEATS_PER_TRIM === 0) this.o.log.purgeSubject(this.o.subjects.hb, { keep: 1 }).catch((err: unknown) => this.note('heartbeat trim failed', err));
          },
          () => undefined,
        );
      }
    });
    this.o.events.promoted(s, epoch, seq);
  }

  private onFenced(err: FencedError): void {
    if (this.roleNow !== 'leader') return;
    this.roleNow = 'fenced';
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = null;
    this.o.events.fenced(err);
  }

  private observe(entries: readonly LogEntry[]): void {
    for (const e of entries) {
      if (e.subject !== this.o.subjects.ctl && e.subject !== this.o.subjects.hb) continue;
      const f = decodeFrame(e.data);
      if ((f.type === FrameType.Heartbeat || f.type === FrameType.Barrier) && f.epoch > this.epochSeen) this.epochSeen = f.epoch;
    }
  }

  private note(msg: string, err: unknown): void {
    this.o.events.note?.(msg, { err: err instanceof Error ? err.message : String(err), applied: this.o.applier.applied });
  }
}
