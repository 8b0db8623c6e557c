// One client connection: frames in (methods, content, heartbeats), channel multiplexing and
// resource-alarm blocking. The handshake, closing and state it builds on live in
// connection-handshake.ts, connection-closing.ts and connection-state.ts.

import type { Transport } from './transport.js';
import type { Logger } from '../log.js';
import type { Broker } from '../broker/broker.js';
import { AssemblyState } from '../protocol/command-assembler.js';
import { AmqpError, channelError, commandInvalid, frameError, notAllowed, unexpectedFrame } from '../protocol/errors.js';
import { octets, type FrameHandler } from '../protocol/frame-reader.js';
import * as M from '../protocol/generated/amqp.js';
import { Channel, type ChannelHost } from './channel.js';
import type { ConfirmTracker } from './confirm-tracker.js';
import type { ClientConnection } from '../broker/clients.js';
import { State } from './connection-state.js';
import { ConnectionHandshake } from './connection-handshake.js';

export { HALF_CLOSED_TIMEOUT_MS } from './connection-closing.js';

export interface ConnectionRegistry {
  removeConnection(c: Connection): void;
}

export class Connection extends ConnectionHandshake implements FrameHandler, ChannelHost, ClientConnection {
  private readonly registry: ConnectionRegistry;

  constructor(id: number, socket: Transport, broker: Broker, registry: ConnectionRegistry, log: Logger) {
    super(id, socket, broker, log);
    this.registry = registry;
  }

  protected override onData(chunk: Buffer): void {
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

  override onMethodFrame(channel: number, payload: Buffer): void {
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

  override onHeaderFrame(channel: number, buf: Buffer, start: number, end: number): void {
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

  override onBodyFrame(channel: number, payload: Buffer): void {
    const ch = this.contentChannel(channel);
    if (ch === null) return;
    try {
      if (ch.assembler.onBody(payload)) ch.handlePublish();
    } catch (err) {
      this.fail(err, channel);
    }
  }

  override onBodyParts(channel: number, parts: readonly Buffer[]): void {
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

  override onHeartbeatFrame(channel: number): void {
    // The spec says 501, but RabbitMQ answers 505 with this text, and clients see RabbitMQ's.
    if (channel !== 0) throw unexpectedFrame('type 8, all octets = <<>>');
  }

  markConfirmsPending(t: ConfirmTracker): void {
    this.pendingConfirms.add(t);
  }

  durableWaitFailed(err: Error, channel: number): void {
    // As when a failed store throws at the next change: 541 INTERNAL_ERROR closes the connection.
    this.fail(err, channel);
  }


  protected override onSocketClosed(): void {
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

  protected override onDrain(): void {
    for (const ch of this.channels.values()) ch.redispatch();
  }
}

/** The method id a payload names, as far as its bytes go (the class alone when it is cut short). */
function methodRefOf(payload: Buffer): number {
  const classId = payload.length >= 2 ? payload.readUInt16BE(0) : 0;
  const methodId = payload.length >= 4 ? payload.readUInt16BE(2) : 0;
  return classId * 0x10000 + methodId;
}
