// Direct and fanout routing, the routing-table factory, and binding identity.

import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { isExchangeType, EXCHANGE_TYPES, type RoutingTable } from '../../../src/broker/exchange/routing-table.js';
import { createRoutingTable } from '../../../src/broker/exchange/routing-table-factory.js';
import { DirectRoutingTable } from '../../../src/broker/exchange/direct.js';
import { FanoutRoutingTable } from '../../../src/broker/exchange/fanout.js';
import { TopicRoutingTable } from '../../../src/broker/exchange/topic.js';
import { HeadersRoutingTable } from '../../../src/broker/exchange/headers.js';
import { argsIdentity } from '../../../src/broker/exchange/binding-set.js';
import { TypedValue, type FieldTable } from '../../../src/protocol/field-table.js';

function routed<D>(table: RoutingTable<D>, key: string, headers?: FieldTable): D[] {
  const into = new Set<D>();
  table.route(key, headers, into);
  return [...into];
}

describe('routing-table factory', () => {
  it('knows the four built-in types and nothing else', () => {
    for (const t of ['direct', 'fanout', 'topic', 'headers']) expect(isExchangeType(t)).toBe(true);
    for (const t of ['', 'Direct', 'x-delayed-message', 'x-consistent-hash', 'match']) expect(isExchangeType(t)).toBe(false);
    expect(EXCHANGE_TYPES).toEqual(['direct', 'fanout', 'topic', 'headers']);
  });

  it('creates the matching implementation', () => {
    expect(createRoutingTable('direct')).toBeInstanceOf(DirectRoutingTable);
    expect(createRoutingTable('fanout')).toBeInstanceOf(FanoutRoutingTable);
    expect(createRoutingTable('topic')).toBeInstanceOf(TopicRoutingTable);
    expect(createRoutingTable('headers')).toBeInstanceOf(HeadersRoutingTable);
  });
});

describe('binding identity (all exchange types)', () => {
  it.each(EXCHANGE_TYPES)('%s: (destination, key, args) is the identity', (type) => {
    const t = createRoutingTable<string>(type);
    expect(t.bind('q', 'k', {})).toBe(true);
    expect(t.bind('q', 'k', {})).toBe(false);
    expect(t.bind('q', 'k', { a: 1 })).toBe(true);
    expect(t.bind('q', 'k', { a: new TypedValue('l', 1) })).toBe(true); // other wire type: other args
    expect(t.bind('q', 'k2', {})).toBe(true);
    expect(t.bind('q2', 'k', {})).toBe(true);
    expect(t.size).toBe(5);
    expect(t.unbind('q', 'k', { a: 2 })).toBe(false);
    expect(t.unbind('q3', 'k', {})).toBe(false);
    expect(t.unbind('q', 'k', { a: 1 })).toBe(true);
    expect(t.size).toBe(4);
    expect(t.removeDestination('q')).toBe(3);
    expect(t.removeDestination('q')).toBe(0);
    expect([...t.bindings()]).toEqual([{ destination: 'q2', routingKey: 'k', args: {} }]);
    expect(t.size).toBe(1);
  });

  it('args identity ignores key order but not values, types or nesting', () => {
    expect(argsIdentity({})).toBe('');
    expect(argsIdentity({ a: 1, b: 'x' })).toBe(argsIdentity({ b: 'x', a: 1 }));
    expect(argsIdentity({ a: 1 })).not.toBe(argsIdentity({ a: 2 }));
    expect(argsIdentity({ a: 1 })).not.toBe(argsIdentity({ a: '1' }));
    expect(argsIdentity({ a: 'x' })).not.toBe(argsIdentity({ a: Buffer.from('x') }));
    expect(argsIdentity({ a: { b: 1 } })).not.toBe(argsIdentity({ a: [1] }));
  });

  it('args identity is order-independent (property)', () => {
    const value = fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null));
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 10 }), value), (dict) => {
        const reversed: FieldTable = {};
        for (const k of Object.keys(dict).reverse()) reversed[k] = dict[k] ?? null;
        expect(argsIdentity(reversed)).toBe(argsIdentity(dict));
      }),
    );
  });
});

describe('direct routing', () => {
  it('routes on exact key equality only', () => {
    const t = new DirectRoutingTable<string>();
    t.bind('q1', 'a', {});
    t.bind('q2', 'a', {});
    t.bind('q3', 'b', {});
    t.bind('q4', '', {});
    t.bind('q5', 'a.*', {});
    expect(routed(t, 'a').sort()).toEqual(['q1', 'q2']);
    expect(routed(t, 'A')).toEqual([]);
    expect(routed(t, 'a.b')).toEqual([]);
    expect(routed(t, 'a.*')).toEqual(['q5']);
    expect(routed(t, '')).toEqual(['q4']);
    expect(routed(t, 'b', { anything: 1 })).toEqual(['q3']);
  });

  it('keeps routing while another binding with the same key and destination remains', () => {
    const t = new DirectRoutingTable<string>();
    t.bind('q', 'a', { v: 1 });
    t.bind('q', 'a', { v: 2 });
    expect(routed(t, 'a')).toEqual(['q']);
    t.unbind('q', 'a', { v: 1 });
    expect(routed(t, 'a')).toEqual(['q']);
    t.unbind('q', 'a', { v: 2 });
    expect(routed(t, 'a')).toEqual([]);
  });

  it('handles many bindings and removal', () => {
    const t = new DirectRoutingTable<number>();
    for (let i = 0; i < 20_000; i++) t.bind(i, `key-${i % 1000}`, {});
    expect(t.size).toBe(20_000);
    expect(routed(t, 'key-7').length).toBe(20);
    for (let i = 0; i < 20_000; i += 2) expect(t.removeDestination(i)).toBe(1);
    expect(routed(t, 'key-7').length).toBe(20); // 7 mod 1000 keeps odd destinations only
    expect(routed(t, 'key-8').length).toBe(0);
    expect(t.size).toBe(10_000);
  });

  it('routes exactly the destinations bound with the key (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.constantFrom('a', 'b', 'c', ''))), fc.constantFrom('a', 'b', 'c', ''), (binds, key) => {
        const t = new DirectRoutingTable<number>();
        for (const [d, k] of binds) t.bind(d, k, {});
        const expected = new Set(binds.filter(([, k]) => k === key).map(([d]) => d));
        expect(new Set(routed(t, key))).toEqual(expected);
      }),
    );
  });
});

describe('fanout routing', () => {
  it('routes to every destination whatever the key, once each', () => {
    const t = new FanoutRoutingTable<string>();
    t.bind('q1', '', {});
    t.bind('q1', 'other', {});
    t.bind('q2', 'x', { a: 1 });
    expect(routed(t, 'anything').sort()).toEqual(['q1', 'q2']);
    expect(routed(t, '').sort()).toEqual(['q1', 'q2']);
  });

  it('stops routing to a destination only when its last binding goes', () => {
    const t = new FanoutRoutingTable<string>();
    t.bind('q1', '', {});
    t.bind('q1', 'k', {});
    t.unbind('q1', '', {});
    expect(routed(t, 'z')).toEqual(['q1']);
    t.unbind('q1', 'k', {});
    expect(routed(t, 'z')).toEqual([]);
    expect(t.size).toBe(0);
  });

  it('removeDestination counts every binding of the destination', () => {
    const t = new FanoutRoutingTable<string>();
    t.bind('q1', 'a', {});
    t.bind('q1', 'b', {});
    t.bind('q2', 'a', {});
    expect(t.removeDestination('q1')).toBe(2);
    expect(routed(t, '')).toEqual(['q2']);
  });
});
