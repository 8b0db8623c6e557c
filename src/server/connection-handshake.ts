// The handshake: protocol header, connection.start/start-ok (SASL login), tune/tune-ok and open,
// the other connection-class methods, and heartbeats once the connection is open.

import { AmqpError, ReplyCode, channelError, commandInvalid, connectionClose, notAllowed } from '../protocol/errors.js';
import { type FieldTable } from '../protocol/field-table.js';
import { HEARTBEAT_FRAME, PROTOCOL_HEADER } from '../protocol/frame-writer.js';
import * as M from '../protocol/generated/amqp.js';
import { parseSaslResponse } from './sasl.js';
import { serverProperties } from './server-properties.js';
import type { LoginResult } from '../broker/auth/users.js';
import { loginRefusedText, vhostAccessRefused, vhostNotFound } from '../broker/auth/refusals.js';
import { SILENT_CLOSE_DELAY_MS } from './login-delay.js';
import { State } from './connection-state.js';
import { ConnectionClosing } from './connection-closing.js';

/** The AMQP 0-9 header (class 1, instance 1, 0-9); RabbitMQ speaks 0-9-1 to clients that send it. */
export const LEGACY_0_9_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 9]);

export abstract class ConnectionHandshake extends ConnectionClosing {
  /** Consume the 8-byte protocol header; returns the bytes after it. */
  protected readProtocolHeader(chunk: Buffer): Buffer {
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


  protected onConnectionMethod(m: M.Method): void {
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
}

function isLoopback(addr: string | undefined): boolean {
  if (addr === undefined) return false;
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.');
}
