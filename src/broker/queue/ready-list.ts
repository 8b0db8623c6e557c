// Ready messages of a queue, in delivery order: one FIFO, or one FIFO per priority level.

import { Deque } from '../../util/deque.js';
import type { QueueEntry } from './queue-entry.js';

export class ReadyList {
  /** levels[p] holds priority p; a queue without x-max-priority has one level. */
  private readonly levels: Deque<QueueEntry>[];
  private count = 0;

  constructor(maxPriority: number | undefined) {
    const n = maxPriority === undefined ? 1 : maxPriority + 1;
    this.levels = [];
    for (let i = 0; i < n; i++) this.levels.push(new Deque<QueueEntry>());
  }

  get length(): number {
    return this.count;
  }

  private levelOf(e: QueueEntry): Deque<QueueEntry> {
    if (this.levels.length === 1) return this.levels[0] as Deque<QueueEntry>;
    const p = e.message.hasPriority ? (e.message.properties.priority ?? 0) : 0;
    return this.levels[Math.min(p, this.levels.length - 1)] as Deque<QueueEntry>;
  }

  push(e: QueueEntry): void {
    this.levelOf(e).push(e);
    this.count++;
  }

  /** Back at its original place (by arrival seq) within its priority level. */
  insertBySeq(e: QueueEntry): void {
    const d = this.levelOf(e);
    const head = d.peek();
    if (head === undefined || e.seq < head.seq) d.unshift(e);
    else {
      let i = 0;
      while (i < d.length && (d.at(i) as QueueEntry).seq < e.seq) i++;
      d.insertAt(i, e);
    }
    this.count++;
  }

  peek(): QueueEntry | undefined {
    for (let p = this.levels.length - 1; p >= 0; p--) {
      const e = (this.levels[p] as Deque<QueueEntry>).peek();
      if (e !== undefined) return e;
    }
    return undefined;
  }

  shift(): QueueEntry | undefined {
    for (let p = this.levels.length - 1; p >= 0; p--) {
      const d = this.levels[p] as Deque<QueueEntry>;
      if (d.length > 0) {
        this.count--;
        return d.shift();
      }
    }
    return undefined;
  }

  /** Remove everything, highest priority first. */
  clear(): QueueEntry[] {
    const out: QueueEntry[] = [];
    // A loop, not push(...spread): a deep queue would overflow the call stack.
    for (let p = this.levels.length - 1; p >= 0; p--) for (const e of (this.levels[p] as Deque<QueueEntry>).clear()) out.push(e);
    this.count = 0;
    return out;
  }

  *[Symbol.iterator](): IterableIterator<QueueEntry> {
    for (let p = this.levels.length - 1; p >= 0; p--) yield* this.levels[p] as Deque<QueueEntry>;
  }
}
