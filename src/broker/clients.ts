// The broker's view of the client connections the server layer holds: what the operator plane
// lists, and what deleting a vhost or a user closes (320 CONNECTION_FORCED). The server registers a
// connection once connection.open succeeded and removes it at teardown; the broker never sees a socket.

import type { Json } from './ops/message-json.js';
import type { Queue } from './queue/queue.js';

// The infos below use RabbitMQ's field names; the API adds `node` (the node name is the operator
// plane's) and the rates.

/** A connection as GET /api/connections shows it. */
export interface ConnectionInfo {
  name: string;
  user: string;
  vhost: string;
  protocol: 'AMQP 0-9-1';
  type: 'network';
  /** running, blocked (by a resource alarm), closing. */
  state: 'running' | 'blocked' | 'closing';
  channels: number;
  /** Epoch ms. */
  connected_at: number;
  client_properties: { [key: string]: Json };
  /** client_properties.connection_name, when the client gave one. */
  user_provided_name?: string;
  peer_host: string;
  peer_port: number;
  host: string;
  port: number;
  ssl: boolean;
  auth_mechanism: string;
  /** Negotiated heartbeat, seconds. */
  timeout: number;
  frame_max: number;
  channel_max: number;
  recv_oct: number;
  send_oct: number;
}

/** Enough of a channel's connection to name it (RabbitMQ's connection_details / channel_details). */
export interface ConnectionDetails {
  name: string;
  peer_host: string;
  peer_port: number;
}

export interface ChannelInfo {
  number: number;
  /** `<connection name> (<number>)`. */
  name: string;
  user: string;
  vhost: string;
  connection_details: ConnectionDetails;
  state: 'running' | 'closing';
  consumer_count: number;
  confirm: boolean;
  transactional: boolean;
  /** basic.qos global=false (per consumer) and global=true (per channel). */
  prefetch_count: number;
  global_prefetch_count: number;
  messages_unacknowledged: number;
  messages_unconfirmed: number;
  messages_uncommitted: number;
  acks_uncommitted: number;
}

export interface ConsumerInfo {
  consumer_tag: string;
  ack_required: boolean;
  prefetch_count: number;
  exclusive: boolean;
  arguments: { [key: string]: Json };
  /** False for a waiting consumer of a single-active-consumer queue. */
  active: boolean;
  activity_status: 'up' | 'single_active' | 'waiting';
  /** ms; the queue's x-consumer-timeout or the configured consumer_timeout (0: none). */
  consumer_timeout: number;
  queue: { name: string; vhost: string };
  channel_details: { number: number; name: string; connection_name: string; peer_host: string; peer_port: number; user: string };
  /** Messages delivered to this consumer and not yet acked (warren's). */
  messages_unacknowledged: number;
}

/** One delivery awaiting its ack: where it is held and since when (warren's /unacked). */
export interface UnackedInfo {
  queue: string;
  vhost: string;
  delivery_tag: number;
  /** null for a basic.get delivery. */
  consumer_tag: string | null;
  channel: number;
  channel_name: string;
  connection_name: string;
  user: string;
  /** Epoch ms. */
  delivered_at: number;
  redelivered: boolean;
  exchange: string;
  routing_key: string;
  payload_bytes: number;
}

/** A connection as the broker and the operator plane see it; implemented by the server's Connection. */
export interface ClientConnection {
  /** RabbitMQ's connection name: `<peer host>:<peer port> -> <local host>:<local port>`. */
  readonly name: string;
  readonly user: string;
  readonly vhostName: string;
  /** Close with 320 CONNECTION_FORCED and this explanation (RabbitMQ's `CONNECTION_FORCED - <text>`). */
  forceClose(text: string): void;
  info(): ConnectionInfo;
  channelInfos(): ChannelInfo[];
  consumerInfos(): ConsumerInfo[];
  /** Unacked deliveries of this connection; only those from `queue` when given. */
  unacked(queue?: Queue): UnackedInfo[];
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

  /** Deliveries from `queue` awaiting their ack, on any connection to its vhost, oldest first. */
  unackedIn(vhost: string, queue: Queue): UnackedInfo[] {
    const out: UnackedInfo[] = [];
    for (const c of this.inVhost(vhost)) out.push(...c.unacked(queue));
    return out.sort((a, b) => a.delivered_at - b.delivered_at);
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
