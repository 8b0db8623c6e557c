// The AMQP port of an HA standby. A standby serves nothing, but a client given every node's
// address should learn that at once and move on, not wait on a connect error: each connection
// gets connection.start as from a broker, then, on start-ok, connection.close 320
// CONNECTION_FORCED saying why (the code RabbitMQ sends when a node shuts down, which clients
// with automatic recovery retry, through their host list).

import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../log.js';
import { connectionForced } from '../protocol/errors.js';
import { FrameReader, type FrameHandler } from '../protocol/frame-reader.js';
import { encodeMethodFrame, PROTOCOL_HEADER } from '../protocol/frame-writer.js';
import * as M from '../protocol/generated/amqp.js';
import type { Clock, Timer } from '../util/clock.js';
import { listenOn } from '../util/listen.js';
import { LogSummary } from '../util/log-summary.js';
import { LEGACY_0_9_HEADER } from './connection-handshake.js';
import { listenOnHosts, type Bound, type BoundHandle } from './listener.js';
import { MECHANISMS } from './sasl.js';
import { serverProperties } from './server-properties.js';

/** Time to send the header and start-ok: RabbitMQ's handshake_timeout default. */
export const STANDBY_HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * After our connection.close (or our answer to a bad header), how long the peer has to send
 * close-ok or close its side; also the grace a closing listener gives refusals under way.
 * As the broker listener's shutdown grace: a client answers at once or not at all.
 */
export const STANDBY_CLOSE_WAIT_MS = 1_000;
/** The largest frame read: the broker's limit before tune (a start-ok with big client properties). */
const FRAME_MAX = 131_072;
/** Refusals under way at once; past it a socket is dropped at accept, so a flood holds no memory. */
export const MAX_REFUSING = 1_024;

/** How a refused connection ended (counted in the summary log lines). */
export type RefusalOutcome = 'refused' | 'bad-header' | 'bad-frame' | 'timeout' | 'client-closed' | 'gone' | 'over-limit';

export interface StandbyListenerOptions {
  clock: Clock;
  log: Logger;
  /** Config server properties over the broker's own (connection.start carries what the broker would). */
  serverProperties?: Readonly<Record<string, string>>;
  /** The reply text's detail, asked at each refusal (it may follow the node's role). */
  reason: () => string;
  /** Lines about refusals come at most once per this many ms, with counts (default 10 s). */
  summaryIntervalMs?: number;
  /** Refusals under way at once (default MAX_REFUSING). */
  maxPending?: number;
}

const enum Phase {
  Header,
  AwaitStartOk,
  /** We sent connection.close and wait for close-ok. */
  Closing,
  /** Our side is shut; the socket is destroyed if the peer keeps its side open. */
  Done,
}

interface RefusalContext {
  readonly clock: Clock;
  readonly startFrame: Buffer;
  closeFrame(): Buffer;
}

/** One refused client: the handshake up to start-ok, then connection.close. */
class Refusal implements FrameHandler {
  readonly socket: Socket;
  readonly peer: string;
  outcome: RefusalOutcome | null = null;
  private readonly ctx: RefusalContext;
  private phase = Phase.Header;
  private readonly header = Buffer.alloc(8);
  private headerFilled = 0;
  private readonly reader: FrameReader;
  private timer: Timer;

  constructor(socket: Socket, ctx: RefusalContext) {
    this.socket = socket;
    this.ctx = ctx;
    this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.reader = new FrameReader(this, FRAME_MAX);
    this.timer = ctx.clock.after(STANDBY_HANDSHAKE_TIMEOUT_MS, () => this.drop('timeout'));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // A reset or a write after the peer left: 'close' follows and does the accounting.
    socket.on('error', () => undefined);
  }

  private onData(chunk: Buffer): void {
    if (this.phase === Phase.Done) return;
    if (this.phase === Phase.Header) {
      const take = this.header.length - this.headerFilled;
      this.headerFilled += chunk.copy(this.header, this.headerFilled, 0, take);
      if (this.headerFilled < this.header.length) return;
      if (!this.header.equals(PROTOCOL_HEADER) && !this.header.equals(LEGACY_0_9_HEADER)) {
        // AMQP 0-9-1 §4.2.2: answer an unsupported header with ours and close.
        this.outcome = 'bad-header';
        this.finish(PROTOCOL_HEADER);
        return;
      }
      this.phase = Phase.AwaitStartOk;
      this.socket.write(this.ctx.startFrame);
      chunk = chunk.subarray(take);
      if (chunk.length === 0) return;
    }
    try {
      this.reader.push(chunk);
    } catch {
      // Undecodable input: nothing the client says changes the answer, so no reply is owed.
      this.drop('bad-frame');
    }
  }

  onMethodFrame(channel: number, payload: Buffer): void {
    const m = channel === 0 ? M.decodeMethod(payload) : undefined;
    switch (m?.id) {
      case M.CONNECTION_START_OK:
        if (this.phase !== Phase.AwaitStartOk) break;
        this.outcome = 'refused';
        return this.refuse();
      case M.CONNECTION_CLOSE:
        this.outcome ??= 'client-closed';
        return this.finish(encodeMethodFrame(0, { id: M.CONNECTION_CLOSE_OK }));
      case M.CONNECTION_CLOSE_OK:
        if (this.phase === Phase.Closing) return this.finish();
        break;
      default:
        break;
    }
    this.unexpected();
  }

  onHeaderFrame(): void {
    this.unexpected();
  }

  onBodyFrame(): void {
    this.unexpected();
  }

  onBodyParts(): void {
    this.unexpected();
  }

  onHeartbeatFrame(): void {
    // Harmless before tune; ignored as the broker does.
  }

  /** Spec §4.2.2 (closing): after our connection.close, everything but close and close-ok is discarded. */
  private unexpected(): void {
    if (this.phase !== Phase.Closing) this.drop('bad-frame');
  }

  /** Send connection.close and wait (bounded) for close-ok. */
  private refuse(): void {
    this.phase = Phase.Closing;
    this.socket.write(this.ctx.closeFrame());
    this.rearm();
  }

  /** The listener closes: a client past the header is told why, the rest are dropped. */
  shutdown(): void {
    if (this.phase === Phase.AwaitStartOk) {
      this.outcome = 'refused';
      this.refuse();
    } else if (this.phase === Phase.Header) {
      this.drop('gone');
    }
  }

  /** Shut our side (after `last`); the peer has a moment to close its own. */
  private finish(last?: Buffer): void {
    this.phase = Phase.Done;
    this.reader.stopped = true;
    if (last === undefined) this.socket.end();
    else this.socket.end(last);
    this.rearm();
  }

  private drop(outcome: RefusalOutcome): void {
    this.outcome ??= outcome;
    this.phase = Phase.Done;
    this.reader.stopped = true;
    this.socket.destroy();
  }

  private rearm(): void {
    this.timer.cancel();
    this.timer = this.ctx.clock.after(STANDBY_CLOSE_WAIT_MS, () => this.drop('gone'));
  }

  /** The socket is gone: nothing may fire for it any more. */
  closed(): void {
    this.timer.cancel();
    this.phase = Phase.Done;
  }
}

interface ServerHandle extends BoundHandle {
  readonly server: Server;
}

/** Refusals are one flood whatever their peer: one line at its start, then one summary per interval. */
const SUMMARY_KEY = 'amqp';

export class StandbyListener {
  private readonly o: StandbyListenerOptions;
  private readonly servers: Server[] = [];
  private readonly refusals = new Set<Refusal>();
  private readonly summary: LogSummary;
  private readonly ctx: RefusalContext;
  private drainWaiters: (() => void)[] = [];

  constructor(o: StandbyListenerOptions) {
    this.o = o;
    this.summary = new LogSummary(o.clock, o.log, {
      level: 'info',
      msg: 'HA standby: refused AMQP connections',
      countsField: 'outcomes',
      ...(o.summaryIntervalMs === undefined ? {} : { intervalMs: o.summaryIntervalMs }),
    });
    // The start frame is the same for every client: encoded once.
    const startFrame = encodeMethodFrame(0, {
      id: M.CONNECTION_START,
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: serverProperties(o.serverProperties),
      // Whatever the broker enables, each mechanism gets the same refusal: offer the usual two.
      mechanisms: MECHANISMS,
      locales: 'en_US',
    });
    this.ctx = {
      clock: o.clock,
      startFrame,
      closeFrame: () => {
        const err = connectionForced(o.reason());
        return encodeMethodFrame(0, { id: M.CONNECTION_CLOSE, replyCode: err.replyCode, replyText: err.replyText, classId: 0, methodId: 0 });
      },
    };
  }

  get listening(): boolean {
    return this.servers.length > 0;
  }

  /** Refusals under way (tests, and the flood cap). */
  get pending(): number {
    return this.refusals.size;
  }

  /** Listen on `host` (null: both loopback families, as the broker's listener). */
  async listen(host: string | null, port: number): Promise<Bound> {
    if (this.listening) throw new Error('the standby listener is already listening');
    const bound = await listenOnHosts(host, port, (h, p) => this.bindOne(h, p), this.o.log);
    for (const { server } of bound.handles) {
      this.servers.push(server);
      server.on('error', (err: Error) => this.o.log.error({ err: err.message }, 'standby listener error'));
    }
    this.o.log.info({ hosts: bound.hosts, port: bound.port }, 'HA standby: AMQP port open, refusing clients until promoted');
    return bound;
  }

  private async bindOne(host: string, port: number): Promise<ServerHandle> {
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    const bound = await listenOn(server, host, port);
    return { server, port: bound, close: () => void server.close() };
  }

  private accept(socket: Socket): void {
    if (this.refusals.size >= (this.o.maxPending ?? MAX_REFUSING)) {
      socket.on('error', () => undefined);
      socket.destroy();
      this.note('over-limit', `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`);
      return;
    }
    const r = new Refusal(socket, this.ctx);
    this.refusals.add(r);
    socket.once('close', () => {
      r.closed();
      this.refusals.delete(r);
      this.note(r.outcome ?? 'gone', r.peer);
      if (this.refusals.size === 0) for (const w of this.drainWaiters.splice(0)) w();
    });
  }

  private note(outcome: RefusalOutcome, peer: string): void {
    this.summary.note(SUMMARY_KEY, outcome, { peer, reason: this.o.reason() });
  }

  /**
   * Give the port up: clients past the header are told why (connection.close) and get a moment
   * to answer, the others are dropped. Idempotent; listen() may be called again afterwards.
   */
  async close(): Promise<void> {
    await (await this.stopAccepting());
  }

  /**
   * Frees the port now (the broker binds it next) and returns the refusals still under way,
   * finishing in the background: a client slow to answer our close must not hold up a promotion.
   */
  async stopAccepting(): Promise<Promise<void>> {
    const servers = this.servers.splice(0);
    const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const r of this.refusals) r.shutdown();
    // The listening handles close at the end of this turn of the event loop.
    await new Promise<void>((resolve) => setImmediate(resolve));
    // What was counted is logged now: the next refusals are news again.
    this.summary.forget(SUMMARY_KEY);
    if (servers.length > 0) this.o.log.info('HA standby: AMQP port closed');
    return this.drained(STANDBY_CLOSE_WAIT_MS).then(async () => {
      for (const r of this.refusals) r.socket.destroy();
      await closed;
    });
  }

  /** Resolves when no refusal is under way, or after `graceMs` on the clock. */
  private drained(graceMs: number): Promise<void> {
    if (this.refusals.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.o.clock.after(graceMs, () => resolve());
      this.drainWaiters.push(() => {
        timer.cancel();
        resolve();
      });
    });
  }
}
