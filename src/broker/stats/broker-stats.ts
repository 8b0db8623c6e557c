// The broker's statistics: message totals, churn, message sizes, and the open channels' counters.

import { ChurnCounters } from './churn.js';
import { ChannelStats, type ChannelIdentity } from './channel-stats.js';
import { MessageCounters } from './message-counters.js';
import { MessageSizes } from './message-sizes.js';

export class BrokerStats {
  /** Totals over every vhost (a deleted vhost's messages stay counted). */
  readonly messages = new MessageCounters();
  readonly churn = new ChurnCounters();
  readonly messageSizes = new MessageSizes();
  /** Publishes answered with basic.nack, on any channel. */
  confirmNacks = 0;
  /** Delivery, get and ack totals by queue type (Prometheus labels them queue_type). */
  readonly byQueueType = new Map<string, MessageCounters>([
    ['classic', new MessageCounters()],
    ['quorum', new MessageCounters()],
  ]);
  /** Dead-lettered messages by queue type, reason and whether the queue had a dead-letter exchange. */
  readonly deadLettered = new Map<string, number>();
  /** Counters of the open channels. */
  readonly channels = new Set<ChannelStats>();

  /** A channel opened: its counters, registered until channelClosed. */
  channelOpened(identity: ChannelIdentity, vhostTotals: MessageCounters): ChannelStats {
    const s = new ChannelStats(identity, vhostTotals, this.messages, this);
    this.channels.add(s);
    this.churn.channelCreated++;
    return s;
  }

  channelClosed(s: ChannelStats): void {
    if (this.channels.delete(s)) this.churn.channelClosed++;
  }

  /** The open channels of one connection (by its name), in channel-number order. */
  channelsOf(connectionName: string): ChannelStats[] {
    const out: ChannelStats[] = [];
    for (const s of this.channels) if (s.identity.connectionName === connectionName) out.push(s);
    return out.sort((a, b) => a.identity.number - b.identity.number);
  }

  /** The totals of queues of `type` (made on first use for a type not known yet). */
  forQueueType(type: string): MessageCounters {
    let c = this.byQueueType.get(type);
    if (c === undefined) this.byQueueType.set(type, (c = new MessageCounters()));
    return c;
  }

  /** A message left a queue of `queueType` for `reason`; `hadDlx`: the queue had a dead-letter exchange. */
  noteDeadLettered(queueType: string, reason: string, hadDlx: boolean): void {
    const k = deadLetterKey(queueType, reason, hadDlx);
    this.deadLettered.set(k, (this.deadLettered.get(k) ?? 0) + 1);
  }

  deadLetteredCount(queueType: string, reason: string, hadDlx: boolean): number {
    return this.deadLettered.get(deadLetterKey(queueType, reason, hadDlx)) ?? 0;
  }
}

function deadLetterKey(queueType: string, reason: string, hadDlx: boolean): string {
  return `${queueType}\u0000${reason}\u0000${hadDlx ? 1 : 0}`;
}
