// The TCP listener: accepts sockets, owns the set of live connections, and shuts down gracefully.

import { listenOn } from '../util/listen.js';
import { createServer, type Server } from 'node:net';
import type { Broker } from '../broker/broker.js';
import type { Logger } from '../log.js';
import { ConnectionError } from '../protocol/errors.js';
import { Connection, type ConnectionRegistry } from './connection.js';
import type { Transport } from './transport.js';

/** How long a graceful shutdown waits for clients to answer connection.close. */
const SHUTDOWN_GRACE_MS = 1000;

export class Listener implements ConnectionRegistry {
  private readonly server: Server;
  private readonly broker: Broker;
  private readonly log: Logger;
  readonly connections = new Set<Connection>();
  private nextId = 1;
  private readonly timeoutSweep: NodeJS.Timeout;

  constructor(broker: Broker, log: Logger) {
    this.broker = broker;
    this.log = log;
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.timeoutSweep = setInterval(() => {
      const now = broker.clock.now();
      for (const c of this.connections) c.checkConsumerTimeouts(now);
    }, broker.config.consumerTimeoutCheckMs);
    this.timeoutSweep.unref();
    broker.alarms.onChange((blocked, reason) => {
      for (const c of this.connections) c.setAlarm(blocked, reason);
    });
  }

  /** A new client byte stream (TCP socket or WebSocket). */
  accept(t: Transport): void {
    const id = this.nextId++;
    const conn = new Connection(id, t, this.broker, this, this.log.child({ conn: id, peer: `${t.remoteAddress ?? '?'}:${t.remotePort ?? 0}` }));
    this.connections.add(conn);
  }

  listen(host: string, port: number): Promise<number> {
    return listenOn(this.server, host, port);
  }


  removeConnection(c: Connection): void {
    this.connections.delete(c);
  }

  /** Stop accepting, send 320 CONNECTION_FORCED to every client, wait briefly for close-ok. */
  async close(): Promise<void> {
    clearInterval(this.timeoutSweep);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.connections) {
      c.closeConnection(new ConnectionError(320, "broker forced connection closure with reason 'shutdown'", 0, 0));
    }
    const deadline = Date.now() + SHUTDOWN_GRACE_MS;
    while (this.connections.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const c of this.connections) c.destroy();
    await closed;
    this.log.info('listener closed');
  }
}
