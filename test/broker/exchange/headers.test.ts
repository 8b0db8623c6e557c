// Headers routing: the four x-match modes, typed value equality, void bindings, and binding validation.

import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  HeadersRoutingTable,
  headersBindingError,
  headersMatch,
  routingValuesEqual,
  xMatchOf,
} from '../../../src/broker/exchange/headers.js';
import { Decimal, TypedValue, type FieldTable, type FieldValue } from '../../../src/protocol/field-table.js';

function routed(table: HeadersRoutingTable<string>, headers: FieldTable | undefined): string[] {
  const into = new Set<string>();
  table.route('ignored', headers, into);
  return [...into].sort();
}

describe('headers routing: x-match modes', () => {
  const table = new HeadersRoutingTable<string>();
  table.bind('all', '', { 'x-match': 'all', format: 'pdf', type: 'report' });
  table.bind('default', '', { format: 'pdf', type: 'report' });
  table.bind('any', '', { 'x-match': 'any', format: 'pdf', type: 'report' });
  table.bind('all-x', '', { 'x-match': 'all-with-x', format: 'pdf', 'x-tenant': 'acme' });
  table.bind('any-x', '', { 'x-match': 'any-with-x', 'x-tenant': 'acme', type: 'log' });
  table.bind('all-ignores-x', '', { 'x-match': 'all', format: 'pdf', 'x-tenant': 'acme' });
  table.bind('any-ignores-x', '', { 'x-match': 'any', 'x-tenant': 'acme', type: 'log' });

  const cases: [FieldTable | undefined, string[]][] = [
    [{ format: 'pdf', type: 'report' }, ['all', 'all-ignores-x', 'any', 'default']],
    [{ format: 'pdf', type: 'report', extra: 1 }, ['all', 'all-ignores-x', 'any', 'default']],
    [{ format: 'pdf' }, ['all-ignores-x', 'any']],
    [{ format: 'pdf', 'x-tenant': 'acme' }, ['all-ignores-x', 'all-x', 'any', 'any-x']],
    [{ format: 'pdf', 'x-tenant': 'other' }, ['all-ignores-x', 'any']],
    [{ type: 'log' }, ['any-ignores-x', 'any-x']],
    [{ 'x-tenant': 'acme' }, ['any-x']],
    [{ format: 'zip', type: 'log' }, ['any-ignores-x', 'any-x']],
    [{}, []],
    [undefined, []],
  ];
  it.each(cases)('headers %j -> %j', (headers, expected) => {
    expect(routed(table, headers)).toEqual(expected);
  });
});

describe('headers routing: bindings with nothing to compare', () => {
  it('all with no considered keys matches every message; any matches none', () => {
    const t = new HeadersRoutingTable<string>();
    t.bind('empty', '', {});
    t.bind('all', '', { 'x-match': 'all', 'x-ignored': 1 });
    t.bind('any', '', { 'x-match': 'any', 'x-ignored': 1 });
    t.bind('all-x-only-xmatch', '', { 'x-match': 'all-with-x' });
    t.bind('any-x-only-xmatch', '', { 'x-match': 'any-with-x' });
    expect(routed(t, undefined)).toEqual(['all', 'all-x-only-xmatch', 'empty']);
    expect(routed(t, { 'x-ignored': 1, 'x-match': 'any' })).toEqual(['all', 'all-x-only-xmatch', 'empty']);
  });

  it('x-match itself is never compared, even by the -with-x modes', () => {
    expect(headersMatch({ 'x-match': 'all-with-x', a: 1 }, { a: 1 })).toBe(true);
    expect(headersMatch({ 'x-match': 'any-with-x' }, { 'x-match': 'any-with-x' })).toBe(false);
  });
});

describe('headers routing: void binding values mean presence', () => {
  it.each([
    [{ 'x-match': 'all', k: null }, { k: 'anything' }, true],
    [{ 'x-match': 'all', k: null }, { k: null }, true],
    [{ 'x-match': 'all', k: null }, { other: 1 }, false],
    [{ 'x-match': 'any', k: null, j: 1 }, { k: false }, true],
    [{ 'x-match': 'any', k: null, j: 1 }, { j: 2 }, false],
    [{ 'x-match': 'all', k: null, j: 1 }, { k: 0, j: 1 }, true],
    [{ 'x-match': 'all', k: 'v' }, { k: null }, false],
    [{ 'x-match': 'all-with-x', 'x-k': null }, { 'x-k': [1, 2] }, true],
    [{ 'x-match': 'all', 'x-k': null }, {}, true],
  ] as [FieldTable, FieldTable, boolean][])('binding %j, headers %j -> %s', (args, headers, expected) => {
    expect(headersMatch(args, headers)).toBe(expected);
  });

  it('only own header properties count as present', () => {
    expect(headersMatch({ constructor: null }, {})).toBe(false);
    expect(headersMatch({ toString: null }, { toString: 'x' })).toBe(true);
    expect(headersMatch({ 'x-match': 'any', hasOwnProperty: null }, {})).toBe(false);
  });
});

describe('headers routing: value equality', () => {
  const int = (tag: string, v: number | bigint): TypedValue => new TypedValue(tag, v);
  const cases: [label: string, binding: FieldValue, header: FieldValue, equal: boolean][] = [
    ['int32 vs int32', 5, 5, true],
    ['int32 vs other int32', 5, 6, false],
    ['int8 vs int64', int('b', 5), int('l', 5), true],
    ['uint8 vs int32', int('B', 200), 200, true],
    ['int16 vs uint16', int('s', 7), int('u', 7), true],
    ['uint32 vs plain', int('i', 4000000000), 4000000000, true],
    ['bigint vs safe int', 2n ** 40n, 2 ** 40, true],
    ['bigint beyond safe range', 2n ** 62n, 2n ** 62n, true],
    ['bigint beyond safe range, other', 2n ** 62n, 2n ** 62n + 1n, false],
    ['int vs float of same value', 1, int('d', 1), false],
    ['float vs int of same value', int('d', 1), 1, false],
    ['float64 vs float64', 1.5, 1.5, true],
    ['float32 vs float64, exact value', int('f', 1.5), 1.5, true],
    ['float32 vs float64, inexact value', int('f', Math.fround(0.1)), 0.1, false],
    ['double typed vs double typed', int('d', 3), int('d', 3), true],
    ['string vs string', 'pdf', 'pdf', true],
    ['string is case sensitive', 'pdf', 'PDF', false],
    ['string vs byte array, same bytes', 'pdf', Buffer.from('pdf'), true],
    ['byte array vs string, same bytes', Buffer.from('caf\u00e9'), 'caf\u00e9', true],
    ['byte array vs byte array', Buffer.from([1, 2]), Buffer.from([1, 2]), true],
    ['byte array vs other byte array', Buffer.from([1, 2]), Buffer.from([1, 3]), false],
    ['string vs number', '1', 1, false],
    ['number vs string', 1, '1', false],
    ['bool vs bool', true, true, true],
    ['bool vs other bool', true, false, false],
    ['bool vs int', true, 1, false],
    ['int vs bool', 0, false, false],
    ['decimal vs decimal', new Decimal(2, 150), new Decimal(2, 150), true],
    ['decimal vs decimal of other scale', new Decimal(2, 150), new Decimal(1, 15), false],
    ['decimal vs number', new Decimal(0, 1), 1, false],
    ['array vs equal array', [1, 'a', true], [1, 'a', true], true],
    ['array vs array of other element types', [1], [int('l', 1)], false],
    ['array: byte array vs string elements differ', ['a'], [Buffer.from('a')], false],
    ['array vs longer array', [1], [1, 2], false],
    ['array vs string', ['a'], 'a', false],
    ['nested arrays', [[1, 2], []], [[1, 2], []], true],
    ['table vs equal table', { a: 1, b: 'x' }, { a: 1, b: 'x' }, true],
    ['table vs table in other order', { a: 1, b: 'x' }, { b: 'x', a: 1 }, false],
    ['table vs table with other value', { a: 1 }, { a: 2 }, false],
    ['table vs table with more keys', { a: 1 }, { a: 1, b: 2 }, false],
    ['table vs array', {}, [], false],
    ['void vs void', null, null, true],
    // RabbitMQ turns a timestamp header into milliseconds but leaves the binding value in seconds.
    ['timestamp binding vs same timestamp header', new Date(1_000_000), new Date(1_000_000), false],
    ['int binding (ms) vs timestamp header', 1_000_000, new Date(1_000_000), true],
    ['timestamp binding vs int header (s)', new Date(1_000_000), 1000, true],
    ['timestamp zero both sides', new Date(0), new Date(0), true],
    ['timestamps nested in arrays compare as timestamps', [new Date(5000)], [new Date(5000)], true],
    ['timestamp nested vs int nested', [new Date(5000)], [5], false],
  ];
  it.each(cases)('%s', (_label, binding, header, equal) => {
    expect(routingValuesEqual(binding, header)).toBe(equal);
    // And through a real binding, in both match modes.
    expect(headersMatch({ k: binding }, { k: header })).toBe(equal);
    expect(headersMatch({ 'x-match': 'any', k: binding, other: 'x' }, { k: header })).toBe(equal);
  });

  it('integer equality is symmetric across int tags (property)', () => {
    const tags = ['b', 'B', 's', 'u', 'I', 'i', 'l'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...tags), fc.constantFrom(...tags), fc.integer({ min: 0, max: 127 }), fc.integer({ min: 0, max: 127 }), (t1, t2, a, b) => {
        expect(routingValuesEqual(new TypedValue(t1, a), new TypedValue(t2, b))).toBe(a === b);
        expect(routingValuesEqual(a, new TypedValue(t2, b))).toBe(a === b);
      }),
    );
  });

  it('a string binding matches exactly the equal string (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(headersMatch({ k: a }, { k: b })).toBe(a === b);
        expect(headersMatch({ k: a }, { k: Buffer.from(b) })).toBe(a === b);
      }),
    );
  });
});

describe('headers routing: x-match parsing and validation', () => {
  it('reads x-match as RabbitMQ does: only longstr values select a mode', () => {
    expect(xMatchOf({})).toBe('all');
    expect(xMatchOf({ 'x-match': 'all' })).toBe('all');
    expect(xMatchOf({ 'x-match': 'any' })).toBe('any');
    expect(xMatchOf({ 'x-match': 'all-with-x' })).toBe('all-with-x');
    expect(xMatchOf({ 'x-match': 'any-with-x' })).toBe('any-with-x');
    expect(xMatchOf({ 'x-match': 'ANY' })).toBe('all');
    expect(xMatchOf({ 'x-match': Buffer.from('any') })).toBe('all');
    expect(xMatchOf({ 'x-match': 1 })).toBe('all');
  });

  it('accepts the four modes and a missing x-match', () => {
    for (const mode of ['all', 'any', 'all-with-x', 'any-with-x']) {
      expect(headersBindingError({ 'x-match': mode, a: 1 })).toBeUndefined();
    }
    expect(headersBindingError({ a: 1 })).toBeUndefined();
  });

  it('rejects other values and types with RabbitMQ-like texts', () => {
    expect(headersBindingError({ 'x-match': 'some' })).toBe(
      'Invalid x-match field value <<"some">>; expected all, any, all-with-x, or any-with-x',
    );
    expect(headersBindingError({ 'x-match': 1 })).toBe(
      'Invalid x-match field type signedint (value 1); expected longstr',
    );
    expect(headersBindingError({ 'x-match': Buffer.from('any') })).toBe(
      'Invalid x-match field type binary (value <<"any">>); expected longstr',
    );
    expect(headersBindingError({ 'x-match': null })).toBe(
      'Invalid x-match field type void (value undefined); expected longstr',
    );
    expect(headersBindingError({ 'x-match': true })).toBe(
      'Invalid x-match field type bool (value true); expected longstr',
    );
  });
});

describe('headers routing: bindings', () => {
  it('identity includes args, regardless of key order', () => {
    const t = new HeadersRoutingTable<string>();
    expect(t.bind('q', '', { a: 1, b: 2 })).toBe(true);
    expect(t.bind('q', '', { b: 2, a: 1 })).toBe(false);
    expect(t.bind('q', '', { a: 1, b: new TypedValue('l', 2) })).toBe(true);
    expect(t.bind('q', 'rk', { a: 1, b: 2 })).toBe(true);
    expect(t.size).toBe(3);
    expect(t.unbind('q', '', { b: 2, a: 1 })).toBe(true);
    expect(t.unbind('q', '', { b: 2, a: 1 })).toBe(false);
    expect(t.size).toBe(2);
  });

  it('routes a destination once even when several of its bindings match', () => {
    const t = new HeadersRoutingTable<string>();
    t.bind('q', '', { a: 1 });
    t.bind('q', '', { b: 1 });
    const into = new Set<string>();
    t.route('', { a: 1, b: 1 }, into);
    expect([...into]).toEqual(['q']);
  });

  it('a later change to the caller table does not change the binding', () => {
    const t = new HeadersRoutingTable<string>();
    const args: FieldTable = { a: 1 };
    t.bind('q', '', args);
    args['a'] = 2;
    expect(routed(t, { a: 1 })).toEqual(['q']);
    expect(t.unbind('q', '', { a: 1 })).toBe(true);
  });

  it('removeDestination removes every binding of the destination', () => {
    const t = new HeadersRoutingTable<string>();
    t.bind('q1', '', { a: 1 });
    t.bind('q1', '', { 'x-match': 'any', a: 1, b: 2 });
    t.bind('q2', '', { a: 1 });
    expect(t.removeDestination('q1')).toBe(2);
    expect(routed(t, { a: 1, b: 2 })).toEqual(['q2']);
    expect([...t.bindings()].map((b) => b.destination)).toEqual(['q2']);
  });

  it('handles many bindings', () => {
    const t = new HeadersRoutingTable<number>();
    for (let i = 0; i < 5000; i++) t.bind(i, '', { 'x-match': i % 2 === 0 ? 'all' : 'any', id: i, kind: 'k' });
    const into = new Set<number>();
    t.route('', { id: 42, kind: 'k' }, into);
    // 42 (all: both match) plus every odd binding (any: kind matches).
    expect(into.size).toBe(2501);
    expect(into.has(42)).toBe(true);
    expect(into.has(44)).toBe(false);
    into.clear();
    t.route('', { id: new TypedValue('b', 7) }, into);
    expect([...into]).toEqual([7]);
  });
});
