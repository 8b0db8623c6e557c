// Collects the destinations of one routing pass without allocating: each queue or exchange
// carries the number of the pass that last reached it, so duplicates (several keys, CC/BCC,
// bindings, exchange-to-exchange paths) collapse by comparing one field instead of a Set
// that would be cleared (and reallocated by V8) for every message.

import { isExchange, type Destination, type Exchange } from './exchange/exchange.js';
import type { Queue } from './queue/queue.js';

/** A queue or exchange as seen by routing: the pass and the exchange step that last reached it. */
export interface RouteMarks {
  routePass: number;
  routeStep: number;
}

/** Passes and steps are numbered across all collectors, so a mark is never mistaken for another pass's. */
let counter = 0;

export class RouteCollector {
  /**
   * Queues reached by the current pass, each once, in the order reached: the first `count`
   * entries (the array is reused, not truncated: changing an array's length is a slow runtime call).
   */
  readonly queues: (Queue | undefined)[] = [];
  count = 0;
  /** Exchanges reached through bindings, to route through next: the first `pendingCount` entries. */
  readonly pending: (Exchange | undefined)[] = [];
  pendingCount = 0;
  private pass = 0;
  private step = 0;
  /** Destinations added during the current step, duplicates included: > 0 means a binding matched. */
  hits = 0;

  /** Start a pass at `root` (which counts as reached). */
  begin(root: Exchange): void {
    this.pass = ++counter;
    this.count = 0;
    this.pendingCount = 0;
    root.routePass = this.pass;
  }

  /** Start routing through one exchange: `has` answers for destinations added from here on. */
  beginStep(): void {
    this.step = ++counter;
    this.hits = 0;
  }

  /** The routing tables' sink (shaped like a Set). */
  add(d: Destination): void {
    this.hits++;
    d.routeStep = this.step;
    if (d.routePass === this.pass) return;
    d.routePass = this.pass;
    if (isExchange(d)) this.pending[this.pendingCount++] = d;
    else this.queues[this.count++] = d;
  }

  /** Whether an earlier binding of the exchange being routed already matched `d`. */
  has(d: Destination): boolean {
    return d.routeStep === this.step;
  }

  /** Reach an exchange other than through a binding (an alternate exchange); false if already reached. */
  reach(e: Exchange): boolean {
    if (e.routePass === this.pass) return false;
    e.routePass = this.pass;
    return true;
  }

  /** Reach a queue by name (the default exchange). */
  addQueue(q: Queue): void {
    this.hits++;
    if (q.routePass === this.pass) return;
    q.routePass = this.pass;
    this.queues[this.count++] = q;
  }

  /** Forget the pass, dropping the references (so a deleted queue or exchange is not kept alive here). */
  clear(): void {
    for (let i = 0; i < this.count; i++) this.queues[i] = undefined;
    for (let i = 0; i < this.pendingCount; i++) this.pending[i] = undefined;
    this.count = 0;
    this.pendingCount = 0;
  }
}
