// Per-channel assembly of content commands: a content method, then one content
// header, then body frames until the declared body size is reached.

import { ChannelError, ConnectionError } from './errors.js';
import { METHOD_INFO, type Method } from './generated/amqp.js';

export const enum AssemblyState {
  Method = 0,
  Header = 1,
  Body = 2,
}

export class CommandAssembler {
  state: AssemblyState = AssemblyState.Method;
  method: Method | null = null;
  header: Buffer | null = null;
  bodySize = 0;
  received = 0;
  body: Buffer[] = [];
  /** Largest message body accepted (RabbitMQ's max_message_size). */
  maxBodySize: number;

  constructor(maxBodySize: number) {
    this.maxBodySize = maxBodySize;
  }

  /** A method frame arrived: fine only when no content is expected. */
  expectMethod(): void {
    if (this.state === AssemblyState.Header) {
      throw this.unexpected('expected content header for class 60, got non content header frame instead');
    }
    if (this.state === AssemblyState.Body) {
      throw this.unexpected('expected content body, got non content body frame instead');
    }
  }

  beginContent(method: Method): void {
    this.method = method;
    this.state = AssemblyState.Header;
  }

  /** Returns true when the command is complete (zero-length body). */
  /** The content header is buf[start, end). */
  onHeader(buf: Buffer, start: number, end: number): boolean {
    if (this.state !== AssemblyState.Header) {
      throw new ConnectionError(505, 'expected method frame, got non method frame instead', 0, 0);
    }
    // Under 12 octets the frame reader already refused it (501, as RabbitMQ); here the flags are missing.
    if (end - start < 14) {
      this.reset();
      throw new ConnectionError(502, 'malformed content header: property flags overrun the frame', 0, 0);
    }
    const classId = buf.readUInt16BE(start);
    const m = this.method as Method;
    const info = METHOD_INFO.get(m.id);
    if (info === undefined || classId !== info.classId) {
      throw this.unexpected(`expected content header for class ${info?.classId ?? 0}, got one for class ${classId} instead`);
    }
    const overrun = propertyOverrun(buf, start + 12, end);
    if (overrun !== null) {
      // RabbitMQ 3.10 closes the connection with a bare 541 (its property decoder crashes); warren
      // keeps 541 for its own faults and answers malformed input with 502 SYNTAX_ERROR, as for an
      // undecodable table. Either way the connection closes and nothing of the message is kept.
      this.reset();
      throw new ConnectionError(502, `malformed content header: ${overrun}`, 0, 0);
    }
    const size = buf.readUInt32BE(start + 4) * 0x100000000 + buf.readUInt32BE(start + 8);
    // Keep an owned copy of the header: it outlives the socket chunk and is passed to consumers.
    const header = Buffer.allocUnsafe(end - start);
    buf.copy(header, 0, start, end);
    this.header = header;
    this.bodySize = size;
    this.received = 0;
    if (size > this.maxBodySize) {
      this.reset();
      throw new ChannelError(406, `message size ${size} is larger than configured max size ${this.maxBodySize}`, 60, 40);
    }
    if (size === 0) return true;
    this.state = AssemblyState.Body;
    return false;
  }

  /** Returns true when the body is complete. */
  onBody(payload: Buffer): boolean {
    if (this.state === AssemblyState.Header) {
      throw this.unexpected('expected content header for class 60, got non content header frame instead');
    }
    if (this.state !== AssemblyState.Body) {
      throw new ConnectionError(505, 'expected method frame, got non method frame instead', 0, 0);
    }
    this.received += payload.length;
    // Like RabbitMQ, an overlong body is only refused when the next method arrives (expectMethod).
    if (this.received > this.bodySize) {
      this.body = [];
      return false;
    }
    // A literal, not push() onto []: V8 would give the array room for 17 elements (~150 B) per message.
    if (payload.length > 0) {
      if (this.body.length === 0) this.body = [payload];
      else this.body.push(payload);
    }
    return this.received === this.bodySize;
  }

  /** One body frame that arrived as several views; returns true when the body is complete. */
  onBodyParts(parts: readonly Buffer[]): boolean {
    let done = false;
    for (let i = 0; i < parts.length; i++) done = this.onBody(parts[i] as Buffer);
    return done;
  }

  reset(): void {
    this.state = AssemblyState.Method;
    this.method = null;
    this.header = null;
    this.body = [];
    this.bodySize = 0;
    this.received = 0;
  }

  private unexpected(detail: string): ConnectionError {
    const info = this.method === null ? undefined : METHOD_INFO.get(this.method.id);
    return new ConnectionError(505, detail, info?.classId ?? 0, info?.methodId ?? 0);
  }
}

/** Basic property sizes in flag order (bit 15 down to bit 2): 's' shortstr, 't' table, 1/8 fixed octets. */
const BASIC_PROPERTY_LAYOUT: readonly (readonly [string, 's' | 't' | 1 | 8])[] = [
  ['content-type', 's'],
  ['content-encoding', 's'],
  ['headers', 't'],
  ['delivery-mode', 1],
  ['priority', 1],
  ['correlation-id', 's'],
  ['reply-to', 's'],
  ['expiration', 's'],
  ['message-id', 's'],
  ['timestamp', 8],
  ['type', 's'],
  ['user-id', 's'],
  ['app-id', 's'],
  ['cluster-id', 's'],
];

/**
 * Checks that every property the flags announce fits in the frame (lengths only: later readers of
 * the raw header, which is stored and passed to consumers as it came, rely on it). Returns what is
 * wrong, or null.
 */
export function propertyOverrun(buf: Buffer, flagsAt: number, end: number): string | null {
  const flags = buf.readUInt16BE(flagsAt);
  if ((flags & 1) !== 0) return 'property flags continue beyond the basic class';
  let pos = flagsAt + 2;
  for (let i = 0; i < BASIC_PROPERTY_LAYOUT.length; i++) {
    if ((flags & (1 << (15 - i))) === 0) continue;
    const [name, kind] = BASIC_PROPERTY_LAYOUT[i] as readonly [string, 's' | 't' | 1 | 8];
    if (kind === 's') pos += pos < end ? 1 + (buf[pos] as number) : 1;
    else if (kind === 't') pos += pos + 4 <= end ? 4 + buf.readUInt32BE(pos) : 4;
    else pos += kind;
    if (pos > end) return `${name} overruns the frame`;
  }
  return pos === end ? null : `${end - pos} bytes after the last property`;
}
