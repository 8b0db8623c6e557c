// amqps: TLS settings (PEM files from the config, or PEM given in memory) -> node:tls server options,
// and the TLS server whose secure sockets join the ordinary AMQP accept path.

import { readFileSync } from 'node:fs';
import { createSecureContext, createServer, type Server, type TLSSocket, type TlsOptions } from 'node:tls';
import { ConfigError, type Config, type TlsVerify } from '../config/config.js';
import type { Logger } from '../log.js';

/** PEM certificate material given in memory (embedding) instead of as files. */
export interface TlsMaterial {
  cert: string | Buffer;
  key: string | Buffer;
  /** CAs client certificates must chain to; given, client certificates are required (unless tlsVerify is none). */
  ca?: string | Buffer | undefined;
}

/**
 * Server options for the TLS listener, or null when no TLS port is configured. Reads and checks the
 * certificate, key and CA at startup so a bad file is a ConfigError, not a failure per connection.
 */
export function tlsServerOptions(config: Config, material?: TlsMaterial): TlsOptions | null {
  const files = config.tlsCert !== null || config.tlsKey !== null || config.tlsCa !== null;
  if (config.tlsPort === null) {
    if (files || material !== undefined) throw new ConfigError('TLS certificate or key given but no TLS port (--tls-port)');
    return null;
  }
  if (files && material !== undefined) throw new ConfigError('give TLS material either as files (tlsCert/tlsKey/tlsCa) or in memory (tls), not both');
  const cert = material?.cert ?? readPem(config.tlsCert, 'certificate', '--tls-cert');
  const key = material?.key ?? readPem(config.tlsKey, 'key', '--tls-key');
  const ca = material !== undefined ? material.ca : config.tlsCa === null ? undefined : readPem(config.tlsCa, 'CA', '--tls-ca');
  const verify: TlsVerify = config.tlsVerify ?? (ca !== undefined ? 'peer' : 'none');
  if (verify === 'peer' && ca === undefined) throw new ConfigError('TLS verify peer needs a CA to check client certificates against (--tls-ca)');
  const peer = verify === 'peer';
  const options: TlsOptions = {
    cert,
    key,
    // RabbitMQ's verify_peer + fail_if_no_peer_cert: ask for a certificate and refuse the handshake without a valid one.
    requestCert: peer,
    rejectUnauthorized: peer,
    // RabbitMQ's handshake_timeout covers the TLS handshake too (node's own default is 120 s).
    handshakeTimeout: config.handshakeTimeout,
  };
  if (peer) options.ca = ca;
  try {
    createSecureContext(options);
  } catch (err) {
    throw new ConfigError(`invalid TLS certificate, key or CA: ${err instanceof Error ? err.message : String(err)}`);
  }
  return options;
}

function readPem(file: string | null, what: string, flag: string): Buffer {
  if (file === null) throw new ConfigError(`TLS port given without a ${what} file (${flag})`);
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`cannot read TLS ${what} file '${file}': ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * A TLS server handing each socket that completes the handshake to `onSecure`. A failed handshake
 * (plain AMQP or HTTP on this port, a missing or untrusted client certificate, a timeout) is logged
 * and the socket dropped; nothing reaches the broker.
 */
export function createAmqpsServer(options: TlsOptions, onSecure: (socket: TLSSocket) => void, log: Logger): Server {
  const server = createServer(options, (socket: TLSSocket) => {
    log.debug({ peer: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`, protocol: socket.getProtocol(), authorized: socket.authorized }, 'TLS handshake done');
    onSecure(socket);
  });
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    log.warn({ err: err.message, code: err.code, peer: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}` }, 'TLS handshake failed');
    // node leaves the socket open after a handshake timeout once someone listens for this event.
    socket.destroy();
  });
  return server;
}
