// The fsynced watermark of one message store, for publisher confirms: every append gets a mark
// (1, 2, 3, ...), and `durable` is the highest mark a completed group commit covers. A confirm
// waiting for an append compares its mark with the watermark, so the hot path keeps two numbers
// per publish and creates no promise or callback; one callback is created per group commit.

import type { DurableCallback } from '../../store/message-store.js';

/** Told when a group commit finishes or the store fails; implemented by a channel's confirm tracker. */
export interface DurabilityWaiter {
  /** Re-read the watermark (and `failure`); return true to stay registered for the next commit. */
  onDurable(): boolean;
}

export class MessageDurability {
  /** Mark of the latest append (appends so far). */
  written = 0;
  /** Every append with a mark up to this one is on disk (per the store's sync mode). */
  durable = 0;
  /** The I/O error that stopped the store: nothing written after `durable` will reach the disk. */
  failure: Error | null = null;
  /** Highest mark a requested group commit covers. */
  private requested = 0;
  private readonly waiters = new Set<DurabilityWaiter>();
  private readonly sync: (cb: DurableCallback) => void;

  /** `sync(cb)`: cb runs once everything appended before the call is durable, or with the store's error. */
  constructor(sync: (cb: DurableCallback) => void) {
    this.sync = sync;
  }

  /** Count one append; returns its mark. */
  appended(): number {
    return ++this.written;
  }

  /**
   * Tell `w` when a group commit covering `mark` finishes. Asks the store for one only if no
   * pending request covers `mark` already, so many waiters share one fsync.
   */
  wait(w: DurabilityWaiter, mark: number): void {
    this.waiters.add(w);
    if (mark <= this.requested && this.failure === null) return;
    const target = this.written;
    this.requested = target;
    this.sync((err) => this.synced(target, err));
  }

  /** Stop telling `w` (its channel closed). */
  forget(w: DurabilityWaiter): void {
    this.waiters.delete(w);
  }

  private synced(target: number, err: Error | null): void {
    if (err !== null) this.failure ??= err;
    else if (target > this.durable) this.durable = target;
    for (const w of this.waiters) if (!w.onDurable()) this.waiters.delete(w);
  }
}
