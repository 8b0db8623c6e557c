// Outgoing bytes of one connection: frames are encoded into a shared slab and written
// to the socket once per tick (cork/uncork), with drain-based backpressure.

import type { Transport } from './transport.js';
import { FRAME_BODY, FRAME_END, FRAME_HEADER, methodPayloadSize, type Method } from '../protocol/generated/amqp.js';
import { MAX_DELIVER_FRAME, writeDeliverFrame, writeFrameHeader, writeMethodFrame } from '../protocol/frame-writer.js';

/** Slab size: big enough that a tick's small frames rarely need a second one. */
const SLAB_SIZE = 64 * 1024;
/** Bodies at least this big are written as their own buffers rather than copied into the slab. */
const COPY_LIMIT = 4096;
/** Above this many buffered bytes the connection reports itself as not writable. */
const HIGH_WATER = 1024 * 1024;

export class Outbound {
  private readonly socket: Transport;
  private slab: Buffer = Buffer.allocUnsafe(SLAB_SIZE);
  /** Start of the bytes in the slab not yet handed to the socket. */
  private start = 0;
  private used = 0;
  private readonly pending: Buffer[] = [];
  private flushScheduled = false;
  private readonly flushCb: () => void;
  /** Maximum frame size the peer accepts (negotiated frame_max). */
  frameMax: number;
  /** Called when the socket drained after being full. */
  onDrain: (() => void) | null = null;
  private blocked = false;
  closed = false;
  /** Bytes handed to the socket (send_oct). */
  sentBytes = 0;

  constructor(socket: Transport, frameMax: number) {
    this.socket = socket;
    this.frameMax = frameMax;
    this.flushCb = () => this.flush();
    socket.on('drain', () => {
      this.blocked = false;
      if (this.onDrain !== null) this.onDrain();
    });
  }

  /** False while the socket holds more than it should: deliveries pause until drain. */
  get writable(): boolean {
    return !this.blocked && this.socket.writableLength < HIGH_WATER;
  }

  private ensure(n: number): void {
    if (this.used + n <= this.slab.length) return;
    this.sealSlab();
    this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, n));
    this.start = 0;
    this.used = 0;
  }

  /** Move the slab's unsent bytes to the pending list (as a view). */
  private sealSlab(): void {
    if (this.used > this.start) {
      this.pending.push(this.slab.subarray(this.start, this.used));
      this.start = this.used;
    }
  }

  private schedule(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushCb);
    }
  }

  sendMethod(channel: number, m: Method): void {
    if (this.closed) return;
    const size = methodPayloadSize(m);
    this.ensure(size + 8);
    this.used = writeMethodFrame(this.slab, this.used, channel, m, size);
    this.schedule();
  }

  /** A raw frame already encoded (heartbeats, protocol header). */
  sendRaw(buf: Buffer): void {
    if (this.closed) return;
    this.ensure(buf.length);
    this.used += buf.copy(this.slab, this.used);
    this.schedule();
  }

  /** basic.deliver and its content. */
  sendDelivery(channel: number, consumerTag: string, deliveryTag: number, redelivered: boolean, exchange: string, routingKey: string, header: Buffer, body: readonly Buffer[], bodySize: number): void {
    if (this.closed) return;
    this.ensure(MAX_DELIVER_FRAME);
    this.used = writeDeliverFrame(this.slab, this.used, channel, consumerTag, deliveryTag, redelivered, exchange, routingKey);
    this.sendContent(channel, header, body, bodySize);
  }

  /** Content header (raw payload as received) and body frames cut at frame_max. */
  sendContent(channel: number, header: Buffer, body: readonly Buffer[], bodySize: number): void {
    if (this.closed) return;
    this.ensure(header.length + 8);
    let p = writeFrameHeader(this.slab, this.used, FRAME_HEADER, channel, header.length);
    p += header.copy(this.slab, p);
    this.slab[p] = FRAME_END;
    this.used = p + 1;
    if (bodySize === 0) return this.schedule();
    const maxPayload = this.frameMax > 0 ? this.frameMax - 8 : bodySize;
    let remaining = bodySize;
    let partIndex = 0;
    let partOffset = 0;
    while (remaining > 0) {
      const frameSize = Math.min(remaining, maxPayload);
      this.ensure(8);
      this.used = writeFrameHeader(this.slab, this.used, FRAME_BODY, channel, frameSize);
      let left = frameSize;
      while (left > 0) {
        const part = body[partIndex] as Buffer;
        const take = Math.min(left, part.length - partOffset);
        if (take < COPY_LIMIT) {
          this.ensure(take + 1);
          this.used += part.copy(this.slab, this.used, partOffset, partOffset + take);
        } else {
          this.sealSlab();
          this.pending.push(partOffset === 0 && take === part.length ? part : part.subarray(partOffset, partOffset + take));
        }
        left -= take;
        partOffset += take;
        if (partOffset === part.length) {
          partIndex++;
          partOffset = 0;
        }
      }
      this.ensure(1);
      this.slab[this.used++] = FRAME_END;
      remaining -= frameSize;
    }
    this.schedule();
  }

  /** Write everything buffered now. */
  flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    this.sealSlab();
    const n = this.pending.length;
    if (n === 0) return;
    if (this.used > SLAB_SIZE / 2) {
      // Start a fresh slab rather than keep a mostly used one alive under pending writes.
      this.slab = Buffer.allocUnsafe(SLAB_SIZE);
      this.start = 0;
      this.used = 0;
    }
    let ok = true;
    if (n === 1) {
      const b = this.pending[0] as Buffer;
      this.sentBytes += b.length;
      ok = this.socket.write(b);
    } else {
      this.socket.cork();
      for (let i = 0; i < n; i++) {
        const b = this.pending[i] as Buffer;
        this.sentBytes += b.length;
        ok = this.socket.write(b);
      }
      this.socket.uncork();
    }
    this.pending.length = 0;
    if (!ok) this.blocked = true;
  }

  /** Flush and end the socket once everything is written. */
  end(): void {
    this.flush();
    this.closed = true;
    this.socket.end();
  }
}
