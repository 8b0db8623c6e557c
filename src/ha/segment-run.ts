// Bytes written at one place of one segment file, waiting to be appended as a SEGMENT frame. While
// it waits (the sequencer's window is full) it takes in the bytes written right after it, so a
// busy leader sends fewer, larger appends instead of a queue of small ones.

import { encodePositionedParts, FrameType } from './frames.js';
import type { Mergeable } from './sequencer.js';

/**
 * Largest frame built by merging. Bigger appends gain little throughput on the engine, and every
 * confirm in one waits for the whole of it.
 */
export const MERGE_LIMIT_BYTES = 1024 * 1024;

export class SegmentRun implements Mergeable {
  readonly subject: string;
  readonly file: string;
  readonly position: number;
  private readonly parts: Buffer[];
  private bytes: number;
  /** At most this many bytes in the frame (the engine's room, or the merge limit). */
  private readonly limit: number;

  /** `parts` are kept, not copied, until encode(): the log never reuses a written batch's buffers. */
  constructor(subject: string, file: string, position: number, parts: readonly Buffer[], bytes: number, room: number) {
    this.subject = subject;
    this.file = file;
    this.position = position;
    this.parts = [...parts];
    this.bytes = bytes;
    this.limit = Math.min(room, MERGE_LIMIT_BYTES);
  }

  get length(): number {
    return this.bytes;
  }

  absorb(next: Mergeable): boolean {
    if (!(next instanceof SegmentRun) || next.file !== this.file || next.position !== this.position + this.bytes) return false;
    if (this.bytes + next.bytes > this.limit) return false;
    for (const p of next.parts) this.parts.push(p);
    this.bytes += next.bytes;
    return true;
  }

  /** Called once (the sequencer keeps the frame for retries): the parts are let go after it. */
  encode(): Uint8Array {
    const frame = encodePositionedParts(FrameType.Segment, this.file, this.position, this.parts, this.bytes);
    this.parts.length = 0;
    return frame;
  }
}
