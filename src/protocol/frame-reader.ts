// Resumable frame parser over socket chunks. A frame is handed on as a view into
// the chunk it arrived in; bytes are copied only when a frame spans chunks.

import { ConnectionError } from './errors.js';
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from './generated/amqp.js';

export interface FrameHandler {
  onMethodFrame(channel: number, payload: Buffer): void;
  onHeaderFrame(channel: number, payload: Buffer): void;
  onBodyFrame(channel: number, payload: Buffer): void;
  onHeartbeatFrame(channel: number): void;
}

/** 7-byte frame header: type (1), channel (2), payload size (4); then 1 frame-end octet. */
const HEADER_SIZE = 7;

/** Bytes as an Erlang binary literal, the way RabbitMQ prints them in frame errors (capped: reply texts are short strings). */
export function octets(buf: Buffer, start: number, end: number): string {
  const shown = Math.min(end, start + 40);
  const parts: number[] = [];
  for (let i = start; i < shown; i++) parts.push(buf[i] as number);
  return `<<${parts.join(',')}${shown < end ? ',...' : ''}>>`;
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
  /** Set by the handler to stop parsing the rest of a chunk (connection closing). */
  stopped = false;

  constructor(handler: FrameHandler, frameMax: number) {
    this.handler = handler;
    this.frameMax = frameMax;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    if (this.headerFilled > 0 || this.partial !== null) {
      pos = this.resume(chunk);
      if (pos < 0) return;
    }
    while (pos < len && !this.stopped) {
      if (len - pos < HEADER_SIZE) {
        chunk.copy(this.headerBytes, 0, pos, len);
        this.headerFilled = len - pos;
        return;
      }
      const size = chunk.readUInt32BE(pos + 3);
      this.checkSize(size, chunk[pos] as number);
      const total = HEADER_SIZE + size + 1;
      if (len - pos < total) {
        this.startPartial(chunk, pos, total);
        return;
      }
      this.emit(chunk, pos, size);
      pos += total;
    }
  }

  /** Continue a frame begun in an earlier chunk; returns where the next frame starts, or -1 if the chunk was used up. */
  private resume(chunk: Buffer): number {
    let pos = 0;
    if (this.partial === null) {
      const need = HEADER_SIZE - this.headerFilled;
      const take = Math.min(need, chunk.length);
      chunk.copy(this.headerBytes, this.headerFilled, 0, take);
      this.headerFilled += take;
      if (this.headerFilled < HEADER_SIZE) return -1;
      pos = take;
      const size = this.headerBytes.readUInt32BE(3);
      this.checkSize(size, this.headerBytes[0] as number);
      this.partial = Buffer.allocUnsafe(HEADER_SIZE + size + 1);
      this.headerBytes.copy(this.partial, 0);
      this.partialFilled = HEADER_SIZE;
      this.headerFilled = 0;
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

  private checkSize(size: number, type: number): void {
    if (this.frameMax > 0 && size + HEADER_SIZE + 1 > this.frameMax) {
      // RabbitMQ's wording: payload size against the largest payload frame_max allows.
      throw new ConnectionError(501, `type ${type}, all octets = <<>>: {frame_too_large,${size},${this.frameMax - HEADER_SIZE - 1}}`, 0, 0);
    }
  }

  private emit(buf: Buffer, pos: number, size: number): void {
    const type = buf[pos] as number;
    const channel = buf.readUInt16BE(pos + 1);
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
        this.handler.onHeaderFrame(channel, buf.subarray(start, end));
        return;
      case FRAME_BODY:
        this.handler.onBodyFrame(channel, buf.subarray(start, end));
        return;
      case FRAME_HEARTBEAT:
        this.handler.onHeartbeatFrame(channel);
        return;
      default:
        throw new ConnectionError(501, `type ${type}, all octets = ${octets(buf, start, end)}: unknown_frame`, 0, 0);
    }
  }
}
