// What the operator plane sees of a connection, its channels, consumers and unacked deliveries
// (RabbitMQ's /api/connections, /api/channels, /api/consumers fields; warren's /unacked). Built
// on request from state the connection keeps anyway; the only per-message costs are two byte
// counters.

import type { ChannelInfo, ConnectionDetails, ConnectionInfo, ConsumerInfo, UnackedInfo } from '../broker/clients.js';
import { tableJson } from '../broker/ops/message-json.js';
import type { Queue } from '../broker/queue/queue.js';
import type { FieldTable } from '../protocol/field-table.js';
import type { Channel } from './channel.js';

/** The connection facts the infos are built from. */
export interface ConnectionFacts {
  name: string;
  user: string;
  vhost: string;
  state: ConnectionInfo['state'];
  connectedAt: number;
  clientProperties: FieldTable;
  peerHost: string;
  peerPort: number;
  host: string;
  port: number;
  ssl: boolean;
  mechanism: string;
  heartbeat: number;
  frameMax: number;
  channelMax: number;
  recvOct: number;
  sendOct: number;
  /** config consumer_timeout (ms; 0 none). */
  consumerTimeout: number;
  channels: Iterable<Channel>;
  channelCount: number;
}

export function connectionInfo(f: ConnectionFacts): ConnectionInfo {
  const info: ConnectionInfo = {
    name: f.name,
    user: f.user,
    vhost: f.vhost,
    protocol: 'AMQP 0-9-1',
    type: 'network',
    state: f.state,
    channels: f.channelCount,
    connected_at: f.connectedAt,
    client_properties: tableJson(f.clientProperties),
    peer_host: f.peerHost,
    peer_port: f.peerPort,
    host: f.host,
    port: f.port,
    ssl: f.ssl,
    auth_mechanism: f.mechanism,
    timeout: f.heartbeat,
    frame_max: f.frameMax,
    channel_max: f.channelMax,
    recv_oct: f.recvOct,
    send_oct: f.sendOct,
  };
  const given = f.clientProperties['connection_name'];
  if (typeof given === 'string') info.user_provided_name = given;
  return info;
}

function details(f: ConnectionFacts): ConnectionDetails {
  return { name: f.name, peer_host: f.peerHost, peer_port: f.peerPort };
}

function channelName(f: ConnectionFacts, ch: Channel): string {
  return `${f.name} (${ch.id})`;
}

export function channelInfos(f: ConnectionFacts): ChannelInfo[] {
  const out: ChannelInfo[] = [];
  for (const ch of f.channels) {
    out.push({
      number: ch.id,
      name: channelName(f, ch),
      user: f.user,
      vhost: f.vhost,
      connection_details: details(f),
      state: ch.closing ? 'closing' : 'running',
      consumer_count: ch.consume.consumers.size,
      confirm: ch.confirmMode,
      transactional: ch.tx !== null,
      prefetch_count: ch.consume.consumerPrefetchCount,
      global_prefetch_count: ch.consume.globalPrefetchCount,
      messages_unacknowledged: ch.consume.unackedCount,
      messages_unconfirmed: ch.unconfirmedCount,
      messages_uncommitted: ch.tx?.pendingPublishes ?? 0,
      acks_uncommitted: ch.tx?.pendingAcks ?? 0,
    });
  }
  return out;
}

export function consumerInfos(f: ConnectionFacts): ConsumerInfo[] {
  const out: ConsumerInfo[] = [];
  for (const ch of f.channels) {
    for (const c of ch.consume.consumers.values()) {
      const q = c.queue;
      const sac = q.policy.singleActiveConsumer === true;
      const active = !sac || q.activeConsumer === c;
      out.push({
        consumer_tag: c.tag,
        ack_required: !c.noAck,
        prefetch_count: c.prefetch,
        exclusive: c.exclusive,
        arguments: tableJson(c.args),
        active,
        activity_status: !sac ? 'up' : active ? 'single_active' : 'waiting',
        consumer_timeout: q.policy.consumerTimeout ?? f.consumerTimeout,
        queue: { name: q.name, vhost: f.vhost },
        channel_details: { number: ch.id, name: channelName(f, ch), connection_name: f.name, peer_host: f.peerHost, peer_port: f.peerPort, user: f.user },
        messages_unacknowledged: c.unacked,
      });
    }
  }
  return out;
}

export function unackedInfos(f: ConnectionFacts, queue: Queue | undefined): UnackedInfo[] {
  const out: UnackedInfo[] = [];
  for (const ch of f.channels) {
    for (const [tag, u] of ch.consume.unackedDeliveries()) {
      if (queue !== undefined && u.queue !== queue) continue;
      const m = u.entry.message;
      out.push({
        queue: u.queue.name,
        vhost: f.vhost,
        delivery_tag: tag,
        consumer_tag: u.consumer?.tag ?? null,
        channel: ch.id,
        channel_name: channelName(f, ch),
        connection_name: f.name,
        user: f.user,
        delivered_at: u.deliveredAt,
        redelivered: u.entry.redelivered,
        exchange: m.exchange,
        routing_key: m.routingKey,
        payload_bytes: m.bodySize,
      });
    }
  }
  return out;
}
