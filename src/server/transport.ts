// What a connection needs from its byte stream: a TCP socket, or a WebSocket wrapped as a stream.

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
}
