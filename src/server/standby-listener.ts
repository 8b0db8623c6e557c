// The client ports of an HA standby (AMQP, and when configured amqps and AMQP over WebSocket).
// A standby serves nothing, but a client given every node's address should learn that at once and
// move on, not wait on a connect error: each connection (once its TLS handshake or WebSocket
// upgrade is done) gets connection.start as from a broker, then, on start-ok, connection.close
// 320 CONNECTION_FORCED saying why (the code RabbitMQ sends when a node shuts down, which clients
// with automatic recovery retry, through their host list).

import { createServer, type Server } from 'node:net';
import type { TlsOptions } from 'node:tls';
import type { Logger } from '../log.js';
import { connectionForced } from '../protocol/errors.js';
import { encodeMethodFrame } from '../protocol/frame-writer.js';
import * as M from '../protocol/generated/amqp.js';
import type { Clock } from '../util/clock.js';
import { LogSummary } from '../util/log-summary.js';
import { Refusal, type RefusalContext, type RefusalOutcome } from './refusal.js';
import { MECHANISMS } from './sasl.js';
import { serverProperties } from './server-properties.js';
import { ServerSet, type Bound } from './server-set.js';
import { createAmqpsServer } from './tls.js';
import type { Transport } from './transport.js';
import { createAmqpWebSocketServer } from './websocket.js';

export type { RefusalOutcome } from './refusal.js';

/** Time to send the header and start-ok: RabbitMQ's handshake_timeout default. */
export const STANDBY_HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * After our connection.close (or our answer to a bad header), how long the peer has to send
 * close-ok or close its side; also the grace a closing listener gives refusals under way.
 * As the broker listener's shutdown grace: a client answers at once or not at all.
 */
export const STANDBY_CLOSE_WAIT_MS = 1_000;
/**
 * Sockets accepted and still open, on all ports together (refusals, TLS handshakes, WebSocket
 * upgrades); past it a socket is dropped at accept, so a flood holds no memory.
 */
export const MAX_REFUSING = 1_024;

export interface StandbyListenerOptions {
  clock: Clock;
  log: Logger;
  /** Config server properties over the broker's own (connection.start carries what the broker would). */
  serverProperties?: Readonly<Record<string, string>>;
  /** The reply text's detail, asked at each refusal (it may follow the node's role). */
  reason: () => string;
  /** Lines about refusals come at most once per this many ms, with counts (default 10 s). */
  summaryIntervalMs?: number;
  /** Sockets open at once (default MAX_REFUSING). */
  maxPending?: number;
}

/** The ports a broker would serve clients on, as startBroker binds them. */
export interface StandbyPorts {
  /** AMQP and amqps: the given host, or null for both loopback families. */
  readonly host: string | null;
  readonly port: number;
  readonly tls: { readonly port: number; readonly options: TlsOptions } | null;
  /** AMQP over WebSocket takes one address. */
  readonly ws: { readonly host: string; readonly port: number } | null;
}

type PortKind = 'amqp' | 'amqps' | 'web-amqp';

/** Refusals are one flood whatever their peer: one line at its start, then one summary per interval. */
const SUMMARY_KEY = 'amqp';

export class StandbyListener {
  private readonly o: StandbyListenerOptions;
  private readonly servers: ServerSet;
  /** The kinds of port listened on now. */
  private readonly open = new Set<PortKind>();
  private readonly refusals = new Set<Refusal>();
  private readonly summary: LogSummary;
  private readonly ctx: RefusalContext;

  constructor(o: StandbyListenerOptions) {
    this.o = o;
    this.summary = new LogSummary(o.clock, o.log, {
      level: 'info',
      msg: 'HA standby: refused AMQP connections',
      countsField: 'outcomes',
      ...(o.summaryIntervalMs === undefined ? {} : { intervalMs: o.summaryIntervalMs }),
    });
    this.servers = new ServerSet({
      log: o.log,
      errorMsg: 'standby listener error',
      maxSockets: o.maxPending ?? MAX_REFUSING,
      onOverLimit: (peer) => this.note('over-limit', peer),
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
      handshakeTimeoutMs: STANDBY_HANDSHAKE_TIMEOUT_MS,
      closeWaitMs: STANDBY_CLOSE_WAIT_MS,
    };
  }

  get listening(): boolean {
    return this.open.size > 0;
  }

  /** Refusals under way (tests). */
  get pending(): number {
    return this.refusals.size;
  }

  /** Plain AMQP on `host` (null: both loopback families, as the broker's listener). */
  listen(host: string | null, port: number): Promise<Bound> {
    return this.listenAs('amqp', host, port, () => createServer({ noDelay: true }, (socket) => this.accept(socket)));
  }

  /** amqps on `host`: the TLS handshake completes, then the refusal. */
  listenTls(host: string | null, port: number, options: TlsOptions): Promise<Bound> {
    const log = this.o.log.child({ listener: 'amqps' });
    return this.listenAs('amqps', host, port, () => createAmqpsServer(options, (socket) => this.accept(socket), log));
  }

  /** AMQP over WebSocket on `host`: the upgrade completes, then the refusal over the WebSocket. */
  listenWebSocket(host: string, port: number): Promise<Bound> {
    return this.listenAs('web-amqp', host, port, () => createAmqpWebSocketServer((t) => this.accept(t)).http);
  }

  /**
   * Every port of `ports` not listened on yet; resolves with the ports bound (port 0: the one
   * picked). A port that cannot be bound does not keep the others from refusing: they stay open
   * and the error, naming each failed port, is thrown after.
   */
  async listenAll(ports: StandbyPorts): Promise<StandbyPorts> {
    const failed: string[] = [];
    const attempt = async (kind: PortKind, port: number, bind: () => Promise<Bound>): Promise<number> => {
      if (this.open.has(kind)) return port;
      try {
        return (await bind()).port;
      } catch (err) {
        failed.push(`${kind} port ${port}: ${err instanceof Error ? err.message : String(err)}`);
        return port;
      }
    };
    const port = await attempt('amqp', ports.port, () => this.listen(ports.host, ports.port));
    const { tls, ws } = ports;
    const tlsPort = tls === null ? null : await attempt('amqps', tls.port, () => this.listenTls(ports.host, tls.port, tls.options));
    const wsPort = ws === null ? null : await attempt('web-amqp', ws.port, () => this.listenWebSocket(ws.host, ws.port));
    if (failed.length > 0) throw new Error(`HA standby: cannot listen on ${failed.join('; ')}`);
    return { host: ports.host, port, tls: tls === null || tlsPort === null ? null : { ...tls, port: tlsPort }, ws: ws === null || wsPort === null ? null : { ...ws, port: wsPort } };
  }

  private async listenAs(kind: PortKind, host: string | null, port: number, make: () => Server): Promise<Bound> {
    if (this.open.has(kind)) throw new Error(`the standby listener is already listening for ${kind}`);
    const bound = await this.servers.listen(host, port, make);
    this.open.add(kind);
    this.o.log.info({ listener: kind, hosts: bound.hosts, port: bound.port }, 'HA standby: port open, refusing clients until promoted');
    return bound;
  }

  private accept(t: Transport): void {
    const r = new Refusal(t, this.ctx);
    this.refusals.add(r);
    t.once('close', () => {
      r.closed();
      this.refusals.delete(r);
      this.note(r.outcome ?? 'gone', r.peer);
    });
  }

  private note(outcome: RefusalOutcome, peer: string): void {
    this.summary.note(SUMMARY_KEY, outcome, { peer, reason: this.o.reason() });
  }

  /**
   * Give the ports up: clients past the header are told why (connection.close) and get a moment
   * to answer, the others are dropped. Idempotent; listen() may be called again afterwards.
   */
  async close(): Promise<void> {
    await (await this.stopAccepting()).drained;
  }

  /**
   * Frees the ports now; `drained` resolves once the refusals under way are done (at most the
   * close wait), for a caller that need not wait for them. (Wrapped in an object: a promise
   * resolved with a promise would wait for it.)
   */
  async stopAccepting(): Promise<{ readonly drained: Promise<void> }> {
    const kinds = [...this.open];
    this.open.clear();
    const released = this.servers.close();
    // Only these are drained: the ports may refuse again (after a fencing) before they are done.
    const refusals = [...this.refusals];
    for (const r of refusals) r.shutdown();
    // The listening handles close at the end of this turn of the event loop.
    await new Promise<void>((resolve) => setImmediate(resolve));
    // What was counted is logged now: the next refusals are news again.
    this.summary.forget(SUMMARY_KEY);
    if (kinds.length > 0) this.o.log.info({ listeners: kinds }, 'HA standby: ports closed');
    const drained = this.within(STANDBY_CLOSE_WAIT_MS, Promise.all(refusals.map((r) => r.done))).then(async () => {
      for (const r of refusals) r.socket.destroy();
      // Sockets that never became refusals: a TLS handshake or a WebSocket upgrade under way.
      released.destroySockets();
      await released.closed;
    });
    return { drained };
  }

  /** Resolves when `p` does, or after `graceMs` on the clock. */
  private within(graceMs: number, p: Promise<unknown>): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.o.clock.after(graceMs, () => resolve());
      void p.then(() => {
        timer.cancel();
        resolve();
      });
    });
  }
}
