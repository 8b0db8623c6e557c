// ReplicatedLog on a NATS JetStream stream: file storage, R3 by default, one stream per
// replication group. Appends are JetStream publishes with Nats-Expected-Last-Sequence (the
// engine checks it after Raft, so a deposed leader's append is refused) and Nats-Msg-Id (a retry
// after a timeout is deduplicated within the stream's duplicate window). Reads go through an
// ordered consumer, recreated when the reader jumps.

import { jetstream, jetstreamManager, DeliverPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, nanos, NoRespondersError, TimeoutError, type NatsConnection } from '@nats-io/transport-node';
import type { Clock, Timer } from '../util/clock.js';
import { handOverUpTo } from './gap-check.js';
import { AppendTimeoutError, WrongLastSequenceError, type AppendOptions, type GroupSubjects, type LogEntry, type PurgeOptions, type ReplicatedLog } from './replicated-log.js';

/** JetStream's error codes for failed Nats-Expected-Last-Sequence and Nats-Expected-Last-Msg-Id checks. */
const WRONG_LAST_SEQUENCE = 10071;
const WRONG_LAST_MSG_ID = 10070;

export interface JetStreamLogOptions {
  /** nats:// URLs of the cluster's nodes. */
  servers: readonly string[];
  subjects: GroupSubjects;
  /** Stream replicas (3 in production; the stream is created with it if missing). */
  replicas: number;
  /** How long an append waits for its ack before it counts as timed out. */
  appendTimeoutMs: number;
  clock: Clock;
  /** Client name shown in the NATS monitoring pages. */
  name: string;
  /**
   * Idle heartbeat of the reader's pulls (default 1 s, 500 ms at least): a pull the client
   * thinks open and the server ended stalls the reader until two are missed (30 s by default).
   */
  readerHeartbeatMs?: number;
}

/** Bytes the reader buffers ahead of read() before it stops taking more (frames are up to 8 MB each). */
const READ_AHEAD_BYTES = 64 * 1024 * 1024;
/** Bytes the consumer may have pulled and not yet handed over. */
const PULL_BYTES = 32 * 1024 * 1024;

interface Tail {
  next: number;
  readonly messages: ConsumerMessages;
  readonly queue: LogEntry[];
  queuedBytes: number;
  /** Highest sequence queued: an ordered consumer that resets after a node's death must not hand one out twice. */
  lastQueued: number;
  error: Error | null;
  wake: (() => void) | null;
  /** Set while the reader waits for read() to take entries (back-pressure). */
  drained: (() => void) | null;
}

/**
 * The client reports a request no server took (no stream leader while the engine elects one) as
 * "jetstream is not enabled": said plainly in warren's logs.
 */
function explain(err: unknown): Error {
  if (noResponders(err) || err instanceof NoRespondersError) return new NoStreamLeaderError(err.message);
  return err instanceof Error ? err : new Error(String(err));
}

/** The client's JetStreamNotEnabled (not exported by its package) for a request no server took, not for an account without JetStream. */
function noResponders(err: unknown): err is Error {
  return err instanceof Error && err.name === 'JetStreamNotEnabled' && !(err.cause instanceof JetStreamApiError);
}

/** No JetStream server took the request: the stream has no leader (an election after a NATS node died). */
export class NoStreamLeaderError extends Error {
  constructor(detail: string) {
    super(`no JetStream server answered, the stream has no leader (an election?): ${detail}`);
    this.name = 'NoStreamLeaderError';
  }
}

export class JetStreamLog implements ReplicatedLog {
  private readonly nc: NatsConnection;
  private readonly js: JetStreamClient;
  private readonly jsm: JetStreamManager;
  private readonly opts: JetStreamLogOptions;
  private tail: Tail | null = null;
  /** The engine's max_payload, from the server's INFO. */
  readonly maxPayload: number;
  /**
   * See ReplicatedLog.purgesSafe: every node given answered (at open) with version 2.9.21 or
   * later. One older node is enough to lose data (it replays purges wrongly when it restarts), so
   * a mixed cluster, as in a rolling upgrade, or a node that did not answer, means no purges.
   */
  purgesSafe = false;
  /** Each given node's version as its INFO gives it ('unreachable' if it did not answer at open). */
  serverVersions: string[] = [];
  /** Reads cut short at a gap the stream still holds (a consumer on a replica catching up). */
  gapRereads = 0;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, opts: JetStreamLogOptions) {
    this.nc = nc;
    this.jsm = jsm;
    this.js = jetstream(nc, { timeout: opts.appendTimeoutMs });
    this.opts = opts;
    this.maxPayload = nc.info?.max_payload ?? 1024 * 1024;
  }

  /**
   * Connects (retrying forever while no node answers) and makes sure the stream exists. The
   * connection goes to the node that leads the stream's Raft group where it can: an append sent
   * to another node crosses one more route each way, which cost 10–40 % of the append rate on a
   * loaded 2-core machine. After a NATS node's death the connection stays wherever it lands.
   */
  static async open(opts: JetStreamLogOptions): Promise<JetStreamLog> {
    let log = await JetStreamLog.connectTo([...opts.servers], false, opts);
    const nodes = await log.probeServers();
    const leaderUrl = await log.streamLeaderUrl(nodes).catch(() => null);
    if (leaderUrl !== null) {
      const servers = [leaderUrl, ...opts.servers.filter((u) => u !== leaderUrl)];
      const better = await JetStreamLog.connectTo(servers, true, opts).catch(() => null);
      if (better !== null) {
        await log.nc.close();
        log = better;
      }
    }
    log.serverVersions = nodes.map((n) => n?.version ?? 'unreachable');
    log.purgesSafe = nodes.every((n) => n !== null && versionAtLeast(n.version, [2, 9, 21]));
    return log;
  }

  /**
   * Name and version of each given node, all at once, each with a short connect timeout (an
   * unreachable node must not hold up a start); null for one that did not answer.
   */
  private probeServers(): Promise<({ name: string | undefined; version: string } | null)[]> {
    return Promise.all(
      this.opts.servers.map(async (url) => {
        const probe = await connect({ servers: [url], name: `${this.opts.name} (probe)`, maxReconnectAttempts: 0, timeout: Math.min(this.opts.appendTimeoutMs, 2_000) }).catch(() => null);
        if (probe === null) return null;
        const node = { name: probe.info?.server_name, version: probe.info?.version ?? '0.0.0' };
        await probe.close().catch(() => undefined);
        return node;
      }),
    );
  }

  private static async connectTo(servers: string[], noRandomize: boolean, opts: JetStreamLogOptions): Promise<JetStreamLog> {
    const nc = await connect({
      servers,
      noRandomize,
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // No stack captured per request: every append is one, and the leader sends hundreds a second.
      noAsyncTraces: true,
      // Fail fast when no node answers: the caller retries and says so in its logs.
      waitOnFirstConnect: false,
    });
    try {
      const jsm = await jetstreamManager(nc, { timeout: opts.appendTimeoutMs });
      const log = new JetStreamLog(nc, jsm, opts);
      await log.ensureStream();
      return log;
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  /** Name of the NATS node this log's connection is on. */
  get server(): string | undefined {
    return this.nc.info?.server_name;
  }

  /** Name of the NATS node leading the stream's Raft group (appends are decided there). */
  async streamLeader(): Promise<string | undefined> {
    return (await this.jsm.streams.info(this.opts.subjects.stream)).cluster?.leader;
  }

  /** URL (of opts.servers, probed as `nodes`) of the node leading the stream, when this connection is not on it; else null. */
  private async streamLeaderUrl(nodes: readonly ({ name: string | undefined } | null)[]): Promise<string | null> {
    const leader = await this.streamLeader();
    if (leader === undefined || leader === '' || this.nc.info?.server_name === leader) return null;
    const i = nodes.findIndex((n) => n?.name === leader);
    return i < 0 ? null : (this.opts.servers[i] as string);
  }

  private async ensureStream(): Promise<void> {
    const s = this.opts.subjects;
    try {
      await this.jsm.streams.info(s.stream);
      return;
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.status !== 404) throw err;
    }
    try {
      await this.jsm.streams.add({
        name: s.stream,
        subjects: [s.all],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        num_replicas: this.opts.replicas,
        // Long enough for a retry after any append timeout.
        duplicate_window: nanos(120_000),
      });
    } catch (err) {
      // Another node created it meanwhile.
      if (!(err instanceof JetStreamApiError) || err.code !== 10058) throw err;
    }
  }

  async append(subject: string, data: Uint8Array, opts: AppendOptions): Promise<number> {
    try {
      const ack = await this.js.publish(subject, data, {
        msgID: opts.msgId,
        expect: opts.expectedLastMsgId === undefined ? { lastSequence: opts.expectedLastSeq } : { lastSequence: opts.expectedLastSeq, lastMsgID: opts.expectedLastMsgId },
        timeout: this.opts.appendTimeoutMs,
      });
      return ack.seq;
    } catch (err) {
      if (err instanceof JetStreamApiError && (err.code === WRONG_LAST_SEQUENCE || err.code === WRONG_LAST_MSG_ID)) throw new WrongLastSequenceError(opts.expectedLastSeq, err.message);
      // No stream leader (an election) or no answer: the append may have gone in; retry with the same id.
      if (err instanceof TimeoutError || err instanceof NoRespondersError || noResponders(err)) throw new AppendTimeoutError(explain(err).message);
      throw err;
    }
  }

  async lastSequence(): Promise<number> {
    try {
      const info = await this.jsm.streams.info(this.opts.subjects.stream);
      return info.state.last_seq;
    } catch (err) {
      throw explain(err);
    }
  }

  async purgeSubject(subject: string, opts?: PurgeOptions): Promise<void> {
    const stream = this.opts.subjects.stream;
    // `seq` with `filter`: only the subject's entries below seq go (nats-server 2.9 has both).
    if (opts?.upToSeq !== undefined) {
      // seq 0 would read as "no bound" and purge the whole subject; below 1 there is nothing.
      if (opts.upToSeq > 1) await this.jsm.streams.purge(stream, { filter: subject, seq: opts.upToSeq });
    }
    else if (opts?.keep !== undefined && opts.keep > 0) await this.jsm.streams.purge(stream, { filter: subject, keep: opts.keep });
    else await this.jsm.streams.purge(stream, { filter: subject });
  }

  /** The stream's name and creation time: a stream deleted and made again is another log. */
  async identity(): Promise<string> {
    const info = await this.jsm.streams.info(this.opts.subjects.stream);
    return `${info.config.name} created ${info.created}`;
  }

  async read(fromSeq: number, max: number, waitMs: number): Promise<LogEntry[]> {
    let t = this.tail;
    if (t === null || t.next !== fromSeq) {
      await this.stopTail();
      t = await this.startTail(fromSeq);
    }
    if (t.queue.length === 0 && t.error === null && waitMs > 0) {
      const tail = t;
      let timer: Timer | null = null;
      await new Promise<void>((resolve) => {
        tail.wake = resolve;
        timer = this.opts.clock.after(waitMs, resolve);
      });
      tail.wake = null;
      (timer as Timer | null)?.cancel();
    }
    if (t.error !== null && t.queue.length === 0) {
      const err = t.error;
      await this.stopTail();
      throw err;
    }
    let out = t.queue.splice(0, max);
    for (const e of out) t.queuedBytes -= e.data.length;
    const drained = t.drained;
    t.drained = null;
    drained?.();
    const kept = await this.checkGaps(fromSeq, out);
    if (kept < out.length) {
      // The consumer skipped entries the stream holds: read again from the first one skipped.
      out = out.slice(0, kept);
      await this.stopTail();
      return out;
    }
    const last = out[out.length - 1];
    if (last !== undefined) t.next = last.seq + 1;
    return out;
  }

  /**
   * See gap-check.ts: a gap is a purge only if the stream holds no entry in it. Asked with
   * STREAM.MSG.GET (answered by the stream's leader, not a replica) for the first entry of any
   * subject at or after the gap's start (`next_by_subj`, nats-server 2.9 or later).
   */
  private async checkGaps(fromSeq: number, out: readonly LogEntry[]): Promise<number> {
    const n = await handOverUpTo(
      fromSeq,
      out.map((e) => e.seq),
      async (seq) => {
        // The client's type lists only seq or last_by_subj for this API; the server takes next_by_subj too.
        const query = { seq, next_by_subj: this.opts.subjects.all } as unknown as { seq: number };
        return (await this.jsm.streams.getMessage(this.opts.subjects.stream, query))?.seq ?? null;
      },
    );
    if (n < out.length) this.gapRereads++;
    return n;
  }

  private async startTail(fromSeq: number): Promise<Tail> {
    const consumer = await this.js.consumers.get(this.opts.subjects.stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: Math.max(1, fromSeq),
    });
    const messages = await consumer.consume({ max_bytes: PULL_BYTES, idle_heartbeat: Math.max(500, this.opts.readerHeartbeatMs ?? 1_000) });
    const tail: Tail = { next: fromSeq, messages, queue: [], queuedBytes: 0, lastQueued: fromSeq - 1, error: null, wake: null, drained: null };
    this.tail = tail;
    void (async () => {
      try {
        for await (const m of messages) {
          if (m.seq <= tail.lastQueued) continue;
          tail.lastQueued = m.seq;
          const id = m.headers?.get('Nats-Msg-Id');
          tail.queue.push(id === undefined || id === '' ? { seq: m.seq, subject: m.subject, data: m.data } : { seq: m.seq, subject: m.subject, data: m.data, msgId: id });
          tail.queuedBytes += m.data.length;
          tail.wake?.();
          // Back-pressure: the consumer pulls more only when this loop takes the next message.
          if (tail.queuedBytes >= READ_AHEAD_BYTES) await new Promise<void>((r) => (tail.drained = r));
        }
        // The iterator ended without an error (the consumer went away): the next read starts a new one.
        if (this.tail === tail) tail.error = new Error('log consumer closed');
      } catch (err) {
        tail.error = err instanceof Error ? err : new Error(String(err));
      }
      tail.wake?.();
    })();
    return tail;
  }

  private async stopTail(): Promise<void> {
    const t = this.tail;
    this.tail = null;
    if (t !== null) {
      t.messages.stop();
      t.wake?.();
      t.drained?.();
    }
  }

  resetReader(): void {
    void this.stopTail();
  }

  async close(): Promise<void> {
    await this.stopTail();
    await this.nc.close();
  }
}

/** `version` ("2.9.10", "2.10.23-beta") is at least `min`. */
export function versionAtLeast(version: string, min: readonly [number, number, number]): boolean {
  const parts = version.split(/[.-]/).slice(0, 3).map((x) => Number.parseInt(x, 10));
  for (let i = 0; i < 3; i++) {
    const v = Number.isFinite(parts[i]) ? (parts[i] as number) : 0;
    if (v !== min[i]) return v > (min[i] as number);
  }
  return true;
}
