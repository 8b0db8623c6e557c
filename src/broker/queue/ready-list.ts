// Ready messages of a queue, in delivery order: one FIFO, or one FIFO per priority level.
//
// Within a level, delivery order is arrival order (QueueEntry.seq), and a requeued entry goes
// back to its original place. New entries always carry the highest seq, so they are appended to
// the level's FIFO. Returned entries are kept apart, in sorted runs (a run is a sorted array read
// from a cursor), and the level yields whichever head has the lowest seq. So requeueing k
// entries costs O(k) (a sort only if they were not already in order) instead of a scan and a
// shifting insert per entry, which made a 100k requeue take seconds. When a level holds more
// than one run, mergeStep() merges them a bounded slice at a time (the queue calls it from
// setImmediate), so no requeue does unbounded work in one turn of the event loop. The order seen
// by readers is the same before, during and after a merge.

import { Deque } from '../../util/deque.js';
import type { QueueEntry } from './queue.js';

/** When runs are made and merged (tests use small values to exercise merging). */
export interface RunTuning {
  /** A batch this small is inserted into an existing run by binary search (a memmove) instead of becoming a run. */
  smallBatch: number;
  /** Runs a level keeps without merging: reads compare this many heads at most (plus the merge's). */
  maxRuns: number;
}

const DEFAULT_TUNING: RunTuning = { smallBatch: 64, maxRuns: 4 };

/** Sorted by seq; items before `head` are gone. */
class Run {
  items: QueueEntry[];
  head: number;

  constructor(items: QueueEntry[]) {
    this.items = items;
    this.head = 0;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  peek(): QueueEntry | undefined {
    return this.items[this.head];
  }

  shift(): QueueEntry | undefined {
    const e = this.items[this.head];
    if (e === undefined) return undefined;
    this.items[this.head++] = undefined as unknown as QueueEntry; // let it be collected
    // Drop the consumed prefix now and then so a long-lived run does not pin memory.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return e;
  }

  /** Put one entry at its place (binary search, then one splice). */
  insert(e: QueueEntry): void {
    let lo = this.head;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.items[mid] as QueueEntry).seq < e.seq) lo = mid + 1;
      else hi = mid;
    }
    this.items.splice(lo, 0, e);
  }
}

/** Two runs being merged into `out`; `out` holds only entries no later than both inputs' heads. */
interface Merge {
  a: Run;
  b: Run;
  out: Run;
}

class Level {
  readonly tuning: RunTuning;
  readonly fifo = new Deque<QueueEntry>();
  /** Returned entries, in sorted runs (including a merge's inputs and output). */
  runs: Run[] = [];
  merge: Merge | null = null;
  /** The run the last large batch made (addSorted may extend it). */
  lastRun: Run | null = null;
  count = 0;

  constructor(tuning: RunTuning) {
    this.tuning = tuning;
  }

  /** The run holding the lowest head, or null when the FIFO's head is lowest. */
  private minRun(): Run | null {
    let best: Run | null = null;
    let bestSeq = this.fifo.peek()?.seq ?? Infinity;
    for (const r of this.runs) {
      const h = r.peek();
      if (h !== undefined && h.seq < bestSeq) {
        best = r;
        bestSeq = h.seq;
      }
    }
    return best;
  }

  peek(): QueueEntry | undefined {
    if (this.runs.length === 0) return this.fifo.peek();
    const r = this.minRun();
    return r === null ? this.fifo.peek() : r.peek();
  }

  shift(): QueueEntry | undefined {
    if (this.runs.length === 0) {
      const e = this.fifo.shift();
      if (e !== undefined) this.count--;
      return e;
    }
    const r = this.minRun();
    if (r === null) {
      const e = this.fifo.shift();
      if (e !== undefined) this.count--;
      return e;
    }
    const e = r.shift();
    this.count--;
    if (r.length === 0 && !this.inMerge(r)) this.runs.splice(this.runs.indexOf(r), 1);
    return e;
  }

  private inMerge(r: Run): boolean {
    const m = this.merge;
    return m !== null && (m.a === r || m.b === r || m.out === r);
  }

  /** Add returned entries, sorted by seq. */
  addSorted(batch: QueueEntry[]): void {
    if (batch.length === 0) return;
    this.count += batch.length;
    // The next slice of a requeue placed a slice at a time (Queue.placeSlice) extends the run the
    // previous slice made, while that run is idle and the slice sorts after it: one run per
    // requeue, not one per slice for the merge scheduler to merge again.
    const last = this.lastRun;
    if (last !== null && last.length > 0 && !this.inMerge(last) && this.runs.includes(last)) {
      const tail = last.items[last.items.length - 1] as QueueEntry;
      if (tail.seq < (batch[0] as QueueEntry).seq) {
        for (const e of batch) last.items.push(e);
        return;
      }
    }
    if (batch.length <= this.tuning.smallBatch) {
      const target = this.smallestIdleRun();
      if (target !== null) {
        for (const e of batch) target.insert(e);
        return;
      }
    }
    const run = new Run(batch);
    this.runs.push(run);
    this.lastRun = run;
  }

  /**
   * The shortest run not taking part in a merge: an entry put into the merge's output could land
   * behind entries still to be merged, and one put into an input ahead of its head could be moved
   * to the output behind larger ones.
   */
  private smallestIdleRun(): Run | null {
    let best: Run | null = null;
    for (const r of this.runs) {
      if (this.inMerge(r)) continue;
      if (best === null || r.length < best.length) best = r;
    }
    return best;
  }

  needsMerge(): boolean {
    return this.merge !== null || this.runs.length > this.tuning.maxRuns;
  }

  /** Move up to `budget` entries of the merge in progress (starting one if needed); returns what was used. */
  mergeStep(budget: number): number {
    let m = this.merge;
    if (m === null) {
      if (this.runs.length <= this.tuning.maxRuns) return 0;
      // The two shortest runs: merging equals keeps the total work O(n log n).
      const sorted = [...this.runs].sort((x, y) => x.length - y.length);
      m = { a: sorted[0] as Run, b: sorted[1] as Run, out: new Run([]) };
      this.merge = m;
      this.runs.push(m.out);
    }
    let used = 0;
    const out = m.out.items;
    while (used < budget) {
      const x = m.a.peek();
      const y = m.b.peek();
      if (x === undefined && y === undefined) break;
      if (y === undefined || (x !== undefined && x.seq < y.seq)) out.push(m.a.shift() as QueueEntry);
      else out.push(m.b.shift() as QueueEntry);
      used++;
    }
    if (m.a.length === 0 && m.b.length === 0) {
      const { a, b } = m;
      this.merge = null;
      this.runs = this.runs.filter((r) => r !== a && r !== b && r.length > 0);
    }
    return used;
  }

  clear(out: QueueEntry[]): void {
    // Highest priority first, then in delivery order within the level.
    for (;;) {
      const e = this.shift();
      if (e === undefined) break;
      out.push(e);
    }
    this.runs = [];
    this.merge = null;
    this.lastRun = null;
    this.count = 0;
  }

  *entries(): IterableIterator<QueueEntry> {
    // Delivery order, without consuming: a k-way walk over the FIFO and the runs.
    const cursors = this.runs.map((r) => r.head);
    let fi = 0;
    for (;;) {
      let best = -1;
      let bestSeq = this.fifo.at(fi)?.seq ?? Infinity;
      for (let i = 0; i < this.runs.length; i++) {
        const h = (this.runs[i] as Run).items[cursors[i] as number];
        if (h !== undefined && h.seq < bestSeq) {
          best = i;
          bestSeq = h.seq;
        }
      }
      if (best < 0) {
        const e = this.fifo.at(fi++);
        if (e === undefined) return;
        yield e;
      } else {
        const i = cursors[best] as number;
        cursors[best] = i + 1;
        yield (this.runs[best] as Run).items[i] as QueueEntry;
      }
    }
  }
}

export class ReadyList {
  /** levels[p] holds priority p; a queue without x-max-priority has one level. */
  private readonly levels: Level[];
  private count = 0;

  constructor(maxPriority: number | undefined, tuning: RunTuning = DEFAULT_TUNING) {
    const n = maxPriority === undefined ? 1 : maxPriority + 1;
    this.levels = [];
    for (let i = 0; i < n; i++) this.levels.push(new Level(tuning));
  }

  get length(): number {
    return this.count;
  }

  private levelIndex(e: QueueEntry): number {
    if (this.levels.length === 1) return 0;
    const p = e.message.hasPriority ? (e.message.properties.priority ?? 0) : 0;
    return Math.min(p, this.levels.length - 1);
  }

  /** A new entry (its seq is higher than any here). */
  push(e: QueueEntry): void {
    const l = this.levels[this.levelIndex(e)] as Level;
    l.fifo.push(e);
    l.count++;
    this.count++;
  }

  /**
   * Returned entries, each back at its original place (by seq) within its priority level.
   * The array is kept (not copied) when it is already in order; the caller gives it up.
   * `inOrder` says the caller already knows it is (by seq), which saves a pass over it.
   */
  requeue(entries: QueueEntry[], inOrder = false): void {
    if (entries.length === 0) return;
    this.count += entries.length;
    if (this.levels.length === 1) {
      (this.levels[0] as Level).addSorted(inOrder ? entries : sortedBySeq(entries));
      return;
    }
    const byLevel: QueueEntry[][] = this.levels.map(() => []);
    for (const e of entries) (byLevel[this.levelIndex(e)] as QueueEntry[]).push(e);
    // A subsequence of a sorted batch is sorted.
    for (let p = 0; p < byLevel.length; p++) {
      const batch = byLevel[p] as QueueEntry[];
      (this.levels[p] as Level).addSorted(inOrder ? batch : sortedBySeq(batch));
    }
  }

  /** Whether mergeStep has work to do. */
  needsMerge(): boolean {
    for (const l of this.levels) if (l.needsMerge()) return true;
    return false;
  }

  /** Merge returned runs, moving at most `budget` entries; returns true if more work remains. */
  mergeStep(budget: number): boolean {
    for (const l of this.levels) {
      while (budget > 0 && l.needsMerge()) {
        const used = l.mergeStep(budget);
        if (used === 0 && !l.needsMerge()) break;
        budget -= Math.max(used, 1);
      }
    }
    return this.needsMerge();
  }

  peek(): QueueEntry | undefined {
    for (let p = this.levels.length - 1; p >= 0; p--) {
      const l = this.levels[p] as Level;
      if (l.count > 0) return l.peek();
    }
    return undefined;
  }

  shift(): QueueEntry | undefined {
    for (let p = this.levels.length - 1; p >= 0; p--) {
      const l = this.levels[p] as Level;
      if (l.count > 0) {
        this.count--;
        return l.shift();
      }
    }
    return undefined;
  }

  /** Remove everything, highest priority first, each level in delivery order. */
  clear(): QueueEntry[] {
    const out: QueueEntry[] = [];
    for (let p = this.levels.length - 1; p >= 0; p--) (this.levels[p] as Level).clear(out);
    this.count = 0;
    return out;
  }

  *[Symbol.iterator](): IterableIterator<QueueEntry> {
    for (let p = this.levels.length - 1; p >= 0; p--) yield* (this.levels[p] as Level).entries();
  }
}

/** The batch in seq order: as given when it already is (the usual case: delivery order), else sorted. */
function sortedBySeq(entries: QueueEntry[]): QueueEntry[] {
  for (let i = 1; i < entries.length; i++) {
    if ((entries[i - 1] as QueueEntry).seq > (entries[i] as QueueEntry).seq) return entries.slice().sort((x, y) => x.seq - y.seq);
  }
  return entries;
}
