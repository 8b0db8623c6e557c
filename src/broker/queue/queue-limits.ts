// Length limits: x-max-length and x-max-length-bytes, refused (reject-publish) or enforced by
// dropping the oldest (drop-head), a bounded slice per turn after a requeue.

import { QueueRequeue } from './queue-requeue.js';
import { DROP_SLICE } from './queue-state.js';

export abstract class QueueLimits extends QueueRequeue {
  /** Whether a publish would be refused by x-overflow reject-publish(-dlx). */
  protected full(incomingBytes: number): boolean {
    const p = this.policy;
    // Pending requeued bodies are not in readyBytes yet: a byte limit needs them placed.
    if (p.maxLengthBytes !== undefined) this.placeAll();
    if (p.maxLength !== undefined && this.depth >= p.maxLength) return true;
    if (p.maxLengthBytes !== undefined && this.readyBytes + incomingBytes > p.maxLengthBytes) return true;
    return false;
  }

  /**
   * drop-head overflow: dead-letter the oldest until within x-max-length / x-max-length-bytes.
   * After a requeue at most `budget` go per turn (the rest are scheduled); false if some are left.
   */
  protected override enforceLimits(budget = Infinity): boolean {
    const p = this.policy;
    if (p.overflow !== 'drop-head' || (p.maxLength === undefined && p.maxLengthBytes === undefined)) return true;
    if (p.maxLengthBytes !== undefined) this.placeAll(); // see full()
    while (
      (p.maxLength !== undefined && this.depth > p.maxLength) ||
      (p.maxLengthBytes !== undefined && this.readyBytes > p.maxLengthBytes && this.depth > 0)
    ) {
      if (budget-- <= 0) return false;
      const head = this.take(false);
      if (head === undefined) return true;
      this.remove(head, 'maxlen');
    }
    return true;
  }

  /** Finish drop-head overflow left over from a requeue, before anything reads the queue. */
  protected override finishLimits(): void {
    if (!this.limitsPending) return;
    this.limitsPending = false;
    this.enforceLimits();
  }

  protected override scheduleLimits(): void {
    this.limitsPending = true;
    if (this.limitsScheduled) return;
    this.limitsScheduled = true;
    setImmediate(() => {
      this.limitsScheduled = false;
      if (!this.limitsPending || this.deleted) return;
      if (this.enforceLimits(DROP_SLICE)) this.limitsPending = false;
      else this.scheduleLimits();
    });
  }
}
