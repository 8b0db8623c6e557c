// What a connection needs from its byte stream: a TCP socket, or a WebSocket wrapped as a stream.

import type { X509Certificate } from 'node:crypto';
import type { EventEmitter } from 'node:events';

export interface Transport extends EventEmitter {
  write(chunk: Buffer): boolean;
  cork(): void;
  uncork(): void;
  end(): unknown;
  end(chunk: Buffer): unknown;
  destroy(): unknown;
  pause(): unknown;
  resume(): unknown;
  readonly writableLength: number;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  setNoDelay?(noDelay: boolean): unknown;
  /** TLS only: the handshake verified the peer's certificate against the CA. */
  readonly authorized?: boolean;
  /** TLS only: the peer's certificate (SASL EXTERNAL). */
  getPeerX509Certificate?(): X509Certificate | undefined;
}
