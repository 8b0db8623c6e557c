// Per-channel message counters. The server's channel owns one and bumps its fields directly; the
// few events only a channel sees (confirms, publishes in confirm mode) also go to the vhost's
// totals through the methods here. Registered with BrokerStats while the channel is open,
// so rates and Prometheus can read it.

import { MessageCounters } from './message-counters.js';

/** What a channel tells about itself beyond its counters (read when listing, never on the hot path). */
export interface ChannelProbe {
  /** Deliveries waiting for an ack. */
  unackedCount(): number;
  /** When the oldest delivery still waiting for an ack went out (clock ms), or null if none. */
  oldestUnackedAt(): number | null;
  /** Consumers on the channel. */
  consumerCount(): number;
  /** basic.qos prefetch (per consumer, or the channel-wide one if set): RabbitMQ's prefetch_count. */
  prefetchCount(): number;
  /** basic.qos global=false: the limit each new consumer gets. */
  consumerPrefetch(): number;
  /** basic.qos global=true: the limit shared by the channel's consumers. */
  channelPrefetch(): number;
  /** Publishes not yet confirmed (confirm mode). */
  unconfirmedCount(): number;
  /** In confirm mode (confirm.select) or transactional (tx.select). */
  readonly mode: 'confirm' | 'tx' | 'none';
}

export interface ChannelIdentity {
  /** The connection's name (`peer -> local`). */
  readonly connectionName: string;
  /** The channel number on that connection. */
  readonly number: number;
  readonly vhost: string;
  readonly user: string;
}

/** Where nacked confirms are totalled (BrokerStats). */
export interface NackTotals {
  confirmNacks: number;
}

export class ChannelStats extends MessageCounters {
  /** Publishes answered with basic.nack (x-overflow reject-publish, a store failure). */
  confirmNacks = 0;
  readonly identity: ChannelIdentity;
  /** Totals of the channel's vhost (the broker's are the sum of its vhosts'). */
  private readonly vhostTotals: MessageCounters;
  private readonly nackTotals: NackTotals;
  /** Set by the channel once it exists. */
  probe: ChannelProbe | null = null;

  constructor(identity: ChannelIdentity, vhostTotals: MessageCounters, nackTotals: NackTotals = { confirmNacks: 0 }) {
    super();
    this.identity = identity;
    this.vhostTotals = vhostTotals;
    this.nackTotals = nackTotals;
  }

  /** RabbitMQ's channel name: `<connection name> (<number>)`. */
  get name(): string {
    return `${this.identity.connectionName} (${this.identity.number})`;
  }

  /** A publish arrived on this channel while in confirm mode. */
  publishedForConfirm(): void {
    this.publishConfirm++;
    this.vhostTotals.publishConfirm++;
  }

  /** `n` publishes were confirmed with basic.ack. */
  confirmed(n: number): void {
    this.confirm += n;
    this.vhostTotals.confirm += n;
  }

  /** A publish was answered with basic.nack. */
  nacked(): void {
    this.confirmNacks++;
    this.nackTotals.confirmNacks++;
  }
}
