// Listening ports, shared by the broker's listeners and an HA standby's refusing ones: binding on one
// or both loopback families, and the raw sockets each server accepted (a TLS handshake or a
// WebSocket upgrade in progress is no connection yet, but must still be cut off at shutdown).

import type { Server, Socket } from 'node:net';
import type { Logger } from '../log.js';
import { listenOn } from '../util/listen.js';

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

export interface ServerSetOptions {
  log: Logger;
  /** Logged with a server's error. */
  errorMsg: string;
  /**
   * Past this many sockets open on one server, a new one is closed at accept (default: no cap).
   * Node counts raw sockets, so a TLS handshake or a WebSocket counts as much as a plain socket.
   */
  maxSockets?: number;
  /** Told of each socket closed for the cap (the peer's address, as node gives it). */
  onOverLimit?: (peer: string) => void;
}

/** What node's 'drop' event tells of a socket closed for maxConnections. */
interface DropInfo {
  remoteAddress?: string;
  remotePort?: number;
}

/** The servers behind one or more ports (plain, TLS or HTTP: all net servers) and their sockets. */
export class ServerSet {
  private readonly o: ServerSetOptions;
  private servers: Server[] = [];
  /** Raw sockets accepted by `servers` and not yet closed. */
  private sockets = new Set<Socket>();

  constructor(o: ServerSetOptions) {
    this.o = o;
  }

  get listening(): boolean {
    return this.servers.length > 0;
  }

  /** Listen with servers from `make` on `host` (null: both loopback families, see listenOnHosts). */
  async listen(host: string | null, port: number, make: () => Server): Promise<Bound> {
    const bound = await listenOnHosts(host, port, (h, p) => this.bindOne(make(), h, p), this.o.log);
    for (const { server } of bound.handles) {
      this.servers.push(server);
      server.on('connection', (socket: Socket) => {
        // The set of the servers listening now: close() hands it over whole.
        const sockets = this.sockets;
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      server.on('error', (err: Error) => this.o.log.error({ err: err.message }, this.o.errorMsg));
    }
    return bound;
  }

  private async bindOne(server: Server, host: string, port: number): Promise<ServerHandle> {
    // Node's own cap closes the socket before any 'connection' listener (TLS, HTTP) sees it.
    if (this.o.maxSockets !== undefined) {
      server.maxConnections = this.o.maxSockets;
      server.on('drop', (d?: DropInfo) => this.o.onOverLimit?.(`${d?.remoteAddress ?? '?'}:${d?.remotePort ?? 0}`));
    }
    const bound = await listenOn(server, host, port);
    return { server, port: bound, close: () => void server.close() };
  }

  /**
   * Stop accepting: every listening handle is closed (at the end of this turn of the event loop),
   * and listen() may be called again; what the closed servers accepted stays theirs. `closed`
   * resolves once every socket they accepted is gone; destroySockets() cuts those still open.
   */
  close(): { readonly closed: Promise<void>; destroySockets(): void } {
    const servers = this.servers;
    const sockets = this.sockets;
    this.servers = [];
    this.sockets = new Set();
    return {
      closed: Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined),
      destroySockets: () => {
        for (const s of sockets) s.destroy();
      },
    };
  }
}
