// A queue's consumers: one round-robin ring per x-priority level (highest served first), plus
// their arrival order (single active consumer takes the oldest). Picking the next consumer and
// removing one are O(1): a queue with 100k consumers used to scan them all for every delivery
// and to splice an array for every removal.
//
// A consumer found without capacity leaves its ring ("parked") so later deliveries do not test
// it again:
// - one at its own prefetch limit waits for an ack (Consumer.unacked going down calls credit());
// - one blocked by its channel (socket backpressure, channel-wide prefetch) waits with the other
//   consumers of that channel (ack-mode and no-ack apart: only the former wait for a channel-wide
//   prefetch); wake() asks the channel once per blocked group, when the queue
//   is told capacity may have come back (the channel calls Queue.dispatch then).
// A parked consumer comes back at the tail of its ring, as if it had just been served.

import type { Consumer, ConsumerOwner } from '../consumer.js';

const IN_RING = 0;
const WAITING_CREDIT = 1;
const WAITING_OWNER = 2;

class RingNode {
  readonly consumer: Consumer;
  readonly level: PriorityLevel;
  /** Ring links (valid while state is IN_RING). */
  prev: RingNode;
  next: RingNode;
  /** Arrival-order links. */
  older: RingNode | null;
  newer: RingNode | null;
  state: number;

  constructor(consumer: Consumer, level: PriorityLevel) {
    this.consumer = consumer;
    this.level = level;
    this.prev = this;
    this.next = this;
    this.older = null;
    this.newer = null;
    this.state = IN_RING;
  }
}

class PriorityLevel {
  readonly priority: number;
  /** The consumer served next at this level; null when every one is parked or gone. */
  head: RingNode | null;
  /** Consumers at this level, parked or not. */
  members: number;

  constructor(priority: number) {
    this.priority = priority;
    this.head = null;
    this.members = 0;
  }

  /** Append at the tail (just before the head: served last in this round). */
  link(n: RingNode): void {
    n.state = IN_RING;
    const h = this.head;
    if (h === null) {
      n.prev = n;
      n.next = n;
      this.head = n;
      return;
    }
    n.prev = h.prev;
    n.next = h;
    h.prev.next = n;
    h.prev = n;
  }

  unlink(n: RingNode): void {
    if (n.next === n) this.head = null;
    else {
      n.prev.next = n.next;
      n.next.prev = n.prev;
      if (this.head === n) this.head = n.next;
    }
    n.prev = n;
    n.next = n;
  }
}

export class ConsumerRing {
  private readonly nodes = new Map<Consumer, RingNode>();
  /** Highest priority first. */
  private levels: PriorityLevel[] = [];
  private oldest: RingNode | null = null;
  private newest: RingNode | null = null;
  private exclusives = 0;
  /**
   * Consumers blocked by their channel, by channel, in the order they were parked: [0] those that
   * ack, [1] no-ack ones. The channel's answer is shared only within a group: its channel-wide
   * prefetch holds the first, never the second.
   */
  private readonly ownerBlocked = [new Map<ConsumerOwner, Set<RingNode>>(), new Map<ConsumerOwner, Set<RingNode>>()] as const;

  get size(): number {
    return this.nodes.size;
  }

  has(c: Consumer): boolean {
    return this.nodes.has(c);
  }

  hasExclusive(): boolean {
    return this.exclusives > 0;
  }

  /** The consumer that arrived first (the single active consumer). */
  oldestConsumer(): Consumer | undefined {
    return this.oldest?.consumer;
  }

  add(c: Consumer): void {
    if (this.nodes.has(c)) return;
    const level = this.levelFor(c.priority);
    const n = new RingNode(c, level);
    this.nodes.set(c, n);
    level.members++;
    level.link(n);
    n.older = this.newest;
    if (this.newest !== null) this.newest.newer = n;
    else this.oldest = n;
    this.newest = n;
    if (c.exclusive) this.exclusives++;
    c.waitingForCredit = false;
  }

  /** Returns false if the consumer was not here. */
  remove(c: Consumer): boolean {
    const n = this.nodes.get(c);
    if (n === undefined) return false;
    this.nodes.delete(c);
    if (n.state === IN_RING) n.level.unlink(n);
    else if (n.state === WAITING_OWNER) {
      const blocked = this.ownerBlocked[c.noAck ? 1 : 0];
      const set = blocked.get(c.owner);
      if (set !== undefined) {
        set.delete(n);
        if (set.size === 0) blocked.delete(c.owner);
      }
    }
    c.waitingForCredit = false;
    if (--n.level.members === 0) this.levels.splice(this.levels.indexOf(n.level), 1);
    if (n.older !== null) n.older.newer = n.newer;
    else this.oldest = n.newer;
    if (n.newer !== null) n.newer.older = n.older;
    else this.newest = n.older;
    if (c.exclusive) this.exclusives--;
    return true;
  }

  /**
   * The next consumer to deliver to: the highest priority level with a consumer that has
   * capacity, round robin within the level. Consumers found without capacity are parked.
   */
  next(): Consumer | undefined {
    for (let li = 0; li < this.levels.length; li++) {
      const level = this.levels[li] as PriorityLevel;
      for (let n = level.head; n !== null; n = level.head) {
        const c = n.consumer;
        if (c.owner.hasCapacity(c)) {
          level.head = n.next;
          return c;
        }
        this.park(n);
      }
    }
    return undefined;
  }

  /** A consumer's unacked count went down: if it was waiting for that, it can be served again. */
  credit(c: Consumer): void {
    const n = this.nodes.get(c);
    if (n === undefined || n.state !== WAITING_CREDIT) return;
    c.waitingForCredit = false;
    n.level.link(n);
  }

  /** Capacity may have come back on some channels: return their parked consumers to the rings. */
  wake(): void {
    for (const blocked of this.ownerBlocked) {
      if (blocked.size === 0) continue;
      for (const [owner, set] of blocked) {
        const first = set.values().next().value as RingNode;
        if (!owner.hasCapacity(first.consumer)) continue;
        blocked.delete(owner);
        for (const n of set) n.level.link(n);
      }
    }
  }

  /** Arrival order. */
  *[Symbol.iterator](): IterableIterator<Consumer> {
    for (let n = this.oldest; n !== null; n = n.newer) yield n.consumer;
  }

  private park(n: RingNode): void {
    n.level.unlink(n);
    const c = n.consumer;
    // At its own prefetch limit: only an ack (Consumer.unacked going down) can change that.
    if (!c.noAck && c.prefetch > 0 && c.unacked >= c.prefetch) {
      n.state = WAITING_CREDIT;
      c.waitingForCredit = true;
      return;
    }
    // Otherwise its channel refused (backpressure, channel-wide prefetch, closing): the same
    // answer holds for every consumer of that channel until the channel says otherwise.
    n.state = WAITING_OWNER;
    const blocked = this.ownerBlocked[c.noAck ? 1 : 0];
    let set = blocked.get(c.owner);
    if (set === undefined) blocked.set(c.owner, (set = new Set()));
    set.add(n);
  }

  private levelFor(priority: number): PriorityLevel {
    const ls = this.levels;
    let i = 0;
    while (i < ls.length && (ls[i] as PriorityLevel).priority > priority) i++;
    const at = ls[i];
    if (at !== undefined && at.priority === priority) return at;
    const level = new PriorityLevel(priority);
    ls.splice(i, 0, level);
    return level;
  }
}
