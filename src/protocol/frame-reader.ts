// Resumable frame parser over socket chunks. A frame is handed on as a view into
// the chunk it arrived in; bytes are copied only when a frame spans chunks, except
// large body frames, which are handed on as views of each chunk they span (no copy:
// big bodies nearly always span the 64 KiB socket reads).

import { ConnectionError } from './errors.js';
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from './generated/amqp.js';

export interface FrameHandler {
  onMethodFrame(channel: number, payload: Buffer): void;
  /** A content header: the payload is buf[start, end) (not cut out: the receiver copies it anyway). */
  onHeaderFrame(channel: number, buf: Buffer, start: number, end: number): void;
  onBodyFrame(channel: number, payload: Buffer): void;
  /** One body frame whose payload arrived in several chunks, as views in order. */
  onBodyParts(channel: number, parts: readonly Buffer[]): void;
  onHeartbeatFrame(channel: number): void;
}

/** 7-byte frame header: type (1), channel (2), payload size (4); then 1 frame-end octet. */
const HEADER_SIZE = 7;
/** Content-header payload before the property flags: class (2), weight (2), body size (8). */
const CONTENT_HEADER_FIXED = 12;
/** Body frames with at least this much payload that span chunks are passed on as views, not copied. */
const VIEW_MIN_PAYLOAD = 4096;
/** A body frame arriving in more pieces than this is copied (bounds per-view overhead for trickled input). */
const MAX_VIEWS = 16;

/** Erlang's escapes for the control characters it still counts as printable. */
const ERLANG_ESCAPES: ReadonlyMap<number, string> = new Map([
  [8, '\\b'], [9, '\\t'], [10, '\\n'], [11, '\\v'], [12, '\\f'], [13, '\\r'], [27, '\\e'], [34, '\\"'], [92, '\\\\'],
]);

/**
 * Bytes as an Erlang binary literal, the way RabbitMQ prints them in frame errors: a string when
 * every byte is printable ASCII (`<<"abc">>`), else numbers (capped: reply texts are short strings).
 */
export function octets(buf: Buffer, start: number, end: number): string {
  const shown = Math.min(end, start + 40);
  const more = shown < end ? ',...' : '';
  let printable = shown > start;
  for (let i = start; i < shown && printable; i++) {
    const c = buf[i] as number;
    printable = (c >= 32 && c <= 126) || ERLANG_ESCAPES.has(c);
  }
  if (printable) {
    let text = '';
    for (let i = start; i < shown; i++) {
      const c = buf[i] as number;
      text += ERLANG_ESCAPES.get(c) ?? String.fromCharCode(c);
    }
    return `<<"${text}"${more}>>`;
  }
  const parts: number[] = [];
  for (let i = start; i < shown; i++) parts.push(buf[i] as number);
  return `<<${parts.join(',')}${more}>>`;
}

export class FrameReader {
  /** Largest frame accepted, header and frame-end included (0 = unlimited). */
  frameMax: number;
  private readonly handler: FrameHandler;
  /** A frame spanning chunks is assembled here. */
  private partial: Buffer | null = null;
  private partialFilled = 0;
  /** Bytes of an incomplete 7-byte header carried over from the previous chunk. */
  private readonly headerBytes = Buffer.alloc(HEADER_SIZE);
  private headerFilled = 0;
  /** A large body frame spanning chunks: its payload views so far, and how many payload bytes are still due. */
  private views: Buffer[] | null = null;
  private viewsDue = 0;
  private viewsChannel = 0;
  /** Set by the handler to stop parsing the rest of a chunk (connection closing). */
  stopped = false;

  constructor(handler: FrameHandler, frameMax: number) {
    this.handler = handler;
    this.frameMax = frameMax;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    if (this.views !== null) {
      pos = this.takeViews(chunk, 0);
      if (pos < 0) return;
    } else if (this.headerFilled > 0 || this.partial !== null) {
      pos = this.resume(chunk);
      if (pos < 0) return;
    }
    while (pos < len && !this.stopped) {
      if (len - pos < HEADER_SIZE) {
        chunk.copy(this.headerBytes, 0, pos, len);
        this.headerFilled = len - pos;
        return;
      }
      // Byte arithmetic rather than readUInt32BE: the bounds were checked just above.
      const size = (((chunk[pos + 3] as number) << 24) >>> 0) + (((chunk[pos + 4] as number) << 16) | ((chunk[pos + 5] as number) << 8) | (chunk[pos + 6] as number));
      if (this.frameMax > 0 && size > this.frameMax) this.checkSize(size, chunk[pos] as number);
      const total = HEADER_SIZE + size + 1;
      if (len - pos < total) {
        // The frame ends beyond this chunk, so startViews cannot complete it here.
        if (chunk[pos] === FRAME_BODY && size >= VIEW_MIN_PAYLOAD) this.startViews(chunk.readUInt16BE(pos + 1), size, chunk, pos + HEADER_SIZE);
        else this.startPartial(chunk, pos, total);
        return;
      }
      this.emit(chunk, pos, size);
      pos += total;
    }
  }

  /** Continue a frame begun in an earlier chunk; returns where the next frame starts, or -1 if the chunk was used up. */
  private resume(chunk: Buffer, from = 0): number {
    let pos = from;
    if (this.partial === null) {
      const need = HEADER_SIZE - this.headerFilled;
      const take = Math.min(need, chunk.length);
      chunk.copy(this.headerBytes, this.headerFilled, 0, take);
      this.headerFilled += take;
      if (this.headerFilled < HEADER_SIZE) return -1;
      pos = take;
      const size = this.headerBytes.readUInt32BE(3);
      this.checkSize(size, this.headerBytes[0] as number);
      this.headerFilled = 0;
      if (this.headerBytes[0] === FRAME_BODY && size >= VIEW_MIN_PAYLOAD) {
        return this.startViews(this.headerBytes.readUInt16BE(1), size, chunk, pos);
      }
      this.partial = Buffer.allocUnsafe(HEADER_SIZE + size + 1);
      this.headerBytes.copy(this.partial, 0);
      this.partialFilled = HEADER_SIZE;
    }
    const frame = this.partial;
    const take = Math.min(frame.length - this.partialFilled, chunk.length - pos);
    chunk.copy(frame, this.partialFilled, pos, pos + take);
    this.partialFilled += take;
    pos += take;
    if (this.partialFilled < frame.length) return -1;
    this.partial = null;
    this.partialFilled = 0;
    this.emit(frame, 0, frame.length - HEADER_SIZE - 1);
    return pos;
  }

  private startPartial(chunk: Buffer, pos: number, total: number): void {
    const frame = Buffer.allocUnsafe(total);
    chunk.copy(frame, 0, pos);
    this.partial = frame;
    this.partialFilled = chunk.length - pos;
  }

  /** Begin a large body frame whose payload starts at `start` in `chunk`; returns as takeViews does. */
  private startViews(channel: number, size: number, chunk: Buffer, start: number): number {
    this.views = [];
    this.viewsDue = size;
    this.viewsChannel = channel;
    return this.takeViews(chunk, start);
  }

  /**
   * Take payload (and then the frame-end octet) from `chunk` at `pos`. Returns where the next frame
   * starts once the frame is complete and emitted, or -1 if the chunk was used up.
   */
  private takeViews(chunk: Buffer, pos: number): number {
    const views = this.views as Buffer[];
    if (this.viewsDue > 0) {
      const take = Math.min(this.viewsDue, chunk.length - pos);
      if (take > 0) {
        if (views.length === MAX_VIEWS) return this.viewsToPartial(views, chunk, pos);
        views.push(chunk.subarray(pos, pos + take));
        this.viewsDue -= take;
        pos += take;
      }
      if (this.viewsDue > 0) return -1;
    }
    if (pos >= chunk.length) return -1;
    const end = chunk[pos] as number;
    this.views = null;
    if (end !== FRAME_END) {
      // The reply shows at most 40 octets: copy 41 (one more says "...") from across the pieces.
      const shown = Buffer.alloc(Math.min(41, this.viewsLength(views)));
      let filled = 0;
      for (let i = 0; i < views.length && filled < shown.length; i++) filled += (views[i] as Buffer).copy(shown, filled);
      throw new ConnectionError(501, `type ${FRAME_BODY}, all octets = ${octets(shown, 0, shown.length)}: {invalid_frame_end_marker,${end}}`, 0, 0);
    }
    this.handler.onBodyParts(this.viewsChannel, views);
    return pos + 1;
  }

  private viewsLength(views: readonly Buffer[]): number {
    let n = 0;
    for (const v of views) n += v.length;
    return n;
  }

  /** Input trickles in many small pieces: copy what came so far into one frame buffer and go on copying. */
  private viewsToPartial(views: Buffer[], chunk: Buffer, pos: number): number {
    let filled = 0;
    for (const v of views) filled += v.length;
    const frame = Buffer.allocUnsafe(HEADER_SIZE + filled + this.viewsDue + 1);
    frame[0] = FRAME_BODY;
    frame.writeUInt16BE(this.viewsChannel, 1);
    frame.writeUInt32BE(filled + this.viewsDue, 3);
    let p = HEADER_SIZE;
    for (const v of views) p += v.copy(frame, p);
    this.views = null;
    this.partial = frame;
    this.partialFilled = p;
    return this.resume(chunk, pos);
  }

  private checkSize(size: number, type: number): void {
    // frame_max counts the whole frame, but RabbitMQ lets the payload itself reach frame_max (it
    // allows 8 octets of slack for clients that size body frames by frame_max), and so does warren.
    if (this.frameMax > 0 && size > this.frameMax) {
      // RabbitMQ's wording: payload size against the largest payload frame_max allows.
      throw new ConnectionError(501, `type ${type}, all octets = <<>>: {frame_too_large,${size},${this.frameMax - HEADER_SIZE - 1}}`, 0, 0);
    }
  }

  private emit(buf: Buffer, pos: number, size: number): void {
    const type = buf[pos] as number;
    const channel = ((buf[pos + 1] as number) << 8) | (buf[pos + 2] as number);
    const start = pos + HEADER_SIZE;
    const end = start + size;
    if (buf[end] !== FRAME_END) {
      throw new ConnectionError(501, `type ${type}, all octets = ${octets(buf, start, end)}: {invalid_frame_end_marker,${buf[end] ?? 0}}`, 0, 0);
    }
    switch (type) {
      case FRAME_METHOD:
        this.handler.onMethodFrame(channel, buf.subarray(start, end));
        return;
      case FRAME_HEADER:
        // Shorter than class, weight and body size: RabbitMQ cannot parse it as a header at all.
        if (size < CONTENT_HEADER_FIXED) throw new ConnectionError(501, `type ${type}, all octets = ${octets(buf, start, end)}: unknown_frame`, 0, 0);
        this.handler.onHeaderFrame(channel, buf, start, end);
        return;
      case FRAME_BODY:
        this.handler.onBodyFrame(channel, buf.subarray(start, end));
        return;
      case FRAME_HEARTBEAT:
        // RabbitMQ only knows the empty heartbeat: anything else is an unknown frame.
        if (size !== 0) throw new ConnectionError(501, `type ${type}, all octets = ${octets(buf, start, end)}: unknown_frame`, 0, 0);
        this.handler.onHeartbeatFrame(channel);
        return;
      default:
        throw new ConnectionError(501, `type ${type}, all octets = ${octets(buf, start, end)}: unknown_frame`, 0, 0);
    }
  }
}
