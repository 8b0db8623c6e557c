// A channel's transaction (tx.select): publishes and acks are held until tx.commit applies them
// in order, or tx.rollback drops them (the deliveries then stay unacked).

import type { Message } from '../broker/message.js';

export interface HeldPublish {
  readonly message: Message;
  readonly mandatory: boolean;
}

export class Transaction {
  private publishes: HeldPublish[] = [];
  private acks: (() => void)[] = [];

  /** Publishes and acks held until commit (messages_uncommitted, acks_uncommitted). */
  get pendingPublishes(): number {
    return this.publishes.length;
  }

  get pendingAcks(): number {
    return this.acks.length;
  }

  /** A publish that passed its immediate checks (errors surface at publish time, as in RabbitMQ). */
  addPublish(message: Message, mandatory: boolean): void {
    this.publishes.push({ message, mandatory });
  }

  /** An ack, nack or reject whose delivery tag was checked; applied at commit. */
  addAck(apply: () => void): void {
    this.acks.push(apply);
  }

  /**
   * Apply the publishes (in order), then the acks, and start a new transaction. Returns whether
   * some publish reached the store: commit-ok then waits for the group commit.
   */
  commit(publish: (p: HeldPublish) => boolean): boolean {
    const publishes = this.publishes;
    const acks = this.acks;
    this.publishes = [];
    this.acks = [];
    let onDisk = false;
    for (const p of publishes) {
      if (publish(p)) onDisk = true;
      p.message.forgetProperties();
    }
    for (const a of acks) a();
    return onDisk;
  }

  rollback(): void {
    this.publishes = [];
    this.acks = [];
  }
}
