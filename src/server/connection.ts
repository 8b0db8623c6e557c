// One client connection: protocol header, handshake (start/tune/open), heartbeats,
// channel multiplexing, and the single catch site that maps errors to reply codes.

import type { Transport } from './transport.js';
import type { Logger } from '../log.js';
import type { Broker } from '../broker/broker.js';
import type { VHost } from '../broker/vhost.js';
import type { Persistence } from '../broker/persistence.js';
import type { Timer } from '../util/clock.js';
import { AssemblyState } from '../protocol/command-assembler.js';
import {
  AmqpError,
  ChannelError,
  ReplyCode,
  channelError,
  commandInvalid,
  connectionClose,
  frameError,
  internalError,
  connectionForced,
  notAllowed,
  unexpectedFrame,
} from '../protocol/errors.js';
import { type FieldTable } from '../protocol/field-table.js';
import { FrameReader, octets, type FrameHandler } from '../protocol/frame-reader.js';
import { HEARTBEAT_FRAME, PROTOCOL_HEADER } from '../protocol/frame-writer.js';
import * as M from '../protocol/generated/amqp.js';
import { Channel, type ChannelHost } from './channel.js';
import type { ConfirmTracker } from './confirm-tracker.js';
import { Outbound } from './outbound.js';
import { offeredMechanisms, parseSaslResponse } from './sasl.js';
import { verifiedPeerName } from './cert-login.js';
import { serverProperties } from './server-properties.js';
import type { LoginResult, User } from '../broker/auth/users.js';
import type { AccessContext } from '../broker/auth/permissions.js';
import type { ChannelInfo, ClientConnection, ConnectionInfo, ConsumerInfo, UnackedInfo } from '../broker/clients.js';
import type { Queue } from '../broker/queue/queue.js';
import { channelInfos, connectionInfo, consumerInfos, unackedInfos, type ConnectionFacts } from './connection-info.js';
import { loginRefusedText, vhostAccessRefused, vhostNotFound } from '../broker/auth/refusals.js';
import { SILENT_CLOSE_DELAY_MS } from './login-delay.js';

const enum State {
  ProtocolHeader,
  AwaitStartOk,
  AwaitTuneOk,
  AwaitOpen,
  Open,
  /** We sent connection.close and wait for close-ok. */
  Closing,
  Closed,
}

/** The AMQP 0-9 header (class 1, instance 1, 0-9); RabbitMQ speaks 0-9-1 to clients that send it. */
const LEGACY_0_9_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 9]);

/** How long a peer gets to answer our connection.close before the socket is cut. */
const CLOSE_TIMEOUT_MS = 3000;
/**
 * How long a socket we half-closed (after close-ok, a refused header or a failed login) may stay
 * open waiting for the peer's side; then it is destroyed so its descriptor is not kept forever.
 * RabbitMQ's reader uses 30 s (CLOSING_TIMEOUT).
 */
export const HALF_CLOSED_TIMEOUT_MS = 30_000;
/** Frames accepted before tune-ok: the spec's minimum frame size (FRAME-MIN-SIZE). */
const PRE_TUNE_FRAME_MAX = 131072;

export interface ConnectionRegistry {
  removeConnection(c: Connection): void;
}

export class Connection implements FrameHandler, ChannelHost, ClientConnection {
  readonly id: number;
  readonly broker: Broker;
  readonly outbound: Outbound;
  readonly log: Logger;
  private readonly socket: Transport;
  private readonly reader: FrameReader;
  private readonly registry: ConnectionRegistry;
  private state = State.ProtocolHeader;
  private readonly headerBuf = Buffer.alloc(8);
  private headerFilled = 0;
  private readonly channels = new Map<number, Channel>();
  /** Confirm trackers with publishes to settle at the end of this read batch. */
  private readonly pendingConfirms = new Set<ConfirmTracker>();
  private channelMax: number;
  private frameMax: number;
  private heartbeat = 0;
  private heartbeatTimer: Timer | null = null;
  private closeTimer: Timer | null = null;
  private handshakeTimer: Timer | null;
  private silentCloseTimer: Timer | null = null;
  private lastReceived: number;
  private vhostRef: VHost | null = null;
  /** RabbitMQ's connection name, `peer:port -> local:port`. */
  readonly name: string;
  private registered = false;
  /** Counted as closed in the churn statistics (teardown runs more than once). */
  private churnCounted = false;
  user = '';
  /** The logged-in user (tags: impersonator); set after start-ok. */
  authUser: User | null = null;
  /** The user's permissions in the vhost, cached; set at connection.open, for the channels' checks. */
  access: AccessContext | null = null;
  /** The vhost this connection is counted in for the connection limits, until teardown. */
  private countedIn: string | null = null;
  consumerCancelNotify = false;
  private authFailureClose = false;
  connectionBlockedCapable = false;
  clientProperties: FieldTable = {};
  /** This connection has published: a resource alarm blocks it. */
  private publisher = false;
  /** Socket reads paused by a resource alarm. */
  private blockedByAlarm = false;
  /** Bytes read from the socket (recv_oct). */
  private recvOct = 0;
  /** Epoch ms of the TCP accept (connected_at). */
  private readonly connectedAt: number;
  private mechanism = '';
  /** The user a verified TLS client certificate names (SASL EXTERNAL), else null. */
  private readonly certUser: string | null;
  /** The mechanisms offered in connection.start. */
  private readonly mechanisms: string;

  constructor(id: number, socket: Transport, broker: Broker, registry: ConnectionRegistry, log: Logger) {
    this.id = id;
    this.socket = socket;
    this.broker = broker;
    this.registry = registry;
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

  private clearSilentCloseTimer(): void {
    if (this.silentCloseTimer !== null) this.silentCloseTimer.cancel();
    this.silentCloseTimer = null;
  }

  private clearHandshakeTimer(): void {
    this.handshakeTimer?.cancel();
    this.handshakeTimer = null;
  }

  get vhost(): VHost {
    return this.vhostRef as VHost;
  }

  // ------------------------------------------------------------ input

  private onData(chunk: Buffer): void {
    this.lastReceived = this.broker.clock.now();
    this.recvOct += chunk.length;
    if (this.state === State.Closed) return;
    if (this.state === State.ProtocolHeader) {
      chunk = this.readProtocolHeader(chunk);
      if (chunk.length === 0) return;
    }
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.fail(err, 0);
    }
    // Once per read batch: acks coalesce with `multiple`, and waits for the disk share one group commit.
    if (this.pendingConfirms.size > 0) {
      for (const t of this.pendingConfirms) t.flush();
      this.pendingConfirms.clear();
    }
  }

  /** The stores of this connection's vhost (each vhost has its own). */
  get persistence(): Persistence | null {
    return this.vhostRef === null ? null : this.vhostRef.store;
  }

  /** Consume the 8-byte protocol header; returns the bytes after it. */
  private readProtocolHeader(chunk: Buffer): Buffer {
    const need = 8 - this.headerFilled;
    this.headerFilled += chunk.copy(this.headerBuf, this.headerFilled, 0, need);
    if (this.headerFilled < 8) return Buffer.alloc(0);
    if (!this.headerBuf.equals(PROTOCOL_HEADER) && !this.headerBuf.equals(LEGACY_0_9_HEADER)) {
      // AMQP 0-9-1 §4.2.2: answer an unsupported header with ours and close. Also covers HTTP and TLS hellos.
      this.log.error({ header: this.headerBuf.toString('latin1').replace(/[^\x20-\x7e]/g, '.') }, 'unsupported protocol header');
      this.state = State.Closed;
      this.socket.end(PROTOCOL_HEADER);
      this.destroyLater();
      return Buffer.alloc(0);
    }
    this.state = State.AwaitStartOk;
    this.outbound.sendMethod(0, {
      id: M.CONNECTION_START,
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: serverProperties(this.serverPropertyOverrides()),
      mechanisms: this.mechanisms,
      locales: 'en_US',
    });
    return chunk.subarray(need);
  }

  /** Config server properties, with the cluster name set through the operator plane (set_cluster_name) over them. */
  private serverPropertyOverrides(): Readonly<Record<string, string>> {
    const cfg = this.broker.config.serverProperties;
    const name = this.broker.access.storedClusterName;
    return name === null ? cfg : { ...cfg, cluster_name: name };
  }

  onMethodFrame(channel: number, payload: Buffer): void {
    let m: M.Method | undefined;
    try {
      m = M.decodeMethod(payload);
    } catch (err) {
      if (err instanceof AmqpError) throw err;
      // RabbitMQ: 501 naming the argument bytes it could not decode.
      throw frameError(`cannot decode ${octets(payload, 4, payload.length)}`, methodRefOf(payload));
    }
    if (m === undefined) {
      // RabbitMQ 3.10 has no reply for an unknown class or method: its reader fails and the socket is
      // dropped without connection.close. Clients see the same closed socket here.
      const classId = payload.length >= 2 ? payload.readUInt16BE(0) : 0;
      const methodId = payload.length >= 4 ? payload.readUInt16BE(2) : 0;
      this.log.error({ classId, methodId, channel }, 'unknown class or method, dropping connection');
      this.reader.stopped = true;
      this.destroy();
      return;
    }
    if (this.state === State.Closing) {
      if (m.id === M.CONNECTION_CLOSE_OK) this.destroy();
      else if (m.id === M.CONNECTION_CLOSE) this.outbound.sendMethod(0, { id: M.CONNECTION_CLOSE_OK });
      return;
    }
    if (channel === 0) return this.onConnectionMethod(m);
    if (this.state !== State.Open) throw channelError('channel opened before connection.open');
    const ch = this.channels.get(channel);
    if (ch === undefined) return this.onClosedChannelMethod(channel, m);
    if (ch.closing) {
      // Spec §4.5: after sending channel.close, discard all but close and close-ok.
      if (m.id === M.CHANNEL_CLOSE_OK) this.channels.delete(channel);
      else if (m.id === M.CHANNEL_CLOSE) ch.send({ id: M.CHANNEL_CLOSE_OK });
      return;
    }
    try {
      ch.assembler.expectMethod();
      switch (m.id) {
        case M.CHANNEL_OPEN:
          throw channelError(`second 'channel.open' seen`, M.CHANNEL_OPEN);
        case M.CHANNEL_CLOSE:
          ch.cleanup();
          this.channels.delete(channel);
          ch.send({ id: M.CHANNEL_CLOSE_OK });
          return;
        case M.CHANNEL_CLOSE_OK:
          // Nothing is pending on this channel: RabbitMQ treats it as a connection error.
          throw commandInvalid('unimplemented method', M.CHANNEL_CLOSE_OK);
        default:
          ch.handleMethod(m);
      }
    } catch (err) {
      this.fail(err, channel, m);
    }
  }

  private onClosedChannelMethod(channel: number, m: M.Method): void {
    if (m.id === M.CHANNEL_OPEN) {
      // RabbitMQ 3.10 limits the number of open channels, not their ids.
      if (this.channels.size >= this.channelMax) {
        throw notAllowed(`number of channels opened (${this.channels.size}) has reached the negotiated channel_max (${this.channelMax})`);
      }
      // The user's max-channels (530, the whole connection); the channel releases its count in cleanup().
      this.broker.connectionCounts.admitChannel(this.user);
      const ch = new Channel(channel, this, this.log.child({ channel }), this.broker.config.maxMessageSize);
      this.channels.set(channel, ch);
      ch.send({ id: M.CHANNEL_OPEN_OK, channelId: '' });
      return;
    }
    if (m.id === M.CHANNEL_CLOSE_OK) return; // late close-ok after we forgot the channel
    throw channelError(`expected 'channel.open'`, m.id);
  }

  /** A resource alarm was raised or cleared. */
  setAlarm(blocked: boolean, reason: string): void {
    if (blocked && this.publisher) this.block(reason);
    else if (!blocked && this.blockedByAlarm) {
      this.blockedByAlarm = false;
      if (this.connectionBlockedCapable) this.outbound.sendMethod(0, { id: M.CONNECTION_UNBLOCKED });
      this.socket.resume();
    }
  }

  private block(reason: string): void {
    if (this.blockedByAlarm || this.state !== State.Open) return;
    this.blockedByAlarm = true;
    if (this.connectionBlockedCapable) this.outbound.sendMethod(0, { id: M.CONNECTION_BLOCKED, reason });
    // Stop reading: publishes wait in the client and the kernel; consumers on other connections keep draining.
    this.socket.pause();
  }

  onHeaderFrame(channel: number, buf: Buffer, start: number, end: number): void {
    if (!this.publisher) {
      this.publisher = true;
      if (this.broker.alarms.blocked) this.block(this.broker.alarms.reason);
    }
    const ch = this.contentChannel(channel);
    if (ch === null) return;
    try {
      if (ch.assembler.onHeader(buf, start, end)) ch.handlePublish();
    } catch (err) {
      this.fail(err, channel);
    }
  }

  onBodyFrame(channel: number, payload: Buffer): void {
    const ch = this.contentChannel(channel);
    if (ch === null) return;
    try {
      if (ch.assembler.onBody(payload)) ch.handlePublish();
    } catch (err) {
      this.fail(err, channel);
    }
  }

  onBodyParts(channel: number, parts: readonly Buffer[]): void {
    const ch = this.contentChannel(channel);
    if (ch === null) return;
    try {
      if (ch.assembler.onBodyParts(parts)) ch.handlePublish();
    } catch (err) {
      this.fail(err, channel);
    }
  }

  /** The channel a content frame belongs to, or null if it is to be discarded. */
  private contentChannel(channel: number): Channel | null {
    if (this.state === State.Closing) return null;
    if (channel === 0 || this.state !== State.Open) {
      throw unexpectedFrame('content frame on channel 0');
    }
    const ch = this.channels.get(channel);
    if (ch === undefined) throw channelError(`expected 'channel.open'`);
    if (ch.closing) return null;
    if (ch.assembler.state === AssemblyState.Method) {
      throw unexpectedFrame('expected method frame, got non method frame instead');
    }
    return ch;
  }

  onHeartbeatFrame(channel: number): void {
    // The spec says 501, but RabbitMQ answers 505 with this text, and clients see RabbitMQ's.
    if (channel !== 0) throw unexpectedFrame('type 8, all octets = <<>>');
  }

  markConfirmsPending(t: ConfirmTracker): void {
    this.pendingConfirms.add(t);
  }

  // ------------------------------------------------------------ connection class

  private onConnectionMethod(m: M.Method): void {
    switch (m.id) {
      case M.CONNECTION_START_OK:
        if (this.state !== State.AwaitStartOk) break;
        return this.onStartOk(m);
      case M.CONNECTION_TUNE_OK:
        if (this.state !== State.AwaitTuneOk) break;
        return this.onTuneOk(m);
      case M.CONNECTION_OPEN:
        if (this.state !== State.AwaitOpen) break;
        return this.onOpen(m);
      case M.CONNECTION_CLOSE:
        this.log.info({ user: this.user, vhost: this.vhostRef?.name, replyCode: m.replyCode, replyText: m.replyText }, 'client closed connection');
        this.outbound.sendMethod(0, { id: M.CONNECTION_CLOSE_OK });
        this.teardown();
        this.state = State.Closed;
        this.outbound.end();
        this.destroyLater();
        return;
      case M.CONNECTION_CLOSE_OK:
        return this.destroy();
      case M.CONNECTION_UPDATE_SECRET:
        if (this.state !== State.Open) break;
        this.outbound.sendMethod(0, { id: M.CONNECTION_UPDATE_SECRET_OK });
        return;
      case M.CONNECTION_BLOCKED:
      case M.CONNECTION_UNBLOCKED:
        return;
      default:
        break;
    }
    const info = M.METHOD_INFO.get(m.id);
    if (this.state === State.Open && info !== undefined) {
      throw channelError('unexpected method in connection state running', m.id);
    }
    throw commandInvalid(`unexpected method ${info?.name ?? m.id} on channel 0`, m.id);
  }

  private onStartOk(m: M.ConnectionStartOk): void {
    this.clientProperties = m.clientProperties;
    this.mechanism = m.mechanism;
    const caps = m.clientProperties['capabilities'];
    if (typeof caps === 'object' && caps !== null && !Array.isArray(caps) && !Buffer.isBuffer(caps)) {
      const t = caps as FieldTable;
      this.consumerCancelNotify = t['consumer_cancel_notify'] === true;
      this.authFailureClose = t['authentication_failure_close'] === true;
      this.connectionBlockedCapable = t['connection.blocked'] === true;
    }
    const response = typeof m.response === 'string' ? Buffer.from(m.response) : m.response;
    if (!this.mechanisms.split(' ').includes(m.mechanism)) {
      // RabbitMQ drops the socket on an unknown mechanism rather than sending connection.close.
      this.log.warn({ mechanism: m.mechanism }, 'unsupported authentication mechanism');
      return this.destroy();
    }
    let result: LoginResult;
    let attempted: string | undefined;
    try {
      if (m.mechanism === 'EXTERNAL' && this.certUser !== null) {
        // The response (an authorization identity, if any) is not read: the certificate names the user, as in RabbitMQ.
        attempted = this.certUser;
        result = this.broker.users.authenticateExternal(this.certUser, isLoopback(this.socket.remoteAddress));
      } else {
        const cred = parseSaslResponse(m.mechanism, response);
        attempted = cred.user;
        result = this.broker.users.authenticate(cred.user, cred.password, isLoopback(this.socket.remoteAddress));
      }
    } catch (err) {
      if (!(err instanceof AmqpError)) throw err;
      result = { ok: false, detail: err.replyText.replace(/^ACCESS_REFUSED - /, '') };
    }
    if (!result.ok) {
      // Never the password: user, mechanism and peer only; repeated failures from one address are
      // summarised. The client gets one text whatever the cause, so a reply never tells whether the
      // user exists; a malformed response is named as such.
      const peer = this.socket.remoteAddress ?? '?';
      this.broker.logs.authFailed.note(peer, m.mechanism, { conn: this.id, peer: `${peer}:${this.socket.remotePort ?? 0}`, user: attempted, mechanism: m.mechanism, reason: result.detail });
      const reason = attempted === undefined ? result.detail : loginRefusedText(m.mechanism);
      if (this.authFailureClose) {
        this.closeConnection(connectionClose(ReplyCode.ACCESS_REFUSED, reason));
      } else {
        // Without authentication_failure_close RabbitMQ says nothing and drops the socket after a
        // pause (SILENT_CLOSE_DELAY), which also slows password guessing; nothing more is read meanwhile.
        this.state = State.Closed;
        this.reader.stopped = true;
        this.clearHandshakeTimer();
        this.silentCloseTimer = this.broker.clock.after(SILENT_CLOSE_DELAY_MS, () => {
          this.silentCloseTimer = null;
          this.outbound.end();
          this.destroyLater();
        });
      }
      return;
    }
    this.user = result.user.name;
    this.authUser = result.user;
    this.state = State.AwaitTuneOk;
    this.outbound.sendMethod(0, {
      id: M.CONNECTION_TUNE,
      channelMax: this.broker.config.channelMax,
      frameMax: this.broker.config.frameMax,
      heartbeat: this.broker.config.heartbeat,
    });
  }

  private onTuneOk(m: M.ConnectionTuneOk): void {
    const cfg = this.broker.config;
    if ((m.frameMax !== 0 && m.frameMax < M.FRAME_MIN_SIZE) || m.frameMax > cfg.frameMax) {
      // RabbitMQ drops such a client without a connection.close; so do we.
      this.log.error({ frameMax: m.frameMax }, 'tune-ok frame_max out of range, closing');
      return this.destroy();
    }
    if (m.channelMax > cfg.channelMax) {
      throw notAllowed(`channel_max=${m.channelMax} > ${cfg.channelMax} max`, M.CONNECTION_TUNE_OK);
    }
    this.frameMax = m.frameMax === 0 ? cfg.frameMax : m.frameMax;
    this.channelMax = m.channelMax === 0 ? cfg.channelMax : m.channelMax;
    this.heartbeat = m.heartbeat;
    this.reader.frameMax = this.frameMax;
    this.outbound.frameMax = this.frameMax;
    this.state = State.AwaitOpen;
  }

  private onOpen(m: M.ConnectionOpen): void {
    const vhost = this.broker.vhost(m.virtualHost);
    if (vhost === undefined) throw vhostNotFound(m.virtualHost);
    // RabbitMQ's order: the vhost's connection limit, the user's, then the permission.
    const access = this.broker.permissions.access(this.user, m.virtualHost);
    this.broker.connectionCounts.admitConnection(m.virtualHost, this.user);
    this.countedIn = m.virtualHost;
    if (!access.hasVhostAccess) throw vhostAccessRefused(m.virtualHost, this.user);
    this.access = access;
    this.vhostRef = vhost;
    this.state = State.Open;
    this.clearHandshakeTimer();
    this.outbound.sendMethod(0, { id: M.CONNECTION_OPEN_OK, knownHosts: '' });
    this.startHeartbeat();
    this.broker.clients.add(this);
    this.registered = true;
    this.log.info({ user: this.user, vhost: m.virtualHost }, 'connection open');
  }

  // ------------------------------------------------------------ heartbeats

  private startHeartbeat(): void {
    if (this.heartbeat === 0) return;
    const intervalMs = this.heartbeat * 1000;
    // Send at half the interval; drop a peer silent for two full intervals (spec §4.2.7).
    this.heartbeatTimer = this.broker.clock.every(intervalMs / 2, () => {
      const now = this.broker.clock.now();
      // A blocked connection is not read, so its silence is ours, not the peer's.
      if (this.blockedByAlarm) this.lastReceived = now;
      if (now - this.lastReceived > 2 * intervalMs) {
        this.log.error({ user: this.user, vhost: this.vhostRef?.name, heartbeat: this.heartbeat }, 'missed heartbeats from client, closing');
        this.destroy();
        return;
      }
      this.outbound.sendRaw(HEARTBEAT_FRAME);
    });
  }

  // ------------------------------------------------------------ errors and closing

  /** The one catch site: soft errors close the channel, everything else the connection. */
  private fail(err: unknown, channel: number, m?: M.Method): void {
    const info = m === undefined ? undefined : M.METHOD_INFO.get(m.id);
    if (err instanceof AmqpError) {
      if (err.classId === 0 && info !== undefined) {
        err.classId = info.classId;
        err.methodId = info.methodId;
      }
      if (err instanceof ChannelError && channel !== 0 && !M.HARD_ERROR_CODES.has(err.replyCode)) {
        return this.closeChannel(channel, err);
      }
      return this.closeConnection(err);
    }
    this.log.error({ err }, 'internal error');
    const detail = err instanceof Error ? err.message : String(err);
    this.closeConnection(internalError(detail, m?.id));
  }

  /** Close channels whose deliveries waited too long for an ack (consumer_timeout). */
  checkConsumerTimeouts(now: number): void {
    if (this.state !== State.Open) return;
    for (const ch of this.channels.values()) {
      if (ch.closing) continue;
      const err = ch.checkConsumerTimeout(now, this.broker.config.consumerTimeout);
      if (err !== null) {
        this.closeChannel(ch.id, err);
        this.outbound.flush();
      }
    }
  }

  private closeChannel(channel: number, err: AmqpError): void {
    const ch = this.channels.get(channel);
    if (ch === undefined || ch.closing) return;
    // At error like RabbitMQ, naming the operation; a client looping on errors is summarised per connection.
    this.broker.logs.channelErrors.note(String(this.id), String(err.replyCode), {
      conn: this.id, peer: `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? 0}`, user: this.user, vhost: this.vhostRef?.name, channel,
      operation: M.METHOD_INFO.get(err.classId * 65536 + err.methodId)?.name, replyCode: err.replyCode, replyText: err.replyText,
    });
    ch.cleanup();
    ch.send({ id: M.CHANNEL_CLOSE, replyCode: err.replyCode, replyText: err.replyText, classId: err.classId, methodId: err.methodId });
  }

  /** Send connection.close and wait (bounded) for close-ok. */
  closeConnection(err: AmqpError): void {
    if (this.state === State.Closing || this.state === State.Closed) return;
    // A refused login was already logged (summarised) as an authentication failure.
    // A shutdown (320 CONNECTION_FORCED) was asked for by the operator: info.
    const refusedLogin = err.replyCode === ReplyCode.ACCESS_REFUSED && this.state !== State.Open;
    this.log[refusedLogin ? 'debug' : err.replyCode === ReplyCode.CONNECTION_FORCED ? 'info' : 'error']({ user: this.user, vhost: this.vhostRef?.name, operation: M.METHOD_INFO.get(err.classId * 65536 + err.methodId)?.name, replyCode: err.replyCode, replyText: err.replyText }, 'closing connection on error');
    this.reader.stopped = true;
    this.state = State.Closing;
    this.teardown();
    this.outbound.sendMethod(0, {
      id: M.CONNECTION_CLOSE,
      replyCode: err.replyCode,
      replyText: err.replyText,
      classId: err.classId,
      methodId: err.methodId,
    });
    this.outbound.flush();
    this.reader.stopped = false;
    this.closeTimer = this.broker.clock.after(CLOSE_TIMEOUT_MS, () => this.destroy());
  }

  private cleanupChannels(): void {
    for (const ch of this.channels.values()) ch.cleanup();
  }

  /** We half-closed the socket: cut it off if the peer never closes its side. */
  private destroyLater(): void {
    // A pending handshake timeout stays armed: whichever fires first destroys the socket.
    this.closeTimer?.cancel();
    this.closeTimer = this.broker.clock.after(HALF_CLOSED_TIMEOUT_MS, () => {
      this.log.debug({ timeoutMs: HALF_CLOSED_TIMEOUT_MS }, 'peer kept a half-closed socket open, destroying it');
      this.destroy();
    });
  }

  /** Release everything the connection holds in the broker (idempotent). */
  private teardown(): void {
    if (!this.churnCounted) {
      this.churnCounted = true;
      this.broker.stats.churn.connectionClosed++;
    }
    this.clearHandshakeTimer();
    this.clearSilentCloseTimer();
    // Requeues every unacked delivery: long with many of them, so the watchdog can name it.
    if (this.channels.size > 0) this.broker.loop.track('connection.teardown', () => this.cleanupChannels(), { conn: this.id });
    this.channels.clear();
    this.pendingConfirms.clear();
    if (this.vhostRef !== null) this.vhostRef.removeExclusiveQueues(this);
    if (this.registered) this.broker.clients.remove(this);
    this.registered = false;
    if (this.countedIn !== null) this.broker.connectionCounts.releaseConnection(this.countedIn, this.user);
    this.countedIn = null;
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = null;
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

  forceClose(text: string): void {
    this.closeConnection(connectionForced(text));
    this.outbound.flush();
  }

  destroy(): void {
    if (this.state !== State.Closed) this.state = State.Closed;
    this.teardown();
    this.closeTimer?.cancel();
    this.outbound.flush();
    this.outbound.closed = true;
    this.socket.destroy();
  }

  private onSocketClosed(): void {
    const vanished = this.state === State.Open;
    this.state = State.Closed;
    this.outbound.closed = true;
    this.teardown();
    this.closeTimer?.cancel();
    this.registry.removeConnection(this);
    // RabbitMQ warns when a client drops its socket without connection.close.
    if (vanished) this.log.warn({ user: this.user, vhost: this.vhostRef?.name }, 'client unexpectedly closed TCP connection');
    else this.log.debug('connection closed');
  }

  private onDrain(): void {
    for (const ch of this.channels.values()) ch.redispatch();
  }
}

function isLoopback(addr: string | undefined): boolean {
  if (addr === undefined) return false;
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.');
}

/** The method id a payload names, as far as its bytes go (the class alone when it is cut short). */
function methodRefOf(payload: Buffer): number {
  const classId = payload.length >= 2 ? payload.readUInt16BE(0) : 0;
  const methodId = payload.length >= 4 ? payload.readUInt16BE(2) : 0;
  return classId * 0x10000 + methodId;
}
