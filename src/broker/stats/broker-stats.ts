// The broker's statistics: message totals, churn, message sizes, and the open channels' counters.
// The hot path counts at the queue, exchange, channel and vhost only; the broker's totals (and
// those by queue type) are sums taken when read, plus what deleted vhosts and queues had counted.

import { ChurnCounters } from './churn.js';
import { ChannelStats, type ChannelIdentity } from './channel-stats.js';
import { MessageCounters } from './message-counters.js';
import { MessageSizes } from './message-sizes.js';

export class BrokerStats {
  /** Totals over every vhost, as of the last refresh() (the sampler refreshes them every 5 s). */
  readonly messages = new MessageCounters();
  /** What deleted vhosts had counted. */
  private readonly retiredVhosts = new MessageCounters();
  /** What deleted queues had counted, by queue type. */
  private readonly retiredQueues = new Map<string, MessageCounters>();
  readonly churn = new ChurnCounters();
  readonly messageSizes = new MessageSizes();
  /** Publishes answered with basic.nack, on any channel. */
  confirmNacks = 0;
  /**
   * Dead-lettered messages by queue type, reason, and whether the queue had a dead-letter exchange
   * ([without, with]). Fixed slots, not a map keyed by a built string: x-max-length drop-head
   * dead-letters once per publish.
   */
  private readonly deadLettered: Record<string, Record<string, [number, number]>> = {
    classic: deadLetterSlots(),
    quorum: deadLetterSlots(),
  };
  /** Counters of the open channels. */
  readonly channels = new Set<ChannelStats>();

  /** A channel opened: its counters, registered until channelClosed. */
  channelOpened(identity: ChannelIdentity, vhostTotals: MessageCounters): ChannelStats {
    const s = new ChannelStats(identity, vhostTotals, this);
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

  /** Recompute `messages` from the vhosts' totals (and the deleted ones'); returns it. */
  refresh(vhosts: Iterable<{ readonly stats: MessageCounters }>): MessageCounters {
    const m = this.messages;
    m.setAll(this.retiredVhosts);
    for (const v of vhosts) m.addAll(v.stats);
    return m;
  }

  /** A vhost is deleted: its counts stay in the broker's totals. */
  retireVhost(vhost: { readonly stats: MessageCounters; readonly queues: ReadonlyMap<string, { readonly policy: { readonly type: string }; readonly stats: MessageCounters }> }): void {
    this.retiredVhosts.addAll(vhost.stats);
    for (const q of vhost.queues.values()) this.retireQueue(q.policy.type, q.stats);
  }

  /** A queue is deleted: its counts stay in the totals of its type. */
  retireQueue(type: string, stats: MessageCounters): void {
    let c = this.retiredQueues.get(type);
    if (c === undefined) this.retiredQueues.set(type, (c = new MessageCounters()));
    c.addAll(stats);
  }

  /** What deleted queues of each type had counted (the live queues' counts are added by whoever sums them). */
  get retiredByQueueType(): ReadonlyMap<string, MessageCounters> {
    return this.retiredQueues;
  }

  /** A message left a queue of `queueType` for `reason`; `hadDlx`: the queue had a dead-letter exchange. */
  noteDeadLettered(queueType: string, reason: string, hadDlx: boolean): void {
    const slots = (this.deadLettered[queueType] ??= deadLetterSlots());
    const pair = (slots[reason] ??= [0, 0]);
    pair[hadDlx ? 1 : 0]++;
  }

  deadLetteredCount(queueType: string, reason: string, hadDlx: boolean): number {
    return this.deadLettered[queueType]?.[reason]?.[hadDlx ? 1 : 0] ?? 0;
  }
}

function deadLetterSlots(): Record<string, [number, number]> {
  return { expired: [0, 0], maxlen: [0, 0], rejected: [0, 0], delivery_limit: [0, 0] };
}
