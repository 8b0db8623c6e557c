// Leadership through the log itself, no lease store: a leader appends a HEARTBEAT whenever it
// appended nothing for TTL/4. A follower that has applied everything (applied == the log's last
// sequence) and saw nothing new for TTL appends a BARRIER expecting `applied`; if that CAS wins,
// no one else appended since, and it leads, with the next epoch. A deposed leader learns it at
// its next append (a heartbeat at the latest), which fails its CAS (sequencer.ts).
//
// "Nothing new for TTL" is the log's silence while it answered normally: a log that failed or
// answered slowly (NATS electing a stream leader after a node died) stopped the leader too, so
// the countdown starts again at the log's first normal answer, and the leader's retried append
// lands well within TTL of it. A reader that stopped receiving is restarted, not waited for.
//
// The log's last entry is never purged (segment subjects are purged only after a DELETE frame
// on the control subject, and heartbeats are trimmed keeping the latest), so `applied == last`
// is reachable.

import type { Clock, Timer } from '../util/clock.js';
import { decodeFrame, encodeMark, FrameType } from './frames.js';
import { purgeIfSafe, UnappliableEntryError, WrongLastSequenceError, type GroupSubjects, type LogEntry, type ReplicatedLog } from './replicated-log.js';
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
  /** When the countdown to a barrier started: the log last moved, or answered again after an outage. */
  private lastProgressAt: number;
  /** Highest sequence known to exist (read, or named by the log): the log moved when it grows. */
  private knownLast = 0;
  /** False from an outage (or the start) until the log answers normally: no countdown meanwhile. */
  private available = false;
  private outageSince: number | null = null;
  /** When the reader last handed over entries, or was restarted. */
  private lastDeliveryAt: number;
  /** A barrier of this node whose answer was lost: it may be in, and is recognized when read back. */
  private pendingBarrier: { epoch: number; seq: number } | null = null;
  private lastRetryNoteAt = -Infinity;
  private sequencer: Sequencer | null = null;
  private heartbeatTimer: Timer | null = null;
  private loop: Promise<void> | null = null;
  barriersLost = 0;
  applyFailures = 0;
  readerRestarts = 0;

  constructor(o: LeadershipOptions) {
    this.o = o;
    this.lastProgressAt = o.clock.now();
    this.lastDeliveryAt = this.lastProgressAt;
  }

  get role(): Role {
    return this.roleNow;
  }

  /** Starts following (and, when the log goes quiet, competing for the lead). */
  start(): void {
    if (this.loop !== null) return;
    this.lastProgressAt = this.o.clock.now();
    this.lastDeliveryAt = this.lastProgressAt;
    this.knownLast = this.o.applier.applied;
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

  private get quantum(): number {
    return Math.max(1, Math.floor(this.o.ttlMs / 4));
  }

  /**
   * The silence that elects is the log's, not the reader's: the log's last sequence has not moved
   * for TTL while the log answered normally. A reader that receives nothing while entries exist
   * is restarted, and catching up on entries known to exist does not restart the countdown.
   */
  private async follow(): Promise<void> {
    const { log, applier, clock } = this.o;
    while (this.roleNow === 'follower') {
      let entries: LogEntry[];
      try {
        entries = await log.read(applier.applied + 1, this.o.readBatch ?? 256, this.quantum);
      } catch (err) {
        // Once per outage: an election fails every read for seconds.
        if (this.outageSince === null) this.note('replicated log unreachable, retrying', err);
        this.unavailable();
        await clock.sleep(this.quantum);
        continue;
      }
      if (this.roleNow !== 'follower') return;
      if (entries.length > 0) {
        await this.take(entries);
        // After an outage (or at the start) ask at once: entries flowing again need not wait for a quiet moment.
        if (this.available || this.roleNow !== 'follower') continue;
      }
      // Nothing for a quantum (or the log was out): ask the log every quantum, so that its last
      // sequence is known within a quantum of the leader's last append even if the reader stalls.
      const last = await this.probe();
      if (last === null || this.roleNow !== 'follower') continue;
      this.restartReaderIfStuck();
      if (!this.available || last > this.knownLast) {
        // Back from an outage, or the log moved (when, within the countdown, is unknown): count again from now.
        if (this.outageSince !== null) this.o.events.note?.('replicated log answering again', { outageMs: clock.now() - this.outageSince, applied: applier.applied, last });
        this.outageSince = null;
        this.available = true;
        this.knownLast = Math.max(this.knownLast, last);
        this.lastProgressAt = clock.now();
        continue;
      }
      // Silent for TTL? Behind it, the restarted reader catches up first.
      if (clock.now() - this.lastProgressAt < this.o.ttlMs || applier.applied < last) continue;
      this.o.events.note?.('HA: log silent past the TTL, competing for the lead', { silentMs: clock.now() - this.lastProgressAt, applied: applier.applied });
      await this.tryBarrier();
    }
  }

  /** Applies a batch; new entries move the countdown, and this node's own lost barrier read back makes it the leader. */
  private async take(entries: readonly LogEntry[]): Promise<void> {
    const { applier, clock } = this.o;
    let own: LogEntry | null = null;
    try {
      own = this.observe(entries);
      await applier.apply(entries);
    } catch (err) {
      // Never applicable: retrying would only repeat it; the loop ends (events.fenced).
      if (err instanceof UnappliableEntryError) throw err;
      // Re-read from what is applied (a batch applied again writes the same bytes); a follower
      // that gave up here would silently stop being a candidate.
      this.applyFailures++;
      this.note('applying the replicated log failed, retrying', err);
      await clock.sleep(this.quantum);
      return;
    }
    const now = clock.now();
    this.lastDeliveryAt = now;
    const top = (entries[entries.length - 1] as LogEntry).seq;
    if (top > this.knownLast) {
      this.knownLast = top;
      // During an outage the countdown waits for the log's own answer: entries read late prove nothing.
      if (this.available) this.lastProgressAt = now;
    }
    const p = this.pendingBarrier;
    if (p !== null && applier.applied >= p.seq) {
      this.pendingBarrier = null;
      // Nothing after it: the CAS went in and no one has appended since.
      if (own !== null && own.seq === p.seq && applier.applied === p.seq && this.roleNow === 'follower') this.promote(p.epoch, p.seq);
    }
  }

  /** The log's last sequence, or null when it failed or answered slowly (both count as an outage). */
  private async probe(): Promise<number | null> {
    const { log, clock } = this.o;
    const asked = clock.now();
    try {
      const last = await log.lastSequence();
      // A slow answer means the engine was busy (an election): the leader could not append either.
      if (clock.now() - asked <= this.quantum) return last;
      if (this.outageSince === null) this.o.events.note?.('replicated log answered slowly, waiting', { ms: clock.now() - asked, applied: this.o.applier.applied });
    } catch (err) {
      if (this.outageSince === null) this.note('replicated log unreachable, retrying', err);
    }
    this.unavailable();
    return null;
  }

  /**
   * The log could not be read or answered slowly (the engine electing a stream leader after a
   * NATS node died): the leader could not append meanwhile, so that was no silence of the leader.
   * The countdown starts again once the log answers normally, and the leader's retried append
   * (paused at most TTL/8, sequencer retryMaxMs) gets in first.
   */
  private unavailable(): void {
    this.available = false;
    this.outageSince ??= this.o.clock.now();
  }

  /**
   * Entries the log named a quantum or more ago, and nothing handed over for two quanta: the
   * reader stalled (its consumer lost with a NATS node, or the client's pull stuck): start it again.
   */
  private restartReaderIfStuck(): void {
    const now = this.o.clock.now();
    if (this.knownLast <= this.o.applier.applied || now - this.lastDeliveryAt < 2 * this.quantum) return;
    this.readerRestarts++;
    this.lastDeliveryAt = now;
    this.note('follower behind the log and receiving nothing, restarting the reader', new Error(`applied ${this.o.applier.applied}, log at ${this.knownLast} or more`));
    this.o.log.resetReader?.();
  }

  private async tryBarrier(): Promise<void> {
    const { log, applier, clock, subjects } = this.o;
    const epoch = this.epochSeen + 1;
    const expected = applier.applied;
    const data = encodeMark(FrameType.Barrier, epoch, clock.now(), this.o.node);
    // The same id for a retry at the same slot and epoch: a barrier that went in unanswered is not appended twice.
    const msgId = `${this.o.node}/${epoch}-${expected + 1}`;
    this.pendingBarrier = { epoch, seq: expected + 1 };
    let seq: number;
    try {
      seq = await log.append(subjects.ctl, data, { expectedLastSeq: expected, msgId });
    } catch (err) {
      if (err instanceof WrongLastSequenceError) {
        // Someone appended meanwhile (a leader woke up, or another follower won): keep following.
        this.pendingBarrier = null;
        this.barriersLost++;
        this.lastProgressAt = clock.now();
        this.note('barrier lost, following', err);
        return;
      }
      // No answer: the log is out, so the leader could not append either; count down again once
      // it answers. If the barrier did go in, the reader hands it back (take()).
      this.note('barrier append failed, following', err);
      this.unavailable();
      return;
    }
    if (this.roleNow !== 'follower') return;
    const entry: LogEntry = { seq, subject: subjects.ctl, data };
    this.observe([entry]);
    try {
      await applier.apply([entry]);
    } catch (err) {
      // The reader hands the barrier back, and take() applies it and promotes.
      this.note('applying the barrier failed, reading it back', err);
      return;
    }
    this.pendingBarrier = null;
    this.promote(epoch, seq);
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
      // After an engine election a follower counts TTL from the log's first normal answer: the
      // retry must land well before (an append timeout of TTL/2, then at most TTL/8).
      retryMaxMs: Math.max(50, Math.floor(this.o.ttlMs / 8)),
      onRetry: (err) => {
        // Once per TTL: an election retries every TTL/8 for seconds.
        if (this.o.clock.now() - this.lastRetryNoteAt < this.o.ttlMs) return;
        this.lastRetryNoteAt = this.o.clock.now();
        this.note('HA: leader appends retried', err);
      },
    });
    this.sequencer = s;
    this.roleNow = 'leader';
    const quantum = this.quantum;
    let beats = 0;
    // Checked at a finer grain than TTL/4 so the gap between two appends stays close to TTL/4.
    this.heartbeatTimer = this.o.clock.every(Math.max(1, Math.floor(quantum / 2)), () => {
      if (this.roleNow !== 'leader' || s.isFenced) return;
      if (s.outstanding === 0 && this.o.clock.now() - s.lastSentAt >= quantum) {
        s.append(this.o.subjects.hb, encodeMark(FrameType.Heartbeat, epoch, this.o.clock.now(), this.o.node)).then(
          () => {
            // An idle group would otherwise grow its stream by a heartbeat every TTL/4 forever.
            if (++beats % HEARTBEATS_PER_TRIM === 0) purgeIfSafe(this.o.log, this.o.subjects.hb, { keep: 1 }).catch((err: unknown) => this.note('heartbeat trim failed', err));
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

  /** Notes the highest epoch; returns this node's pending barrier if the entries hold it. */
  private observe(entries: readonly LogEntry[]): LogEntry | null {
    let own: LogEntry | null = null;
    const p = this.pendingBarrier;
    for (const e of entries) {
      if (e.subject !== this.o.subjects.ctl && e.subject !== this.o.subjects.hb) continue;
      const f = decodeFrame(e.data);
      if (f.type !== FrameType.Heartbeat && f.type !== FrameType.Barrier) continue;
      if (f.epoch > this.epochSeen) this.epochSeen = f.epoch;
      if (p !== null && f.type === FrameType.Barrier && e.seq === p.seq && f.epoch === p.epoch && f.node === this.o.node) own = e;
    }
    return own;
  }

  private note(msg: string, err: unknown): void {
    this.o.events.note?.(msg, { err: err instanceof Error ? err.message : String(err), applied: this.o.applier.applied });
  }
}
