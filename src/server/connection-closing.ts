// Errors and closing: the one catch site that maps errors to channel or connection closes,
// consumer timeouts, connection.close with its bounded wait, half-closed sockets, and teardown.

import { AmqpError, ChannelError, ReplyCode, internalError, connectionForced } from '../protocol/errors.js';
import * as M from '../protocol/generated/amqp.js';
import { ConnectionState, State } from './connection-state.js';

/** How long a peer gets to answer our connection.close before the socket is cut. */
const CLOSE_TIMEOUT_MS = 3000;
/**
 * How long a socket we half-closed (after close-ok, a refused header or a failed login) may stay
 * open waiting for the peer's side; then it is destroyed so its descriptor is not kept forever.
 * RabbitMQ's reader uses 30 s (CLOSING_TIMEOUT).
 */
export const HALF_CLOSED_TIMEOUT_MS = 30_000;

export abstract class ConnectionClosing extends ConnectionState {
  /** The one catch site: soft errors close the channel, everything else the connection. */
  protected fail(err: unknown, channel: number, m?: M.Method): void {
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
  protected destroyLater(): void {
    // A pending handshake timeout stays armed: whichever fires first destroys the socket.
    this.closeTimer?.cancel();
    this.closeTimer = this.broker.clock.after(HALF_CLOSED_TIMEOUT_MS, () => {
      this.log.debug({ timeoutMs: HALF_CLOSED_TIMEOUT_MS }, 'peer kept a half-closed socket open, destroying it');
      this.destroy();
    });
  }

  /** Release everything the connection holds in the broker (idempotent). */
  protected teardown(): void {
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

  override forceClose(text: string): void {
    this.closeConnection(connectionForced(text));
    this.outbound.flush();
  }

  override destroy(): void {
    if (this.state !== State.Closed) this.state = State.Closed;
    this.teardown();
    this.closeTimer?.cancel();
    this.outbound.flush();
    this.outbound.closed = true;
    this.socket.destroy();
  }
}
