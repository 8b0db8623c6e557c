// The AMQP listeners (plain TCP and TLS, on one or both loopback families): accept sockets, own the
// set of live connections, and shut down gracefully.

import { listenOn } from '../util/listen.js';
import { createServer, type Server, type Socket } from 'node:net';
import type { TlsOptions } from 'node:tls';
import type { Broker } from '../broker/broker.js';
import type { Logger } from '../log.js';
import type { Timer } from '../util/clock.js';
import { ConnectionError } from '../protocol/errors.js';
import { Connection, type ConnectionRegistry } from './connection.js';
import { createAmqpsServer } from './tls.js';
import type { Transport } from './transport.js';

/** How long a graceful shutdown waits for clients to answer connection.close. */
const SHUTDOWN_GRACE_MS = 1000;

/** The addresses listened on when no host is given: loopback on both families. */
export const LOOPBACK_V4 = '127.0.0.1';
export const LOOPBACK_V6 = '::1';

/**
 * With port 0, the port the kernel picked for 127.0.0.1 may already be taken on ::1 by someone else;
 * then both are given up and a new pair tried. A handful of tries makes a persistent clash vanishingly unlikely.
 */
const PAIR_ATTEMPTS = 5;

/** What a bind attempt returns: the port bound and a way to give it back. */
export interface BoundHandle {
  readonly port: number;
  close(): void;
}

/** The result of listening: the one port shared by every address, and those addresses. */
export interface Bound<H extends BoundHandle = BoundHandle> {
  readonly port: number;
  readonly hosts: readonly string[];
  readonly handles: readonly H[];
}

/**
 * Listen on `host`, or with host null on 127.0.0.1 and then ::1 on the same port. ::1 is skipped
 * (logged at debug) when the machine has no IPv6 loopback; any other failure is an error.
 */
export async function listenOnHosts<H extends BoundHandle>(
  host: string | null,
  port: number,
  bind: (host: string, port: number) => Promise<H>,
  log: Logger,
): Promise<Bound<H>> {
  if (host !== null) {
    const h = await bind(host, port);
    return { port: h.port, hosts: [host], handles: [h] };
  }
  for (let attempt = 1; ; attempt++) {
    const v4 = await bind(LOOPBACK_V4, port);
    try {
      const v6 = await bind(LOOPBACK_V6, v4.port);
      return { port: v4.port, hosts: [LOOPBACK_V4, LOOPBACK_V6], handles: [v4, v6] };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') {
        log.debug({ code, port: v4.port }, 'no IPv6 loopback, listening on 127.0.0.1 only');
        return { port: v4.port, hosts: [LOOPBACK_V4], handles: [v4] };
      }
      v4.close();
      if (code !== 'EADDRINUSE' || port !== 0 || attempt >= PAIR_ATTEMPTS) throw err;
      log.debug({ port: v4.port, attempt }, 'port taken on ::1, picking another pair');
    }
  }
}

interface ServerHandle extends BoundHandle {
  readonly server: Server;
}

export class Listener implements ConnectionRegistry {
  private readonly servers: Server[] = [];
  /** Every accepted TCP socket, so a TLS socket still in its handshake can be cut off at shutdown. */
  private readonly sockets = new Set<Socket>();
  private readonly broker: Broker;
  private readonly log: Logger;
  readonly connections = new Set<Connection>();
  private nextId = 1;
  private readonly drainWaiters: (() => void)[] = [];
  private readonly timeoutSweep: Timer;

  constructor(broker: Broker, log: Logger) {
    this.broker = broker;
    this.log = log;
    this.timeoutSweep = broker.clock.every(broker.config.consumerTimeoutCheckMs, () => {
      const now = broker.clock.now();
      for (const c of this.connections) c.checkConsumerTimeouts(now);
    });
    broker.alarms.onChange((blocked, reason) => {
      for (const c of this.connections) c.setAlarm(blocked, reason);
    });
  }

  /** A new client byte stream (TCP socket, TLS socket or WebSocket). */
  accept(t: Transport): void {
    const id = this.nextId++;
    const conn = new Connection(id, t, this.broker, this, this.log.child({ conn: id, peer: `${t.remoteAddress ?? '?'}:${t.remotePort ?? 0}` }));
    this.connections.add(conn);
  }

  /** Plain AMQP on `host` (null: both loopback families, see listenOnHosts). */
  async listen(host: string | null, port: number): Promise<Bound> {
    return this.listenWith(host, port, () => createServer({ noDelay: true }, (socket) => this.accept(socket)));
  }

  /** AMQP over TLS (amqps) on `host`: sockets join the same accept path once their handshake is done. */
  async listenTls(host: string | null, port: number, options: TlsOptions): Promise<Bound> {
    const log = this.log.child({ listener: 'amqps' });
    return this.listenWith(host, port, () => createAmqpsServer(options, (socket) => this.accept(socket), log));
  }

  private async listenWith(host: string | null, port: number, make: () => Server): Promise<Bound> {
    const bound = await listenOnHosts(host, port, (h, p) => this.bindOne(make(), h, p), this.log);
    for (const { server } of bound.handles) {
      this.servers.push(server);
      server.on('connection', (socket: Socket) => {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
      });
      server.on('error', (err: Error) => this.log.error({ err: err.message }, 'listener error'));
    }
    return bound;
  }

  private async bindOne(server: Server, host: string, port: number): Promise<ServerHandle> {
    const bound = await listenOn(server, host, port);
    return { server, port: bound, close: () => void server.close() };
  }

  removeConnection(c: Connection): void {
    this.connections.delete(c);
    if (this.connections.size === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  /** Resolves when every connection is gone, or after `graceMs` on the broker's clock. */
  private drained(graceMs: number): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.broker.clock.after(graceMs, () => resolve());
      this.drainWaiters.push(() => {
        timer.cancel();
        resolve();
      });
    });
  }

  /** Stop accepting, send 320 CONNECTION_FORCED to every client, wait briefly for close-ok. */
  async close(): Promise<void> {
    this.timeoutSweep.cancel();
    const closed = Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const c of this.connections) {
      c.closeConnection(new ConnectionError(320, "broker forced connection closure with reason 'shutdown'", 0, 0));
    }
    await this.drained(SHUTDOWN_GRACE_MS);
    for (const c of this.connections) c.destroy();
    // Whatever is left never became a connection (a TLS handshake in progress).
    for (const s of this.sockets) s.destroy();
    await closed;
    this.log.info('listener closed');
  }
}
