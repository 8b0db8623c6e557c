// A client connection's state: its socket, negotiated limits, login, vhost, timers and channels,
// and how the operator plane sees it. The behaviours build on it, one class per file:
// connection-closing.ts → connection-handshake.ts → connection.ts (frames and channels).

import type { Transport } from './transport.js';
import type { Logger } from '../log.js';
import type { Broker } from '../broker/broker.js';
import type { VHost } from '../broker/vhost.js';
import type { Persistence } from '../broker/persistence.js';
import type { Timer } from '../util/clock.js';
import { type FieldTable } from '../protocol/field-table.js';
import { FrameReader, type FrameHandler } from '../protocol/frame-reader.js';
import type { Channel } from './channel.js';
import type { ConfirmTracker } from './confirm-tracker.js';
import { Outbound } from './outbound.js';
import { offeredMechanisms } from './sasl.js';
import { verifiedPeerName } from './cert-login.js';
import type { User } from '../broker/auth/users.js';
import type { AccessContext } from '../broker/auth/permissions.js';
import type { ChannelInfo, ClientConnection, ConnectionInfo, ConsumerInfo, UnackedInfo } from '../broker/clients.js';
import type { Queue } from '../broker/queue/queue.js';
import { channelInfos, connectionInfo, consumerInfos, unackedInfos, type ConnectionFacts } from './connection-info.js';

export const enum State {
  ProtocolHeader,
  AwaitStartOk,
  AwaitTuneOk,
  AwaitOpen,
  Open,
  /** We sent connection.close and wait for close-ok. */
  Closing,
  Closed,
}

/** Frames accepted before tune-ok: the spec's minimum frame size (FRAME-MIN-SIZE). */
const PRE_TUNE_FRAME_MAX = 131072;

export abstract class ConnectionState implements ClientConnection, FrameHandler {
  readonly id: number;
  readonly broker: Broker;
  readonly outbound: Outbound;
  readonly log: Logger;
  protected readonly socket: Transport;
  protected readonly reader: FrameReader;
  protected state = State.ProtocolHeader;
  protected readonly headerBuf = Buffer.alloc(8);
  protected headerFilled = 0;
  protected readonly channels = new Map<number, Channel>();
  /** Confirm trackers with publishes to settle at the end of this read batch. */
  protected readonly pendingConfirms = new Set<ConfirmTracker>();
  protected channelMax: number;
  protected frameMax: number;
  protected heartbeat = 0;
  protected heartbeatTimer: Timer | null = null;
  protected closeTimer: Timer | null = null;
  private handshakeTimer: Timer | null;
  protected silentCloseTimer: Timer | null = null;
  protected lastReceived: number;
  protected vhostRef: VHost | null = null;
  /** RabbitMQ's connection name, `peer:port -> local:port`. */
  readonly name: string;
  protected registered = false;
  /** Counted as closed in the churn statistics (teardown runs more than once). */
  protected churnCounted = false;
  user = '';
  /** The logged-in user (tags: impersonator); set after start-ok. */
  authUser: User | null = null;
  /** The user's permissions in the vhost, cached; set at connection.open, for the channels' checks. */
  access: AccessContext | null = null;
  /** The vhost this connection is counted in for the connection limits, until teardown. */
  protected countedIn: string | null = null;
  consumerCancelNotify = false;
  protected authFailureClose = false;
  connectionBlockedCapable = false;
  clientProperties: FieldTable = {};
  /** This connection has published: a resource alarm blocks it. */
  protected publisher = false;
  /** Socket reads paused by a resource alarm. */
  protected blockedByAlarm = false;
  /** Bytes read from the socket (recv_oct). */
  protected recvOct = 0;
  /** Epoch ms of the TCP accept (connected_at). */
  private readonly connectedAt: number;
  protected mechanism = '';
  /** The user a verified TLS client certificate names (SASL EXTERNAL), else null. */
  protected readonly certUser: string | null;
  /** The mechanisms offered in connection.start. */
  protected readonly mechanisms: string;

  constructor(id: number, socket: Transport, broker: Broker, log: Logger) {
    this.id = id;
    this.socket = socket;
    this.broker = broker;
    this.log = log;
    this.channelMax = broker.config.channelMax;
    this.frameMax = broker.config.frameMax;
    this.outbound = new Outbound(socket, PRE_TUNE_FRAME_MAX);
    this.outbound.onDrain = () => this.onDrain();
    this.reader = new FrameReader(this, PRE_TUNE_FRAME_MAX);
    this.lastReceived = broker.clock.now();
    this.connectedAt = this.lastReceived;
    broker.stats.churn.connectionCreated++;
    this.name = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0} -> ${socket.localAddress ?? '?'}:${socket.localPort ?? 0}`;
    this.certUser = broker.config.authMechanisms.includes('EXTERNAL') ? verifiedPeerName(socket, broker.config.sslCertLoginFrom) : null;
    this.mechanisms = offeredMechanisms(broker.config.authMechanisms, this.certUser !== null);
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: Error) => this.log.debug({ err: err.message }, 'socket error'));
    socket.on('close', () => this.onSocketClosed());
    // A client that never completes the handshake is dropped, as RabbitMQ does after handshake_timeout.
    this.handshakeTimer = broker.clock.after(broker.config.handshakeTimeout, () => {
      this.log.error({ timeoutMs: broker.config.handshakeTimeout }, 'handshake timeout, closing');
      this.destroy();
    });
  }

  protected clearSilentCloseTimer(): void {
    if (this.silentCloseTimer !== null) this.silentCloseTimer.cancel();
    this.silentCloseTimer = null;
  }

  protected clearHandshakeTimer(): void {
    this.handshakeTimer?.cancel();
    this.handshakeTimer = null;
  }

  get vhost(): VHost {
    return this.vhostRef as VHost;
  }

  /** The stores of this connection's vhost (each vhost has its own). */
  get persistence(): Persistence | null {
    return this.vhostRef === null ? null : this.vhostRef.store;
  }

  /** The vhost of an open connection ('' before connection.open). */
  get vhostName(): string {
    return this.vhostRef?.name ?? '';
  }

  // ------------------------------------------------------------ for the operator plane

  private facts(): ConnectionFacts {
    const s = this.socket;
    return {
      name: this.name,
      user: this.user,
      vhost: this.vhostName,
      state: this.state === State.Closing || this.state === State.Closed ? 'closing' : this.blockedByAlarm ? 'blocked' : 'running',
      connectedAt: this.connectedAt,
      clientProperties: this.clientProperties,
      peerHost: s.remoteAddress ?? '?',
      peerPort: s.remotePort ?? 0,
      host: s.localAddress ?? '?',
      port: s.localPort ?? 0,
      ssl: (s as { encrypted?: unknown }).encrypted === true,
      mechanism: this.mechanism,
      heartbeat: this.heartbeat,
      frameMax: this.frameMax,
      channelMax: this.channelMax,
      recvOct: this.recvOct,
      sendOct: this.outbound.sentBytes,
      consumerTimeout: this.broker.config.consumerTimeout,
      channels: this.channels.values(),
      channelCount: this.channels.size,
    };
  }

  info(): ConnectionInfo {
    return connectionInfo(this.facts());
  }

  channelInfos(): ChannelInfo[] {
    return channelInfos(this.facts());
  }

  consumerInfos(): ConsumerInfo[] {
    return consumerInfos(this.facts());
  }

  unacked(queue?: Queue): UnackedInfo[] {
    return unackedInfos(this.facts(), queue);
  }

  // Defined further down the chain (the socket's events are wired here, in the constructor).
  protected abstract onData(chunk: Buffer): void;
  protected abstract onSocketClosed(): void;
  protected abstract onDrain(): void;
  abstract destroy(): void;
  abstract forceClose(text: string): void;
  abstract onMethodFrame(channel: number, payload: Buffer): void;
  abstract onHeaderFrame(channel: number, buf: Buffer, start: number, end: number): void;
  abstract onBodyFrame(channel: number, payload: Buffer): void;
  abstract onBodyParts(channel: number, parts: readonly Buffer[]): void;
  abstract onHeartbeatFrame(channel: number): void;
}
