// Messages held by x-delayed-message exchanges until their x-delay passes: a min-heap
// on due time with one timer for the earliest.

import type { Clock, Timer } from '../util/clock.js';
import type { Exchange } from './exchange/exchange.js';
import type { Message } from './message.js';

export interface DelayedMessage {
  dueAt: number;
  exchange: Exchange;
  routingKeys: readonly string[];
  message: Message;
  /** Store position when persisted, else -1. */
  storeSeq: number;
}

export class DelayedMessages {
  private readonly heap: DelayedMessage[] = [];
  private timer: Timer | null = null;
  private timerAt = Infinity;
  private readonly clock: Clock;
  private readonly release: (d: DelayedMessage) => void;

  constructor(clock: Clock, release: (d: DelayedMessage) => void) {
    this.clock = clock;
    this.release = release;
  }

  get size(): number {
    return this.heap.length;
  }

  add(d: DelayedMessage): void {
    const h = this.heap;
    h.push(d);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((h[parent] as DelayedMessage).dueAt <= d.dueAt) break;
      h[i] = h[parent] as DelayedMessage;
      i = parent;
    }
    h[i] = d;
    this.arm();
  }

  private pop(): DelayedMessage | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && (h[r] as DelayedMessage).dueAt < (h[l] as DelayedMessage).dueAt ? r : l;
      if ((h[c] as DelayedMessage).dueAt >= last.dueAt) break;
      h[i] = h[c] as DelayedMessage;
      i = c;
    }
    h[i] = last;
    return top;
  }

  /** Release everything due by now (also called by tests after moving a manual clock). */
  releaseDue(): void {
    const now = this.clock.now();
    while (this.heap.length > 0 && (this.heap[0] as DelayedMessage).dueAt <= now) {
      this.release(this.pop() as DelayedMessage);
    }
    this.arm();
  }

  /** Drop the held messages of a deleted exchange. */
  removeExchange(e: Exchange): DelayedMessage[] {
    const kept: DelayedMessage[] = [];
    const removed: DelayedMessage[] = [];
    for (const d of this.heap) (d.exchange === e ? removed : kept).push(d);
    this.heap.length = 0;
    for (const d of kept) this.add(d);
    return removed;
  }

  private arm(): void {
    const next = this.heap[0]?.dueAt ?? Infinity;
    if (next === this.timerAt) return;
    this.timer?.cancel();
    this.timer = null;
    this.timerAt = next;
    if (next === Infinity) return;
    this.timer = this.clock.after(Math.max(0, next - this.clock.now()) + 1, () => {
      this.timer = null;
      this.timerAt = Infinity;
      this.releaseDue();
    });
  }

  dispose(): void {
    this.timer?.cancel();
    this.timer = null;
  }
}
