// One client refused by an HA standby, over any transport (TCP, TLS, WebSocket): the AMQP
// handshake up to start-ok, then connection.close 320 CONNECTION_FORCED saying why.

import { FrameReader, type FrameHandler } from '../protocol/frame-reader.js';
import { encodeMethodFrame, PROTOCOL_HEADER } from '../protocol/frame-writer.js';
import * as M from '../protocol/generated/amqp.js';
import type { Clock, Timer } from '../util/clock.js';
import { LEGACY_0_9_HEADER } from './connection-handshake.js';
import type { Transport } from './transport.js';

/** The largest frame read: the broker's limit before tune (a start-ok with big client properties). */
const FRAME_MAX = 131_072;

/** How a refused connection ended (counted in the summary log lines). */
export type RefusalOutcome = 'refused' | 'bad-header' | 'bad-frame' | 'timeout' | 'client-closed' | 'gone' | 'over-limit';

const enum Phase {
  Header,
  AwaitStartOk,
  /** We sent connection.close and wait for close-ok. */
  Closing,
  /** Our side is shut; the socket is destroyed if the peer keeps its side open. */
  Done,
}

/** What every refusal shares: its listener's clock, frames and waits. */
export interface RefusalContext {
  readonly clock: Clock;
  readonly startFrame: Buffer;
  closeFrame(): Buffer;
  /** Time to send the header and start-ok. */
  readonly handshakeTimeoutMs: number;
  /** After our close (or our answer to a bad header), how long the peer has to close its side. */
  readonly closeWaitMs: number;
}

/** One refused client: the handshake up to start-ok, then connection.close. */
export class Refusal implements FrameHandler {
  readonly socket: Transport;
  readonly peer: string;
  outcome: RefusalOutcome | null = null;
  /** Resolves once the socket is gone. */
  readonly done: Promise<void>;
  private markDone: () => void = () => undefined;
  private readonly ctx: RefusalContext;
  private phase = Phase.Header;
  private readonly header = Buffer.alloc(8);
  private headerFilled = 0;
  private readonly reader: FrameReader;
  private timer: Timer;

  constructor(socket: Transport, ctx: RefusalContext) {
    this.socket = socket;
    this.ctx = ctx;
    this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.reader = new FrameReader(this, FRAME_MAX);
    this.done = new Promise((resolve) => {
      this.markDone = resolve;
    });
    this.timer = ctx.clock.after(ctx.handshakeTimeoutMs, () => this.drop('timeout'));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // A reset or a write after the peer left: 'close' follows and does the accounting.
    socket.on('error', () => undefined);
    // A TCP socket ends its own side when the peer ends; a WebSocket stream stays half open.
    socket.on('end', () => {
      if (this.phase !== Phase.Done) this.finish();
    });
  }

  private onData(chunk: Buffer): void {
    if (this.phase === Phase.Done) return;
    if (this.phase === Phase.Header) {
      const take = this.header.length - this.headerFilled;
      this.headerFilled += chunk.copy(this.header, this.headerFilled, 0, take);
      if (this.headerFilled < this.header.length) return;
      if (!this.header.equals(PROTOCOL_HEADER) && !this.header.equals(LEGACY_0_9_HEADER)) {
        // AMQP 0-9-1 §4.2.2: answer an unsupported header with ours and close.
        this.outcome = 'bad-header';
        this.finish(PROTOCOL_HEADER);
        return;
      }
      this.phase = Phase.AwaitStartOk;
      this.socket.write(this.ctx.startFrame);
      chunk = chunk.subarray(take);
      if (chunk.length === 0) return;
    }
    try {
      this.reader.push(chunk);
    } catch {
      // Undecodable input: nothing the client says changes the answer, so no reply is owed.
      this.drop('bad-frame');
    }
  }

  onMethodFrame(channel: number, payload: Buffer): void {
    const m = channel === 0 ? M.decodeMethod(payload) : undefined;
    switch (m?.id) {
      case M.CONNECTION_START_OK:
        if (this.phase !== Phase.AwaitStartOk) break;
        this.outcome = 'refused';
        return this.refuse();
      case M.CONNECTION_CLOSE:
        this.outcome ??= 'client-closed';
        return this.finish(encodeMethodFrame(0, { id: M.CONNECTION_CLOSE_OK }));
      case M.CONNECTION_CLOSE_OK:
        if (this.phase === Phase.Closing) return this.finish();
        break;
      default:
        break;
    }
    this.unexpected();
  }

  onHeaderFrame(): void {
    this.unexpected();
  }

  onBodyFrame(): void {
    this.unexpected();
  }

  onBodyParts(): void {
    this.unexpected();
  }

  onHeartbeatFrame(): void {
    // Harmless before tune; ignored as the broker does.
  }

  /** Spec §4.2.2 (closing): after our connection.close, everything but close and close-ok is discarded. */
  private unexpected(): void {
    if (this.phase !== Phase.Closing) this.drop('bad-frame');
  }

  /** Send connection.close and wait (bounded) for close-ok. */
  private refuse(): void {
    this.phase = Phase.Closing;
    this.socket.write(this.ctx.closeFrame());
    this.rearm();
  }

  /** The listener closes: a client past the header is told why, the rest are dropped. */
  shutdown(): void {
    if (this.phase === Phase.AwaitStartOk) {
      this.outcome = 'refused';
      this.refuse();
    } else if (this.phase === Phase.Header) {
      this.drop('gone');
    }
  }

  /** Shut our side (after `last`); the peer has a moment to close its own. */
  private finish(last?: Buffer): void {
    this.phase = Phase.Done;
    this.reader.stopped = true;
    if (last === undefined) this.socket.end();
    else this.socket.end(last);
    this.rearm();
  }

  private drop(outcome: RefusalOutcome): void {
    this.outcome ??= outcome;
    this.phase = Phase.Done;
    this.reader.stopped = true;
    this.socket.destroy();
  }

  private rearm(): void {
    this.timer.cancel();
    this.timer = this.ctx.clock.after(this.ctx.closeWaitMs, () => this.drop('gone'));
  }

  /** The socket is gone: nothing may fire for it any more. */
  closed(): void {
    this.timer.cancel();
    this.phase = Phase.Done;
    this.markDone();
  }
}
