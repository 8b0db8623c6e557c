// Argument vs policy vs operator policy, key by key: the effective value a queue (or exchange)
// acts on, and the merged definition it reports. Rules as RabbitMQ's (3.10 checked live for
// max-length, overflow and the merged definition; delivery-limit and consumer-timeout as 4.x).

import { describe, expect, it } from 'vitest';
import { VHost } from '../../src/broker/vhost.js';
import type { QueuePolicy } from '../../src/broker/queue/arguments.js';
import { policySpecFromJson } from '../../src/broker/policy/policy-json.js';
import type { FieldTable } from '../../src/protocol/field-table.js';
import { ManualClock } from '../../src/util/clock.js';

type Def = Record<string, unknown>;

interface Row {
  key: string;
  field: keyof QueuePolicy;
  args: FieldTable;
  policy: Def | null;
  operator: Def | null;
  expected: unknown;
  quorum?: boolean;
}

const row = (key: string, field: keyof QueuePolicy, args: FieldTable, policy: Def | null, operator: Def | null, expected: unknown, quorum = false): Row =>
  ({ key, field, args, policy, operator, expected, quorum });

/** Keys where the lowest of argument, policy and operator policy wins. */
const MIN_KEYS: [string, string, keyof QueuePolicy][] = [
  ['message-ttl', 'x-message-ttl', 'messageTtl'],
  ['expires', 'x-expires', 'expires'],
  ['max-length', 'x-max-length', 'maxLength'],
  ['max-length-bytes', 'x-max-length-bytes', 'maxLengthBytes'],
  ['consumer-timeout', 'x-consumer-timeout', 'consumerTimeout'],
];

const rows: Row[] = [];
for (const [key, arg, field] of MIN_KEYS) {
  // consumer-timeout is not an operator policy key.
  const op = key === 'consumer-timeout' ? null : { [key]: 300 };
  const opWins = key === 'consumer-timeout' ? 400 : 300;
  rows.push(
    row(key, field, {}, null, null, undefined),
    row(key, field, { [arg]: 700 }, null, null, 700),
    row(key, field, {}, { [key]: 400 }, null, 400),
    row(key, field, { [arg]: 700 }, { [key]: 400 }, null, 400),
    row(key, field, { [arg]: 200 }, { [key]: 400 }, null, 200),
    row(key, field, {}, { [key]: 400 }, op, opWins),
    row(key, field, { [arg]: 100 }, { [key]: 400 }, op, 100),
  );
  if (op !== null) rows.push(row(key, field, {}, null, op, 300));
}
rows.push(
  // overflow: a classic queue keeps its argument, a quorum queue takes the policy; the operator's wins over the policy.
  row('overflow', 'overflow', {}, { overflow: 'reject-publish' }, null, 'reject-publish'),
  row('overflow', 'overflow', { 'x-overflow': 'reject-publish' }, { overflow: 'drop-head' }, null, 'reject-publish'),
  row('overflow', 'overflow', { 'x-overflow': 'reject-publish' }, { overflow: 'drop-head' }, null, 'drop-head', true),
  row('overflow', 'overflow', {}, { overflow: 'drop-head' }, { overflow: 'reject-publish-dlx' }, 'reject-publish-dlx'),
  row('overflow', 'overflow', {}, null, { overflow: 'reject-publish' }, 'reject-publish'),
  // dead-lettering: the argument wins, key by key.
  row('dead-letter-exchange', 'deadLetterExchange', {}, { 'dead-letter-exchange': 'pol' }, null, 'pol'),
  row('dead-letter-exchange', 'deadLetterExchange', { 'x-dead-letter-exchange': 'arg' }, { 'dead-letter-exchange': 'pol' }, null, 'arg'),
  row('dead-letter-exchange', 'deadLetterExchange', { 'x-dead-letter-exchange': 'arg' }, { 'dead-letter-exchange': 'pol' }, null, 'arg', true),
  row('dead-letter-routing-key', 'deadLetterRoutingKey', { 'x-dead-letter-exchange': 'arg' }, { 'dead-letter-routing-key': 'pk' }, null, 'pk'),
  row('dead-letter-routing-key', 'deadLetterRoutingKey', { 'x-dead-letter-exchange': 'a', 'x-dead-letter-routing-key': 'ak' }, { 'dead-letter-routing-key': 'pk' }, null, 'ak'),
  // delivery-limit, on every queue type: the lower wins, a negative one (no limit) loses.
  row('delivery-limit', 'deliveryLimit', {}, null, null, undefined),
  row('delivery-limit', 'deliveryLimit', {}, { 'delivery-limit': 3 }, null, 3),
  row('delivery-limit', 'deliveryLimit', { 'x-delivery-limit': 5 }, { 'delivery-limit': 3 }, null, 3),
  row('delivery-limit', 'deliveryLimit', { 'x-delivery-limit': 2 }, { 'delivery-limit': 3 }, null, 2),
  row('delivery-limit', 'deliveryLimit', { 'x-delivery-limit': 5 }, { 'delivery-limit': -1 }, null, 5),
  row('delivery-limit', 'deliveryLimit', {}, { 'delivery-limit': -1 }, null, undefined),
  row('delivery-limit', 'deliveryLimit', {}, { 'delivery-limit': 5 }, { 'delivery-limit': 2 }, 2),
  row('delivery-limit', 'deliveryLimit', {}, { 'delivery-limit': 5 }, { 'delivery-limit': -1 }, 5),
  row('delivery-limit', 'deliveryLimit', {}, null, null, 20, true),
  row('delivery-limit', 'deliveryLimit', {}, { 'delivery-limit': 7 }, null, 7, true),
  row('delivery-limit', 'deliveryLimit', {}, { 'delivery-limit': 50 }, null, 50, true),
  row('delivery-limit', 'deliveryLimit', {}, { 'delivery-limit': -1 }, null, undefined, true),
);

const owner = {};

function label(r: Row): string {
  return `${r.quorum === true ? 'quorum' : 'classic'} ${r.key}: args ${JSON.stringify(r.args)}, policy ${JSON.stringify(r.policy)}, operator ${JSON.stringify(r.operator)} → ${String(r.expected)}`;
}

describe('argument vs policy vs operator policy', () => {
  it.each(rows.map((r) => [label(r), r] as const))('%s', async (_l, r) => {
    const v = new VHost('/', new ManualClock());
    if (r.policy !== null) await v.policies.put('p', policySpecFromJson({ pattern: '.*', definition: r.policy }));
    if (r.operator !== null) await v.operatorPolicies.put('o', policySpecFromJson({ pattern: '.*', definition: r.operator }));
    const args = r.quorum === true ? { ...r.args, 'x-queue-type': 'quorum' } : r.args;
    // Declared after the policies, and one declared before them: both end with the same values.
    const before = new VHost('/', new ManualClock());
    const early = before.declareQueue('q', { passive: false, durable: true, exclusive: false, autoDelete: false, args }, owner).queue;
    if (r.policy !== null) await before.policies.put('p', policySpecFromJson({ pattern: '.*', definition: r.policy }));
    if (r.operator !== null) await before.operatorPolicies.put('o', policySpecFromJson({ pattern: '.*', definition: r.operator }));
    const late = v.declareQueue('q', { passive: false, durable: true, exclusive: false, autoDelete: false, args }, owner).queue;
    expect(late.policy[r.field]).toBe(r.expected);
    expect(early.policy[r.field]).toBe(r.expected);
    expect(late.policyName).toBe(r.policy === null ? null : 'p');
    expect(late.operatorPolicyName).toBe(r.operator === null ? null : 'o');
  });

  it('the merged definition: both policies\' keys, shared limits at the lower, overflow the operator\'s (3.10 live)', async () => {
    const v = new VHost('/', new ManualClock());
    await v.policies.put('pm', policySpecFromJson({ pattern: '^pm-', definition: { 'max-length': 5, 'message-ttl': 100000, overflow: 'drop-head' } }));
    await v.operatorPolicies.put('opm', policySpecFromJson({ pattern: '^pm-', definition: { 'max-length': 3, expires: 900000 } }));
    const q = v.declareQueue('pm-a', { passive: false, durable: true, exclusive: false, autoDelete: false, args: { 'x-overflow': 'reject-publish' } }, owner).queue;
    expect(q.effectivePolicyDefinition()).toEqual({ expires: 900000, 'max-length': 3, 'message-ttl': 100000, overflow: 'drop-head' });
    expect(Object.keys(q.effectivePolicyDefinition())).toEqual(['expires', 'max-length', 'message-ttl', 'overflow']);
    // Acts on: the argument's overflow, the lowest max-length.
    expect([q.policy.overflow, q.policy.maxLength, q.policy.messageTtl, q.policy.expires]).toEqual(['reject-publish', 3, 100000, 900000]);
    await v.operatorPolicies.put('opm', policySpecFromJson({ pattern: '^pm-', definition: { overflow: 'reject-publish-dlx', 'delivery-limit': 4 } }));
    expect(q.effectivePolicyDefinition()).toEqual({ 'delivery-limit': 4, 'max-length': 5, 'message-ttl': 100000, overflow: 'reject-publish-dlx' });
  });

  it('queue-mode and queue-version are accepted and change nothing', async () => {
    const v = new VHost('/', new ManualClock());
    await v.policies.put('lazy', policySpecFromJson({ pattern: '.*', definition: { 'queue-mode': 'lazy', 'queue-version': 2 } }));
    const q = v.declareQueue('q', { passive: false, durable: true, exclusive: false, autoDelete: false, args: {} }, owner).queue;
    expect(q.policyName).toBe('lazy');
    expect(q.policy).toEqual(q.declared);
  });

  it('settings no policy can set stay as declared (type, priorities, single active consumer)', async () => {
    const v = new VHost('/', new ManualClock());
    await v.policies.put('p', policySpecFromJson({ pattern: '.*', definition: { 'max-length': 1 } }));
    const q = v.declareQueue('q', { passive: false, durable: true, exclusive: false, autoDelete: false, args: { 'x-max-priority': 5, 'x-single-active-consumer': true } }, owner).queue;
    expect([q.policy.type, q.policy.maxPriority, q.policy.singleActiveConsumer, q.policy.maxLength]).toEqual(['classic', 5, true, 1]);
  });
});
