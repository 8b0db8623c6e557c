// Expiry: per-message TTL from the head (with one timer for the head's deadline) and x-expires,
// the idle countdown that deletes an unused queue.

import { QueueLimits } from './queue-limits.js';

export abstract class QueueExpiry extends QueueLimits {
  /** Dead-letter expired messages at the head (RabbitMQ expires from the head only; deliveries check every message). */
  override dropExpired(): void {
    const now = this.host.now();
    for (;;) {
      this.catchUp();
      this.refill();
      const head = this.ready.peek();
      if (head === undefined || head.expiresAt > now) return;
      this.ready.shift();
      this.readyBytes -= head.message.bodySize;
      this.remove(head, 'expired');
    }
  }

  /** Keep one timer for the head's deadline so expired messages leave without any traffic. */
  protected override armExpiry(): void {
    const head = this.ready.peek();
    const at = head === undefined ? Infinity : head.expiresAt;
    if (at === this.expiryAt) return;
    this.expiryTimer?.cancel();
    this.expiryTimer = null;
    this.expiryAt = at;
    if (at === Infinity || this.deleted) return;
    // The clock chunks delays beyond Node's 2^31-1 ms timer limit; messages may live up to 10 years.
    const delay = Math.max(0, at - this.host.now()) + 1;
    this.expiryTimer = this.host.clock.after(delay, () => {
      this.expiryTimer = null;
      this.expiryAt = Infinity;
      this.dropExpired();
      this.armExpiry();
    });
  }

  /** x-expires: restart the idle countdown (declare, get, consume, cancel). */
  override touch(): void {
    const expires = this.policy.expires;
    if (this.deleted) return;
    this.idleTimer?.cancel();
    this.idleTimer = null;
    // No expiry (any more: a policy that set one may have gone).
    if (expires === undefined) return;
    this.idleTimer = this.host.clock.after(expires, () => {
      this.idleTimer = null;
      if (this.consumers.length === 0) this.host.onQueueUnused(this);
      else this.touch();
    });
  }
}
