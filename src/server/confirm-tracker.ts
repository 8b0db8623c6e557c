// Publisher confirms of one channel (confirm.select): numbers publishes, waits for the group commit
// covering the ones written to the store, and sends basic.ack (coalesced with `multiple`) or
// basic.nack in sequence order.
//
// Cost per publish: a few number comparisons. Publishes settled at once are acked at the end of
// the read batch; those written to the store carry a durability handle (store, mark), and at the
// end of the read batch the tracker notes "everything up to seq S needs mark M" (one entry per
// batch, not per message) and waits for the store's fsynced watermark to pass M.

import type { Logger } from '../log.js';
import type { DurabilityWaiter, MessageDurability } from '../broker/publish/durability.js';
import type { PublishResult } from '../broker/publish/publish-result.js';
import * as M from '../protocol/generated/amqp.js';

/** Where confirmed publishes are counted (the channel's statistics). */
export interface ConfirmCounter {
  confirmed(n: number): void;
  nacked(): void;
}

/** Where the tracker writes its acks and nacks (the channel, in order with its other output). */
export interface ConfirmOutput {
  send(m: M.Method): void;
}

export interface ConfirmScheduler {
  /** Call `flush()` on the tracker at the end of the current read batch. */
  markConfirmsPending(confirms: ConfirmTracker): void;
}

export class ConfirmTracker implements DurabilityWaiter {
  private readonly out: ConfirmOutput;
  private readonly scheduler: ConfirmScheduler;
  private readonly log: Logger;
  private readonly counter: ConfirmCounter | null;
  /** Sequence number of the latest publish (the first is 1). */
  private seq = 0;
  /** Every seq up to this one is settled (on disk, or needing no disk) and may be confirmed. */
  private confirmedUpTo = 0;
  private ackSentUpTo = 0;
  /** Highest seq that waits for a group commit, and the highest mark waited for. */
  private waitingUpTo = 0;
  private waitMark = 0;
  /** The store waited on (one per vhost, so one per channel). */
  private durability: MessageDurability | null = null;
  /** Waits handed to the store, oldest first: seqs up to waitSeqs[i] are settled once the watermark reaches waitMarks[i]. */
  private readonly waitSeqs: number[] = [];
  private readonly waitMarks: number[] = [];
  private askedUpTo = 0;
  /** Seqs to answer with basic.nack (x-overflow reject-publish, store failure), only while some are unsent. */
  private nacked: Set<number> | null = null;
  private closed = false;
  /** Already handed to the scheduler for the current read batch. */
  private scheduled = false;

  constructor(out: ConfirmOutput, scheduler: ConfirmScheduler, log: Logger, counter: ConfirmCounter | null = null) {
    this.out = out;
    this.scheduler = scheduler;
    this.log = log;
    this.counter = counter;
  }

  /** Publishes not yet answered with an ack or a nack. */
  get unconfirmed(): number {
    return this.seq - this.ackSentUpTo;
  }

  /** A publish of this channel is done; its confirm goes out once it and every earlier one is settled. */
  published(r: PublishResult): void {
    const seq = ++this.seq;
    if (r.rejected) (this.nacked ??= new Set()).add(seq);
    if (r.waitsForDisk || this.waitingUpTo > this.confirmedUpTo) {
      // Later confirms queue behind one waiting for the disk, so `multiple` acks stay truthful.
      this.waitingUpTo = seq;
      if (r.durableMark > this.waitMark) {
        this.waitMark = r.durableMark;
        this.durability = r.durability;
      }
    } else {
      this.confirmedUpTo = seq;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      this.scheduler.markConfirmsPending(this);
    }
  }

  /** End of a read batch: hand new waits to the store (one per batch), send what is settled. */
  flush(): void {
    this.scheduled = false;
    if (this.closed) return;
    const d = this.durability;
    if (this.waitingUpTo > this.askedUpTo && d !== null) {
      this.askedUpTo = this.waitingUpTo;
      this.waitSeqs.push(this.waitingUpTo);
      this.waitMarks.push(this.waitMark);
      if (!this.settleWaits(d)) d.wait(this, this.waitMark);
    }
    this.sendConfirms();
  }

  /** DurabilityWaiter: a group commit finished, or the store failed. */
  onDurable(): boolean {
    const d = this.durability;
    if (this.closed || d === null) return false;
    const done = this.settleWaits(d);
    this.sendConfirms();
    return !done;
  }

  /** Settle the waits the watermark covers (or, once the store failed, nack them); true when none is left. */
  private settleWaits(d: MessageDurability): boolean {
    while (this.waitSeqs.length > 0 && (this.waitMarks[0] as number) <= d.durable) {
      this.confirmedUpTo = this.waitSeqs.shift() as number;
      this.waitMarks.shift();
    }
    if (this.waitSeqs.length > 0 && d.failure !== null) {
      const upTo = this.waitSeqs[this.waitSeqs.length - 1] as number;
      this.log.error({ err: d.failure.message }, 'store failed; nacking unconfirmed publishes');
      const nacked = (this.nacked ??= new Set());
      for (let s = this.confirmedUpTo + 1; s <= upTo; s++) nacked.add(s);
      this.confirmedUpTo = upTo;
      this.waitSeqs.length = 0;
      this.waitMarks.length = 0;
    }
    return this.waitSeqs.length === 0;
  }

  /** Send acks covering everything settled since the last ones, coalesced with `multiple`; nacks one by one. */
  private sendConfirms(): void {
    if (this.closed || this.confirmedUpTo <= this.ackSentUpTo) return;
    const nacked = this.nacked;
    if (nacked === null || nacked.size === 0) {
      this.counter?.confirmed(this.confirmedUpTo - this.ackSentUpTo);
      const multiple = this.confirmedUpTo - this.ackSentUpTo > 1;
      this.ackSentUpTo = this.confirmedUpTo;
      this.out.send({ id: M.BASIC_ACK, deliveryTag: this.confirmedUpTo, multiple });
      return;
    }
    let runStart = this.ackSentUpTo + 1;
    let acked = this.confirmedUpTo - this.ackSentUpTo;
    for (let s = this.ackSentUpTo + 1; s <= this.confirmedUpTo; s++) {
      if (!nacked.has(s)) continue;
      acked--;
      if (s > runStart) this.out.send({ id: M.BASIC_ACK, deliveryTag: s - 1, multiple: s - 1 > runStart });
      // RabbitMQ 3.10 leaves the requeue bit at the spec default (set) on the nacks it sends; clients ignore it.
      this.out.send({ id: M.BASIC_NACK, deliveryTag: s, multiple: false, requeue: true });
      this.counter?.nacked();
      nacked.delete(s);
      runStart = s + 1;
    }
    if (this.confirmedUpTo >= runStart) {
      this.out.send({ id: M.BASIC_ACK, deliveryTag: this.confirmedUpTo, multiple: this.confirmedUpTo > runStart });
    }
    this.ackSentUpTo = this.confirmedUpTo;
    this.counter?.confirmed(acked);
  }

  /** The channel is going away: nothing more is sent, and the store forgets this waiter. */
  close(): void {
    this.closed = true;
    this.durability?.forget(this);
  }
}
