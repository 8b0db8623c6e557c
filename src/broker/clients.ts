// The broker's view of the client connections the server layer holds: what the operator plane
// lists, and what deleting a vhost or a user closes (320 CONNECTION_FORCED). The server registers a
// connection once connection.open succeeded and removes it at teardown; the broker never sees a socket.

/** A connection as the broker and the operator plane see it; implemented by the server's Connection. */
export interface ClientConnection {
  /** RabbitMQ's connection name: `<peer host>:<peer port> -> <local host>:<local port>`. */
  readonly name: string;
  readonly user: string;
  readonly vhostName: string;
  /** Close with 320 CONNECTION_FORCED and this explanation (RabbitMQ's `CONNECTION_FORCED - <text>`). */
  forceClose(text: string): void;
}

export class ClientRegistry {
  private readonly byName = new Map<string, ClientConnection>();

  add(c: ClientConnection): void {
    this.byName.set(c.name, c);
  }

  remove(c: ClientConnection): void {
    if (this.byName.get(c.name) === c) this.byName.delete(c.name);
  }

  get(name: string): ClientConnection | undefined {
    return this.byName.get(name);
  }

  list(): ClientConnection[] {
    return [...this.byName.values()];
  }

  get size(): number {
    return this.byName.size;
  }

  inVhost(vhost: string): ClientConnection[] {
    return this.list().filter((c) => c.vhostName === vhost);
  }

  ofUser(user: string): ClientConnection[] {
    return this.list().filter((c) => c.user === user);
  }

  /** Close every connection to a vhost, as RabbitMQ does when the vhost is deleted. */
  closeVhost(vhost: string): number {
    const conns = this.inVhost(vhost);
    for (const c of conns) c.forceClose(`vhost '${vhost}' is deleted`);
    return conns.length;
  }

  /** Close every connection of a user, as RabbitMQ does when the user is deleted. */
  closeUser(user: string): number {
    const conns = this.ofUser(user);
    for (const c of conns) c.forceClose(`user '${user}' is deleted`);
    return conns.length;
  }
}
