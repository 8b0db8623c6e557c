// Rates for `*_details.rate` come from the 5 s sampler on the injected clock, and message_stats
// renders counts and rates under RabbitMQ's key names.

import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/util/clock.js';
import { MessageCounters, QUEUE_STAT_KEYS, rateOf } from '../../../src/broker/stats/message-counters.js';
import { RateSampler } from '../../../src/broker/stats/rate-sampler.js';
import { messageStatsJson } from '../../../src/broker/stats/message-stats-json.js';
import { MessageSizes } from '../../../src/broker/stats/message-sizes.js';
import { ChurnCounters } from '../../../src/broker/stats/churn.js';

describe('RateSampler', () => {
  it('gives per-second rates over the last 5 s interval, back to 0 when idle', () => {
    const clock = new ManualClock();
    const c = new MessageCounters();
    const sampler = new RateSampler(clock, () => [c][Symbol.iterator]());
    sampler.start();
    c.publish += 50;
    c.ack += 10;
    clock.advance(5000);
    expect(rateOf(c, 'publish')).toBe(10);
    expect(rateOf(c, 'ack')).toBe(2);
    clock.advance(5000);
    expect(rateOf(c, 'publish')).toBe(0);
    sampler.stop();
    c.publish += 100;
    clock.advance(5000);
    expect(rateOf(c, 'publish')).toBe(0); // stopped: no sample taken
  });
});

describe('messageStatsJson', () => {
  it("renders counts with <key>_details.rate, deliver_get as the sum of the deliveries", () => {
    const clock = new ManualClock();
    const c = new MessageCounters();
    const sampler = new RateSampler(clock, () => [c][Symbol.iterator]());
    sampler.sample();
    c.publish = 25;
    c.deliver = 5;
    c.deliverNoAck = 5;
    c.get = 2;
    c.getNoAck = 3;
    clock.advance(5000);
    sampler.sample();
    const json = messageStatsJson(c, { keys: QUEUE_STAT_KEYS });
    expect(json['publish']).toBe(25);
    expect(json['publish_details']).toEqual({ rate: 5 });
    expect(json['deliver_get']).toBe(15);
    expect(json['deliver_get_details']).toEqual({ rate: 3 });
    expect(json['get_empty']).toBe(0);
    expect(json).not.toHaveProperty('confirm');
    expect(json).not.toHaveProperty('publish_in');
    const sparse = messageStatsJson(c, { keys: QUEUE_STAT_KEYS, omitZero: true });
    expect(Object.keys(sparse)).not.toContain('ack');
    expect(Object.keys(sparse)).toContain('get_no_ack_details');
  });
});

describe('MessageSizes', () => {
  it('puts sizes in RabbitMQ buckets, cumulative for Prometheus', () => {
    const h = new MessageSizes();
    for (const s of [0, 100, 101, 5000, 200_000_000]) h.observe(s);
    expect(h.count).toBe(5);
    expect(h.sum).toBe(200_005_201);
    // le=100, 1000, 10000, 1e5, 1e6, 1e7, 5e7, 1e8, +Inf
    expect(h.cumulative()).toEqual([2, 3, 4, 4, 4, 4, 4, 4, 5]);
  });
});

describe('churn rates', () => {
  it('renders churn_rates with per-second rates between samples', () => {
    const churn = new ChurnCounters();
    churn.sample(0);
    churn.connectionCreated += 10;
    churn.sample(5000);
    const json = churn.toJson();
    expect(json['connection_created']).toBe(10);
    expect(json['connection_created_details']).toEqual({ rate: 2 });
    expect(json['queue_deleted_details']).toEqual({ rate: 0 });
  });
});

describe('RateSampler over many counter sets', () => {
  it('skips sets that never counted, and samples a large number a slice per turn', async () => {
    const clock = new ManualClock();
    const sets = Array.from({ length: 12_000 }, () => new MessageCounters());
    const sampler = new RateSampler(clock, () => sets[Symbol.iterator]());
    sampler.sample();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(sets.every((c) => c.sample === null)).toBe(true); // idle: no memory spent
    (sets[11_999] as MessageCounters).publish = 25;
    clock.advance(5000);
    sampler.sample();
    // 12,000 sets in slices of 5,000: the last one is reached on the third turn.
    expect(rateOf(sets[11_999] as MessageCounters, 'publish')).toBe(0);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(rateOf(sets[11_999] as MessageCounters, 'publish')).toBe(5);
    expect(sets.filter((c) => c.sample !== null).length).toBe(1);
  });
});
