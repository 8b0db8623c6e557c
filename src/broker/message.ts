// A published message: routing facts, the raw content-header bytes as the publisher
// sent them (passed through to consumers), the body as views, and lazily decoded properties.

import { BASIC_PUBLISH, decodeBasicProperties, type BasicProperties } from '../protocol/generated/amqp.js';
import { encodeContentHeaderPayload } from '../protocol/frame-writer.js';
import { skipFieldValue, type FieldValue } from '../protocol/field-table.js';
import { frameError } from '../protocol/errors.js';

/** Content-header payload layout: class (2) weight (2) body size (8) then property flags. */
const PROPERTY_FLAGS_OFFSET = 12;
/** Property flag bits (AMQP 0-9-1 §4.2.6.1: first property is bit 15). */
const DELIVERY_COUNT = 'x-delivery-count';
const DELIVERY_COUNT_KEY = Buffer.from(DELIVERY_COUNT);
/** shortstr key + 'l' tag; the 8-byte value follows. */
const DELIVERY_COUNT_ENTRY = Buffer.concat([Buffer.from([DELIVERY_COUNT.length]), DELIVERY_COUNT_KEY, Buffer.from('l')]);
const FLAG_CONTENT_TYPE = 1 << 15;
const FLAG_CONTENT_ENCODING = 1 << 14;
const FLAG_HEADERS = 1 << 13;
const FLAG_DELIVERY_MODE = 1 << 12;
const FLAG_PRIORITY = 1 << 11;
const FLAG_REPLY_TO = 1 << 9;
const FLAG_EXPIRATION = 1 << 8;
const FLAG_USER_ID = 1 << 4;

/** Whether content-header property flags (the u16 after class, weight and body size) include an expiration. */
export function hasExpirationFlag(flags: number): boolean {
  return (flags & FLAG_EXPIRATION) !== 0;
}

/** Reads a body kept on disk (the message store). */
export interface BodyPager {
  readBody(queue: string, seq: number): Buffer;
}

export class Message {
  readonly exchange: string;
  readonly routingKey: string;
  /** Raw content-header payload; replaced only when the broker must rewrite properties. */
  header: Buffer;
  readonly bodySize: number;
  private parts: Buffer[] | null;
  /** Where a paged-out body is read from (deep or recovered queues keep bodies on disk). */
  private pager: BodyPager | null;
  private pagedQueue: string;
  private pagedSeq: number;
  private props: BasicProperties | null;

  constructor(exchange: string, routingKey: string, header: Buffer, body: Buffer[] | null, bodySize: number) {
    this.exchange = exchange;
    this.routingKey = routingKey;
    this.header = header;
    this.parts = body;
    this.bodySize = bodySize;
    this.pager = null;
    this.pagedQueue = '';
    this.pagedSeq = -1;
    this.props = null;
  }

  /** A message whose body stays on disk until it is delivered. */
  static paged(exchange: string, routingKey: string, header: Buffer, bodySize: number, pager: BodyPager, queue: string, seq: number): Message {
    const m = new Message(exchange, routingKey, header, null, bodySize);
    m.pager = pager;
    m.pagedQueue = queue;
    m.pagedSeq = seq;
    return m;
  }

  /** Body parts; a paged body is read from disk each time (not cached, so memory stays bounded). */
  get body(): Buffer[] {
    if (this.parts !== null) return this.parts;
    if (this.pager === null || this.bodySize === 0) return [];
    return [this.pager.readBody(this.pagedQueue, this.pagedSeq)];
  }

  get isPaged(): boolean {
    return this.parts === null;
  }

  /** Hold the body in memory from now on. */
  loadBody(body: Buffer): void {
    this.parts = [body];
    this.pager = null;
  }

  get flags(): number {
    return this.header.readUInt16BE(PROPERTY_FLAGS_OFFSET);
  }

  get properties(): BasicProperties {
    if (this.props === null) {
      try {
        this.props = decodeBasicProperties(this.header, PROPERTY_FLAGS_OFFSET);
      } catch (err) {
        // Lengths were checked at publish; what is left is a shortstr property that is not UTF-8 and
        // no longer fits 255 bytes once decoded (warren holds them as strings; RabbitMQ as bytes).
        // Refused like such a name in a method (501), never a 541.
        if (err instanceof RangeError) throw frameError(`cannot decode content header properties: ${err.message}`, BASIC_PUBLISH);
        throw err;
      }
    }
    return this.props;
  }

  /** A non-empty headers table (amqplib, for one, sends an empty one with every message). */
  get hasHeaders(): boolean {
    const flags = this.flags;
    if ((flags & FLAG_HEADERS) === 0) return false;
    if (this.props !== null) return this.props.headers !== undefined && Object.keys(this.props.headers).length > 0;
    const h = this.header;
    const pos = headersOffset(h, flags);
    return pos + 4 > h.length || h.readUInt32BE(pos) !== 0;
  }

  /**
   * Drop the decoded properties once a publish has been routed: a queued message then holds only its
   * raw header (decoding again later is cheaper than ~110 B per queued message).
   */
  forgetProperties(): void {
    this.props = null;
  }

  /** Read from the raw header (checked on every publish; decoding all properties for it is wasteful). */
  get persistent(): boolean {
    const flags = this.flags;
    if ((flags & FLAG_DELIVERY_MODE) === 0) return false;
    if (this.props !== null) return this.props.deliveryMode === 2;
    const h = this.header;
    // delivery-mode follows content-type, content-encoding (shortstrs) and headers (a table).
    let pos = headersOffset(h, flags);
    if ((flags & FLAG_HEADERS) !== 0) pos += pos + 4 <= h.length ? 4 + h.readUInt32BE(pos) : h.length;
    // A malformed header is left to the full decoder, which reports it.
    if (pos >= h.length) return this.properties.deliveryMode === 2;
    return h[pos] === 2;
  }

  get hasPriority(): boolean {
    return (this.flags & FLAG_PRIORITY) !== 0;
  }

  get hasReplyTo(): boolean {
    return (this.flags & FLAG_REPLY_TO) !== 0;
  }

  get hasExpiration(): boolean {
    return hasExpirationFlag(this.flags);
  }

  get hasUserId(): boolean {
    return (this.flags & FLAG_USER_ID) !== 0;
  }

  /** Replace the properties (re-encodes the header); used for BCC removal, reply-to rewriting, x-death. */
  setProperties(props: BasicProperties): void {
    this.props = props;
    this.header = encodeContentHeaderPayload(this.header.readUInt16BE(0), this.bodySize, props);
  }

  /**
   * The content header with `x-delivery-count` set to `count` (quorum and delivery-limit queues add it
   * per delivery). Patches the raw bytes: the headers table's entries are stepped over without being
   * decoded, an existing x-delivery-count is replaced in place (later duplicates dropped), otherwise
   * one 64-bit 'l' entry is appended (or a table added). Nothing else is decoded or re-encoded, so
   * any header publish accepted can be delivered (a non-UTF-8 content-type or a timestamp beyond
   * 2^53 would not survive a decode/re-encode).
   */
  headerWithDeliveryCount(count: number): Buffer {
    const h = this.header;
    const flags = this.flags;
    const pos = headersOffset(h, flags);
    const entry = DELIVERY_COUNT_ENTRY.length + 8;
    if ((flags & FLAG_HEADERS) === 0) {
      const out = Buffer.allocUnsafe(h.length + 4 + entry);
      h.copy(out, 0, 0, pos);
      out.writeUInt16BE(flags | FLAG_HEADERS, PROPERTY_FLAGS_OFFSET);
      out.writeUInt32BE(entry, pos);
      writeDeliveryCount(out, pos + 4, count);
      h.copy(out, pos + 4 + entry, pos);
      return out;
    }
    // Lengths were checked at publish (propertyOverrun); a header that still does not fit is sent as it is.
    if (pos + 4 > h.length) return h;
    const tableStart = pos + 4;
    const tableEnd = tableStart + h.readUInt32BE(pos);
    if (tableEnd > h.length) return h;
    const body = Buffer.allocUnsafe(tableEnd - tableStart + entry);
    let w = 0;
    let placed = false;
    let p = tableStart;
    while (p < tableEnd) {
      const keyEnd = p + 1 + (h[p] as number);
      const valueEnd = keyEnd < tableEnd ? skipFieldValue(h, keyEnd, tableEnd) : -1;
      if (valueEnd < 0) {
        // Not a well-formed entry (publish decodes non-empty tables, so not expected): keep the rest as it came.
        w += h.copy(body, w, p, tableEnd);
        break;
      }
      if (keyEnd - p - 1 === DELIVERY_COUNT_KEY.length && h.compare(DELIVERY_COUNT_KEY, 0, DELIVERY_COUNT_KEY.length, p + 1, keyEnd) === 0) {
        if (!placed) w = writeDeliveryCount(body, w, count);
        placed = true;
      } else {
        w += h.copy(body, w, p, valueEnd);
      }
      p = valueEnd;
    }
    if (!placed) w = writeDeliveryCount(body, w, count);
    const out = Buffer.allocUnsafe(tableStart + w + h.length - tableEnd);
    h.copy(out, 0, 0, pos);
    out.writeUInt32BE(w, pos);
    body.copy(out, tableStart, 0, w);
    h.copy(out, tableStart + w, tableEnd);
    return out;
  }

  /** The content header with one header field added (not stored: used per delivery). */
  headerWith(key: string, value: FieldValue): Buffer {
    const props = this.properties;
    return encodeContentHeaderPayload(this.header.readUInt16BE(0), this.bodySize, {
      ...props,
      headers: { ...(props.headers ?? {}), [key]: value },
    });
  }

  /** A copy that can be changed without touching the original (dead-lettering). */
  clone(routingKey: string = this.routingKey, exchange: string = this.exchange): Message {
    const m = new Message(exchange, routingKey, this.header, this.body, this.bodySize);
    return m;
  }

  /** The body as one buffer (only for tests, get-ok of stores, and persistence). */
  bodyBuffer(): Buffer {
    const body = this.body;
    if (body.length === 1) return body[0] as Buffer;
    const out = Buffer.allocUnsafe(this.bodySize);
    let pos = 0;
    for (const part of body) pos += part.copy(out, pos);
    return out;
  }
}

/** Write the x-delivery-count entry (key, 'l', 64-bit count) at p; returns the position after it. */
function writeDeliveryCount(buf: Buffer, p: number, count: number): number {
  p += DELIVERY_COUNT_ENTRY.copy(buf, p);
  buf.writeUInt32BE(Math.floor(count / 0x100000000), p);
  buf.writeUInt32BE(count >>> 0, p + 4);
  return p + 8;
}

/** Where the headers table (or, without one, delivery-mode) starts: after content-type and content-encoding. */
function headersOffset(h: Buffer, flags: number): number {
  let pos = PROPERTY_FLAGS_OFFSET + 2;
  if ((flags & FLAG_CONTENT_TYPE) !== 0) pos += 1 + (h[pos] ?? 0);
  if ((flags & FLAG_CONTENT_ENCODING) !== 0) pos += 1 + (h[pos] ?? 0);
  return pos;
}
