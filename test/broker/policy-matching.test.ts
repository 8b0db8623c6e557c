// Which policy applies: unanchored patterns, apply-to, the highest priority, one policy and one
// operator policy per object (never keys from two), re-evaluated on declare and on every change.

import { describe, expect, it } from 'vitest';
import { VHost } from '../../src/broker/vhost.js';
import { policySpecFromJson } from '../../src/broker/policy/policy-json.js';
import type { FieldTable } from '../../src/protocol/field-table.js';
import { ManualClock } from '../../src/util/clock.js';

const owner = {};
const flags = { passive: false, durable: true, exclusive: false, autoDelete: false };

function vhost(): VHost {
  return new VHost('/', new ManualClock());
}

function queue(v: VHost, name: string, args: FieldTable = {}) {
  return v.declareQueue(name, { ...flags, args }, owner).queue;
}

function exchange(v: VHost, name: string, args: FieldTable = {}) {
  return v.declareExchange(name, 'fanout', { passive: false, durable: true, autoDelete: false, internal: false, args });
}

const put = (v: VHost, name: string, body: Record<string, unknown>, operator = false): Promise<'created' | 'updated'> =>
  (operator ? v.operatorPolicies : v.policies).put(name, policySpecFromJson(body));

describe('policy matching', () => {
  it('the pattern is an unanchored regular expression on the name', async () => {
    const v = vhost();
    await put(v, 'mid', { pattern: 'rd', definition: { 'max-length': 1 } });
    const hit = queue(v, 'orders');
    const miss = queue(v, 'o-r-d');
    expect(hit.policyName).toBe('mid');
    expect(hit.policy.maxLength).toBe(1);
    expect(miss.policyName).toBeNull();
    expect(miss.policy.maxLength).toBeUndefined();
    await put(v, 'anchored', { pattern: '^o-', definition: { 'max-length': 2 }, priority: 1 });
    expect(miss.policyName).toBe('anchored');
    expect(hit.policyName).toBe('mid');
  });

  it('apply-to admits queues, exchanges, or one queue type', async () => {
    const v = vhost();
    const classic = queue(v, 'x.classic');
    const quorum = queue(v, 'x.quorum', { 'x-queue-type': 'quorum' });
    const ex = exchange(v, 'x.exchange');
    const cases: [string, string | null, string | null, string | null][] = [
      // apply-to, then the policy the classic queue, quorum queue and exchange get
      ['all', 'p', 'p', 'p'],
      ['queues', 'p', 'p', null],
      ['exchanges', null, null, 'p'],
      ['classic_queues', 'p', null, null],
      ['quorum_queues', null, 'p', null],
      ['streams', null, null, null],
    ];
    for (const [applyTo, c, q, e] of cases) {
      await put(v, 'p', { pattern: '^x\\.', 'apply-to': applyTo, definition: { 'alternate-exchange': 'ae', 'max-length': 5 } });
      expect([classic.policyName, quorum.policyName, ex.policyName], applyTo).toEqual([c, q, e]);
    }
  });

  it('the highest priority wins and only its keys apply (never a merge of two policies)', async () => {
    const v = vhost();
    await put(v, 'low', { pattern: '.*', priority: 1, definition: { 'max-length': 10, 'message-ttl': 500 } });
    await put(v, 'high', { pattern: '^q', priority: 5, definition: { 'max-length': 20 } });
    const q = queue(v, 'q1');
    expect(q.policyName).toBe('high');
    expect(q.policy.maxLength).toBe(20);
    // low's message-ttl does not leak in.
    expect(q.policy.messageTtl).toBeUndefined();
    expect(q.effectivePolicyDefinition()).toEqual({ 'max-length': 20 });
    await put(v, 'low', { pattern: '.*', priority: 9, definition: { 'max-length': 10, 'message-ttl': 500 } });
    expect(q.policyName).toBe('low');
    expect(q.policy.maxLength).toBe(10);
    expect(q.policy.messageTtl).toBe(500);
  });

  it('an operator policy is matched on its own, beside the user policy', async () => {
    const v = vhost();
    await put(v, 'user', { pattern: '.*', definition: { 'max-length': 10 } });
    await put(v, 'op-low', { pattern: '.*', priority: 0, definition: { 'max-length': 4 } }, true);
    await put(v, 'op-high', { pattern: '^q', priority: 3, definition: { 'message-ttl': 100 } }, true);
    const q = queue(v, 'q');
    expect([q.policyName, q.operatorPolicyName]).toEqual(['user', 'op-high']);
    // op-low matches too but loses: its max-length is not merged.
    expect(q.policy.maxLength).toBe(10);
    expect(q.policy.messageTtl).toBe(100);
    expect(q.effectivePolicyDefinition()).toEqual({ 'max-length': 10, 'message-ttl': 100 });
  });

  it('re-evaluated on every change: a deleted or re-patterned policy leaves, the arguments come back', async () => {
    const v = vhost();
    const q = queue(v, 'jobs', { 'x-max-length': 50 });
    await put(v, 'p', { pattern: 'jobs', definition: { 'max-length': 5, expires: 1000 } });
    expect(q.policy.maxLength).toBe(5);
    expect(q.policy.expires).toBe(1000);
    await put(v, 'p', { pattern: 'other', definition: { 'max-length': 5 } });
    expect(q.policyName).toBeNull();
    expect(q.policy.maxLength).toBe(50);
    expect(q.policy.expires).toBeUndefined();
    await put(v, 'p', { pattern: 'jobs', definition: { 'max-length': 7 } });
    expect(q.policy.maxLength).toBe(7);
    expect(await v.policies.delete('p')).toBe(true);
    expect(q.policyName).toBeNull();
    expect(q.effectivePolicyDefinition()).toEqual({});
    expect(q.policy).toBe(q.declared);
  });

  it('a redeclare is checked against the arguments, not the effective values', async () => {
    const v = vhost();
    await put(v, 'p', { pattern: '.*', definition: { 'max-length': 5 } });
    queue(v, 'same', { 'x-max-length': 9 });
    // Equivalent: the stored arguments are compared, the policy is no part of them.
    const again = queue(v, 'same', { 'x-max-length': 9 });
    expect(again.policy.maxLength).toBe(5);
    expect(again.args).toEqual({ 'x-max-length': 9 });
  });

  it('patterns with a leading PCRE option group match as RabbitMQ does', async () => {
    const v = vhost();
    await put(v, 'ci', { pattern: '(?i)^ORDERS', definition: { 'max-length': 1 } });
    expect(queue(v, 'orders.eu').policyName).toBe('ci');
  });

  it('exchanges: the policy alternate-exchange routes unroutable messages; the argument wins over it', async () => {
    const v = vhost();
    const plain = exchange(v, 'plain');
    const withArg = exchange(v, 'with-arg', { 'alternate-exchange': 'from-arg' });
    await put(v, 'ae', { pattern: '.*', 'apply-to': 'exchanges', definition: { 'alternate-exchange': 'from-policy' } });
    expect(plain.alternateExchange).toBe('from-policy');
    expect(withArg.alternateExchange).toBe('from-arg');
    expect(plain.effectivePolicyDefinition()).toEqual({ 'alternate-exchange': 'from-policy' });
    // The nameless default exchange takes no policy.
    expect(v.exchanges.get('')?.policyName).toBeNull();
    expect(v.exchanges.get('amq.direct')?.policyName).toBe('ae');
    await v.policies.delete('ae');
    expect(plain.alternateExchange).toBeUndefined();
    expect(plain.policyName).toBeNull();
  });
});
