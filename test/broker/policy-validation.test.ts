// Policy validation: the reasons RabbitMQ 3.10's HTTP API gives (checked live), for user policies
// and operator policies, and that nothing refused is stored or written.

import { describe, expect, it } from 'vitest';
import { VHost } from '../../src/broker/vhost.js';
import { PolicyError, type PolicySpec } from '../../src/broker/policy/policy-spec.js';
import { validatePolicy } from '../../src/broker/policy/validation.js';
import { policySpecFromJson } from '../../src/broker/policy/policy-json.js';
import { ManualClock } from '../../src/util/clock.js';

function spec(definition: unknown, extra: Record<string, unknown> = {}): PolicySpec {
  return policySpecFromJson({ pattern: 'a', definition, ...extra });
}

function reason(kind: 'policy' | 'operator', s: PolicySpec): string {
  try {
    validatePolicy(kind, s);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return (err as Error).message;
  }
  throw new Error('expected the policy to be refused');
}

const failed = (why: string): string => `Validation failed\n\n${why}\n`;

describe('policy validation (RabbitMQ 3.10 texts)', () => {
  it.each([
    [{ foo: 1, bar: 'x' }, '[{<<"bar">>,<<"x">>},{<<"foo">>,1}] are not recognised policy settings'],
    [{ a: 'é' }, '[{<<"a">>,<<"é">>}] are not recognised policy settings'],
    [{ 'federation-upstream': 'x' }, '[{<<"federation-upstream">>,<<"x">>}] are not recognised policy settings'],
    [{ 'ha-mode': 'all' }, '[{<<"ha-mode">>,<<"all">>}] are not recognised policy settings'],
    [{ 'message-ttl': -1 }, '-1 is not a valid message TTL'],
    [{ 'message-ttl': '5' }, '<<"5">> is not a valid message TTL'],
    [{ expires: 0 }, '0 is not a valid queue expiry'],
    [{ 'max-length': { a: 1 } }, '#{<<"a">> => 1} is not a valid maximum length'],
    [{ 'max-length': [1, 'a'] }, '[1,<<"a">>] is not a valid maximum length'],
    [{ 'max-length': true }, 'true is not a valid maximum length'],
    [{ 'max-length': null }, 'null is not a valid maximum length'],
    [{ 'max-length': 1.5 }, '1.5 is not a valid maximum length'],
    // A known key's bad value is reported before unknown keys.
    [{ zzz: 1, 'max-length': -1 }, '-1 is not a valid maximum length'],
    [{ 'max-length-bytes': -1 }, '-1 is not a valid maximum length in bytes'],
    [{ 'alternate-exchange': 5 }, '5 is not a valid alternate exchange name'],
    [{ 'dead-letter-exchange': 5 }, '5 is not a valid dead letter exchange name'],
    [{ 'dead-letter-routing-key': 1 }, '1 is not a valid dead letter routing key'],
    [{ 'queue-mode': 'x' }, '<<"x">> is not a valid queue-mode value'],
    [{ overflow: 5 }, '5 is not a valid overflow value'],
    [{ 'queue-version': 3 }, '3 is not a valid queue-version value'],
    [{ 'max-in-memory-length': -1 }, '-1 is not a valid maximum memory in bytes'],
    // Keys in byte order: delivery-limit is checked before max-length and overflow.
    [{ overflow: 'x', 'max-length': -1, 'delivery-limit': 1.5 }, '1.5 is not a valid delivery limit'],
    [{}, 'no policy provided'],
    [[1], 'definition must be a dictionary: [1]'],
    [{ 'consumer-timeout': -5 }, '-5 is not a valid consumer timeout'],
  ])('%j → %s', (definition, why) => {
    expect(reason('policy', spec(definition))).toBe(failed(why));
  });

  it('refuses a bad priority, pattern or apply-to with RabbitMQ words', () => {
    expect(reason('policy', spec({ 'max-length': 1 }, { priority: 'x' }))).toBe(failed('priority should be a number, actually was <<"x">>'));
    expect(reason('policy', spec({ 'max-length': 1 }, { pattern: '(' }))).toMatch(/^Validation failed\n\npattern should be regular expression but is invalid: /);
    expect(reason('policy', spec({ 'max-length': 1 }, { 'apply-to': 'foo' }))).toBe(
      failed("apply-to 'foo' unrecognised; should be one of: 'queues', 'classic_queues',  'quorum_queues', 'streams', 'exchanges', or 'all'"),
    );
  });

  it('accepts what RabbitMQ accepts, normalised (defaults, keys in order)', () => {
    const ok = validatePolicy('policy', spec({ 'message-ttl': 315360000001, 'dead-letter-routing-key': 'x', 'queue-mode': 'lazy', 'delivery-limit': -1, 'consumer-timeout': 5 }));
    expect(ok).toEqual({
      pattern: 'a',
      applyTo: 'all',
      priority: 0,
      definition: { 'consumer-timeout': 5, 'dead-letter-routing-key': 'x', 'delivery-limit': -1, 'message-ttl': 315360000001, 'queue-mode': 'lazy' },
    });
    expect(Object.keys(ok.definition)).toEqual(['consumer-timeout', 'dead-letter-routing-key', 'delivery-limit', 'message-ttl', 'queue-mode']);
    for (const applyTo of ['all', 'queues', 'exchanges', 'classic_queues', 'quorum_queues', 'streams']) {
      expect(validatePolicy('policy', spec({ 'max-length': 1 }, { 'apply-to': applyTo })).applyTo).toBe(applyTo);
    }
  });

  it('operator policies take only the limit keys', () => {
    expect(reason('operator', spec({ 'dead-letter-exchange': 'x' }))).toBe(failed('[{<<"dead-letter-exchange">>,<<"x">>}] are not recognised policy settings'));
    expect(reason('operator', spec({ 'consumer-timeout': 1, 'alternate-exchange': 'x' }))).toBe(
      failed('[{<<"alternate-exchange">>,<<"x">>},{<<"consumer-timeout">>,1}] are not recognised policy settings'),
    );
    const keys = ['expires', 'message-ttl', 'max-length', 'max-length-bytes', 'max-in-memory-length', 'max-in-memory-bytes', 'delivery-limit'];
    for (const k of keys) expect(validatePolicy('operator', spec({ [k]: 5 })).definition).toEqual({ [k]: 5 });
    expect(validatePolicy('operator', spec({ overflow: 'reject-publish' })).definition).toEqual({ overflow: 'reject-publish' });
  });

  it('a refused put stores nothing and leaves the existing policy as it was', async () => {
    const v = new VHost('/', new ManualClock());
    expect(await v.policies.put('p', spec({ 'max-length': 3 }))).toBe('created');
    await expect(v.policies.put('p', spec({ 'max-length': -3 }))).rejects.toThrow(PolicyError);
    await expect(v.policies.put('q', spec({ nope: 1 }))).rejects.toThrow('are not recognised policy settings');
    await expect(v.operatorPolicies.put('o', spec({ 'alternate-exchange': 'x' }))).rejects.toThrow(PolicyError);
    expect(v.policies.list()).toEqual([{ name: 'p', pattern: 'a', applyTo: 'all', priority: 0, definition: { 'max-length': 3 } }]);
    expect(v.operatorPolicies.list()).toEqual([]);
    expect(await v.policies.put('p', spec({ 'max-length': 4 }))).toBe('updated');
    expect(v.policies.get('p')?.definition).toEqual({ 'max-length': 4 });
    expect(await v.policies.delete('p')).toBe(true);
    expect(await v.policies.delete('p')).toBe(false);
    expect(v.policies.get('p')).toBeUndefined();
  });
});
