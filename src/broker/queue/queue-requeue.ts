// Requeued messages going back into a queue: their seqs at once, their placement a slice per turn,
// and every read first placing those that come before the ready head (see requeue()).

import { QueueEntry } from './queue-entry.js';
import { QueueState, REQUEUE_SLICE, DROP_SLICE, type PendingRequeue, type RequeueCause } from './queue-state.js';

/** Requeued entries merged per turn of the event loop (about a millisecond of work). */
const MERGE_SLICE = 4096;

/** The seq of the next entry a pending requeue will place. */
function nextSeqOf(p: PendingRequeue): number {
  return p.placement === 'place' ? (p.entries[p.next] as QueueEntry).seq : p.base + p.next;
}

export abstract class QueueRequeue extends QueueState {
  /**
   * Put unacked entries back, marked redelivered; past the delivery limit they are dead-lettered.
   * Where they go (RabbitMQ 3.10, checked live):
   * - classic queues: each back at its original place, whatever the cause;
   * - quorum queues without an x-delivery-limit argument, `client` cause: at the back of the
   *   queue, behind everything already there, in the order given (rabbit_fifo re-enqueues them);
   * - quorum queues otherwise (a closed channel or connection, or any requeue under a delivery
   *   limit): ahead of all other messages, behind those returned before them, in the order given
   *   (rabbit_fifo's returns queue).
   * Entries come in delivery order from the channel. Here they only get their seqs (one pass that
   * reads each entry: order, and how many are over the limit, so the count stays exact); they are
   * then placed a slice per turn (placeSlice), and every read first places those that come before
   * the ready head (catchUp). Merging the sorted runs this leaves in the ready list is
   * scheduleMerge's job, also a bounded slice per turn.
   */
  requeue(entries: QueueEntry[], cause: RequeueCause): void {
    if (entries.length === 0) return;
    this.unacked -= entries.length;
    const limit = this.policy.deliveryLimit;
    // The default limit (a RabbitMQ 4 behaviour kept deliberately) does not change placement: 3.10 has none.
    const limitSet = limit !== undefined && this.policy.deliveryLimitDefaulted !== true;
    const placement = this.policy.type !== 'quorum' ? 'place' : cause === 'client' && !limitSet ? 'back' : 'front';
    let live = entries.length;
    let sorted = true;
    if (!this.deleted && (placement === 'place' || limit !== undefined)) {
      let lastSeq = -Infinity;
      for (const e of entries) {
        if (limit !== undefined && e.returns >= limit) live--;
        if (e.seq < lastSeq) sorted = false;
        lastSeq = e.seq;
      }
    }
    let base = 0;
    if (placement === 'back') {
      base = this.nextSeq;
      this.nextSeq += entries.length;
    } else if (placement === 'front') {
      base = this.nextReturnSeq;
      this.nextReturnSeq += entries.length;
    }
    const list = placement === 'place' && !sorted ? entries.slice().sort((x, y) => x.seq - y.seq) : entries;
    // Behind paged-out messages (pageBack) order is by arrival in the tail: those are placed at once.
    const toTail = placement === 'back' && this.tail !== null && this.tail.length > 0;
    const p: PendingRequeue = { entries: list, next: 0, placement, base, toTail };
    this.backlog.push(p);
    this.backlogLive += this.deleted ? 0 : live;
    this.placeSlice(p, toTail ? Infinity : REQUEUE_SLICE);
    if (this.backlog.length > 0) this.scheduleBacklog();
    if (this.deleted) return;
    if (this.ready.needsMerge()) this.scheduleMerge();
    this.dispatch();
    // RabbitMQ re-applies the length limit to requeued messages.
    if (!this.enforceLimits(DROP_SLICE)) this.scheduleLimits();
    this.armExpiry();
  }

  /** Place up to `budget` entries of a pending requeue (settle them if the queue is gone). */
  private placeSlice(p: PendingRequeue, budget: number): void {
    const limit = this.policy.deliveryLimit;
    const end = Math.min(p.entries.length, p.next + budget);
    const out: QueueEntry[] = [];
    for (let i = p.next; i < end; i++) {
      const e = p.entries[i] as QueueEntry;
      if (this.deleted) {
        this.settle(e);
        continue;
      }
      e.returns++;
      if (limit !== undefined && e.returns > limit) {
        this.remove(e, 'delivery_limit');
        continue;
      }
      this.backlogLive--;
      e.redelivered = true;
      this.readyBytes += e.message.bodySize;
      if (p.placement !== 'place') e.seq = p.base + i;
      if (p.toTail && this.pageBack(e)) continue;
      out.push(e);
    }
    p.next = end;
    if (end === p.entries.length) this.backlog.splice(this.backlog.indexOf(p), 1);
    if (out.length > 0) {
      this.ready.requeue(out, true);
      if (this.ready.needsMerge()) this.scheduleMerge();
    }
  }

  /** Before a read: place every pending entry that comes before the ready head, so reads see queue order. */
  protected override catchUp(): void {
    // Entries over the delivery limit are not in the queue: dead-lettering them can wait its turn.
    while (this.backlog.length > 0 && this.backlogLive > 0) {
      // Priority queues place everything before a read: levels are not compared here.
      if (this.policy.maxPriority !== undefined) {
        this.placeSlice(this.backlog[0] as PendingRequeue, Infinity);
        continue;
      }
      // An empty ready list means everything pending comes first (a paged tail is always behind it).
      const head = this.ready.peek()?.seq ?? Infinity;
      let first: PendingRequeue | null = null;
      for (const p of this.backlog) if (first === null || nextSeqOf(p) < nextSeqOf(first)) first = p;
      if (first === null || nextSeqOf(first) > head) return;
      this.placeSlice(first, REQUEUE_SLICE);
    }
  }

  /** Place everything pending now (purge, and a queue being deleted). */
  protected override placeAll(): void {
    while (this.backlog.length > 0) this.placeSlice(this.backlog[0] as PendingRequeue, Infinity);
  }

  private scheduleBacklog(): void {
    if (this.backlogScheduled) return;
    this.backlogScheduled = true;
    setImmediate(() => {
      this.backlogScheduled = false;
      const p = this.backlog[0];
      if (p === undefined) return;
      this.placeSlice(p, REQUEUE_SLICE);
      if (this.backlog.length > 0) this.scheduleBacklog();
      if (this.deleted) return;
      this.dispatch();
      this.armExpiry();
    });
  }

  /** Merge requeued runs in the ready list, a bounded slice per turn of the event loop. */
  protected scheduleMerge(): void {
    if (this.mergeScheduled) return;
    this.mergeScheduled = true;
    setImmediate(() => {
      this.mergeScheduled = false;
      if (!this.deleted && this.ready.mergeStep(MERGE_SLICE)) this.scheduleMerge();
    });
  }
}
