// The AMQP listeners (plain TCP and TLS, on one or both loopback families): accept sockets, own the
// set of live connections, and shut down gracefully. Binding and socket tracking: server-set.ts.

import { createServer } from 'node:net';
import type { TlsOptions } from 'node:tls';
import type { Broker } from '../broker/broker.js';
import type { Logger } from '../log.js';
import type { Timer } from '../util/clock.js';
import { connectionForced } from '../protocol/errors.js';
import { Connection, type ConnectionRegistry } from './connection.js';
import { ServerSet, type Bound } from './server-set.js';
import { createAmqpsServer } from './tls.js';
import type { Transport } from './transport.js';

/** How long a graceful shutdown waits for clients to answer connection.close. */
const SHUTDOWN_GRACE_MS = 1000;

export class Listener implements ConnectionRegistry {
  private readonly servers: ServerSet;
  private readonly broker: Broker;
  private readonly log: Logger;
  readonly connections = new Set<Connection>();
  private nextId = 1;
  private readonly drainWaiters: (() => void)[] = [];
  private readonly timeoutSweep: Timer;

  constructor(broker: Broker, log: Logger) {
    this.broker = broker;
    this.log = log;
    this.servers = new ServerSet({ log, errorMsg: 'listener error' });
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
    return this.servers.listen(host, port, () => createServer({ noDelay: true }, (socket) => this.accept(socket)));
  }

  /** AMQP over TLS (amqps) on `host`: sockets join the same accept path once their handshake is done. */
  async listenTls(host: string | null, port: number, options: TlsOptions): Promise<Bound> {
    const log = this.log.child({ listener: 'amqps' });
    return this.servers.listen(host, port, () => createAmqpsServer(options, (socket) => this.accept(socket), log));
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
    const released = this.servers.close();
    for (const c of this.connections) {
      c.closeConnection(connectionForced("broker forced connection closure with reason 'shutdown'"));
    }
    await this.drained(SHUTDOWN_GRACE_MS);
    for (const c of this.connections) c.destroy();
    // Whatever is left never became a connection (a TLS handshake in progress).
    released.destroySockets();
    await released.closed;
    this.log.info('listener closed');
  }
}
