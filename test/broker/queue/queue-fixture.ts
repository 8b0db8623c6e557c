// A Queue on its own, without a broker: a classic policy with every argument unset, a host that
// does nothing unless a test overrides the callbacks it watches, and one-frame messages.

import { Queue, type QueueHost } from '../../../src/broker/queue/queue.js';
import { Message } from '../../../src/broker/message.js';
import type { QueuePolicy } from '../../../src/broker/queue/arguments.js';
import { ManualClock } from '../../../src/util/clock.js';
import { MessageCounters } from '../../../src/broker/stats/message-counters.js';

/** What queue.declare with no arguments gives. */
export const DEFAULT_POLICY: QueuePolicy = {
  type: 'classic',
  messageTtl: undefined,
  expires: undefined,
  maxLength: undefined,
  maxLengthBytes: undefined,
  overflow: 'drop-head',
  deadLetterExchange: undefined,
  deadLetterRoutingKey: undefined,
  maxPriority: undefined,
  singleActiveConsumer: false,
  deliveryLimit: undefined,
  consumerTimeout: undefined,
  deduplication: false,
  dedupCacheSize: undefined,
  dedupCacheTtl: undefined,
};

/** A host at time 0 that stores and pages nothing; `overrides` replace the callbacks a test watches. */
export function queueHost(overrides: Partial<QueueHost> = {}): QueueHost {
  return {
    now: () => 0,
    clock: new ManualClock(0),
    onQueueUnused: () => undefined,
    onEntryRemoved: () => undefined,
    deadLetter: () => undefined,
    deliveryFailed: () => undefined,
    persist: () => -1,
    onDelivered: () => undefined,
    canPage: false,
    pageAfterMessages: 1_000_000,
    spill: () => -1,
    loadPaged: () => null,
    dropPaged: () => undefined,
    stats: new MessageCounters(),
    ...overrides,
  };
}

/** A transient, non-exclusive queue 'q' on `host`, with `policy` over the defaults. */
export function newQueue(host: QueueHost, policy: Partial<QueuePolicy> = {}): Queue {
  return new Queue('q', { durable: false, exclusive: false, autoDelete: false, args: {}, policy: { ...DEFAULT_POLICY, ...policy }, owner: null }, host);
}

/** A message for queue 'q' whose body is `body` (a content header with body size only). */
export function message(body: string): Message {
  const header = Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, body.length, 0, 0]);
  return new Message('', 'q', header, [Buffer.from(body)], body.length);
}
