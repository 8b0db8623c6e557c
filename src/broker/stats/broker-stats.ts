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
  /** Counters of the open channels. */
  readonly channels = new Set<ChannelStats>();

  /** A channel opened: its counters, registered until channelClosed. */
  channelOpened(identity: ChannelIdentity, vhostTotals: MessageCounters): ChannelStats {
    const s = new ChannelStats(identity, vhostTotals, this.messages);
    this.channels.add(s);
    this.churn.channelCreated++;
    return s;
  }

  channelClosed(s: ChannelStats): void {
    if (this.channels.delete(s)) this.churn.channelClosed++;
  }
}
