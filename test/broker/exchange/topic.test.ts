// Topic routing: RabbitMQ's own matching table, empty-word rules, trie pruning, and property tests.

import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { TopicRoutingTable } from '../../../src/broker/exchange/topic.js';
import type { FieldTable } from '../../../src/protocol/field-table.js';

function routed(table: TopicRoutingTable<string>, key: string): string[] {
  const into = new Set<string>();
  table.route(key, undefined, into);
  return [...into].sort();
}

/** Reference matcher: a direct transcription of the rules, on word arrays. */
function words(s: string): string[] {
  return s === '' ? [] : s.split('.');
}
function refMatch(p: readonly string[], k: readonly string[]): boolean {
  if (p.length === 0) return k.length === 0;
  const head = p[0];
  const rest = p.slice(1);
  if (head === '#') return refMatch(rest, k) || (k.length > 0 && refMatch(p, k.slice(1)));
  if (k.length === 0) return false;
  return (head === '*' || head === k[0]) && refMatch(rest, k.slice(1));
}
function matchesRef(pattern: string, key: string): boolean {
  return refMatch(words(pattern), words(key));
}

// The binding table of RabbitMQ's topic routing test (routing_SUITE), facts restated.
const RABBIT_BINDINGS: [string, string, FieldTable][] = [
  ['a.b.c', 't1', {}],
  ['a.*.c', 't2', {}],
  ['a.#.b', 't3', {}],
  ['a.b.b.c', 't4', {}],
  ['#', 't5', {}],
  ['#.#', 't6', {}],
  ['#.b', 't7', {}],
  ['*.*', 't8', {}],
  ['a.*', 't9', {}],
  ['*.b.c', 't10', {}],
  ['a.#', 't11', {}],
  ['a.#.#', 't12', {}],
  ['b.b.c', 't13', {}],
  ['a.b.b', 't14', {}],
  ['a.b', 't15', {}],
  ['b.c', 't16', {}],
  ['', 't17', {}],
  ['*.*.*', 't18', {}],
  ['vodka.martini', 't19', {}],
  ['a.b.c', 't20', {}],
  ['*.#', 't21', {}],
  ['#.*.#', 't22', {}],
  ['*.#.#', 't23', {}],
  ['#.#.#', 't24', {}],
  ['*', 't25', {}],
  ['#.b.#', 't26', {}],
  ['args-test', 't27', { foo: 'bar' }],
  ['args-test', 't27', { foo: 'baz' }], // same key and destination, other args: a distinct binding
];

const RABBIT_EXPECTED: [string, string[]][] = [
  ['a.b.c', ['t1', 't2', 't5', 't6', 't10', 't11', 't12', 't18', 't20', 't21', 't22', 't23', 't24', 't26']],
  ['a.b', ['t3', 't5', 't6', 't7', 't8', 't9', 't11', 't12', 't15', 't21', 't22', 't23', 't24', 't26']],
  ['a.b.b', ['t3', 't5', 't6', 't7', 't11', 't12', 't14', 't18', 't21', 't22', 't23', 't24', 't26']],
  ['', ['t5', 't6', 't17', 't24']],
  ['b.c.c', ['t5', 't6', 't18', 't21', 't22', 't23', 't24', 't26']],
  ['a.a.a.a.a', ['t5', 't6', 't11', 't12', 't21', 't22', 't23', 't24']],
  ['vodka.gin', ['t5', 't6', 't8', 't21', 't22', 't23', 't24']],
  ['vodka.martini', ['t5', 't6', 't8', 't19', 't21', 't22', 't23', 't24']],
  ['b.b.c', ['t5', 't6', 't10', 't13', 't18', 't21', 't22', 't23', 't24', 't26']],
  ['nothing.here.at.all', ['t5', 't6', 't21', 't22', 't23', 't24']],
  ['oneword', ['t5', 't6', 't21', 't22', 't23', 't24', 't25']],
  ['args-test', ['t5', 't6', 't21', 't22', 't23', 't24', 't25', 't27']],
];

// After removing bindings 1, 5, 11, 19, 21 and 28 (1-based) of the table above.
const RABBIT_EXPECTED_AFTER_REMOVAL: [string, string[]][] = [
  ['a.b.c', ['t2', 't6', 't10', 't12', 't18', 't20', 't22', 't23', 't24', 't26']],
  ['a.b', ['t3', 't6', 't7', 't8', 't9', 't12', 't15', 't22', 't23', 't24', 't26']],
  ['a.b.b', ['t3', 't6', 't7', 't12', 't14', 't18', 't22', 't23', 't24', 't26']],
  ['', ['t6', 't17', 't24']],
  ['b.c.c', ['t6', 't18', 't22', 't23', 't24', 't26']],
  ['a.a.a.a.a', ['t6', 't12', 't22', 't23', 't24']],
  ['vodka.gin', ['t6', 't8', 't22', 't23', 't24']],
  ['vodka.martini', ['t6', 't8', 't22', 't23', 't24']],
  ['b.b.c', ['t6', 't10', 't13', 't18', 't22', 't23', 't24', 't26']],
  ['nothing.here.at.all', ['t6', 't22', 't23', 't24']],
  ['oneword', ['t6', 't22', 't23', 't24', 't25']],
  ['args-test', ['t6', 't22', 't23', 't24', 't25', 't27']],
];

describe('topic routing: RabbitMQ matching table', () => {
  const table = new TopicRoutingTable<string>();
  for (const [key, dest, args] of RABBIT_BINDINGS) table.bind(dest, key, args);

  it('holds every binding, including the two differing only in args', () => {
    expect(table.size).toBe(RABBIT_BINDINGS.length);
  });

  it.each(RABBIT_EXPECTED)('routes %j', (key, expected) => {
    expect(routed(table, key)).toEqual([...expected].sort());
  });

  it('routes the same after some bindings are removed', () => {
    const t = new TopicRoutingTable<string>();
    for (const [key, dest, args] of RABBIT_BINDINGS) t.bind(dest, key, args);
    for (const n of [1, 5, 11, 19, 21, 28]) {
      const b = RABBIT_BINDINGS[n - 1];
      if (b === undefined) throw new Error('bad index');
      expect(t.unbind(b[1], b[0], b[2])).toBe(true);
    }
    expect(t.size).toBe(RABBIT_BINDINGS.length - 6);
    for (const [key, expected] of RABBIT_EXPECTED_AFTER_REMOVAL) {
      expect(routed(t, key), key).toEqual([...expected].sort());
    }
  });

  it('the reference matcher agrees with the table', () => {
    for (const [key, expected] of RABBIT_EXPECTED) {
      const byRef = new Set(RABBIT_BINDINGS.filter(([p]) => matchesRef(p, key)).map(([, d]) => d));
      expect([...byRef].sort(), key).toEqual([...expected].sort());
    }
  });
});

describe('topic routing: words and wildcards', () => {
  const cases: [pattern: string, key: string, match: boolean][] = [
    // The empty key has zero words; '*' needs exactly one.
    ['', '', true],
    ['#', '', true],
    ['#.#', '', true],
    ['*', '', false],
    ['*.#', '', false],
    ['a', '', false],
    ['', 'a', false],
    // Empty words between, before and after dots are real words.
    ['a..b', 'a..b', true],
    ['a.*.b', 'a..b', true],
    ['a.b', 'a..b', false],
    ['a.#.b', 'a..b', true],
    ['*', '.', false],
    ['*.*', '.', true],
    ['.', '.', true],
    ['', '.', false],
    ['a.*', 'a.', true],
    ['a', 'a.', false],
    ['a.#', 'a.', true],
    ['*.a', '.a', true],
    ['#.a', '.a', true],
    ['a.', 'a.', true],
    ['a.', 'a', false],
    // '#' takes zero or more words, anywhere.
    ['a.#.b', 'a.b', true],
    ['a.#.b', 'a.x.y.b', true],
    ['a.#.b', 'a.x.y', false],
    ['a.#.b', 'a.b.b', true],
    ['#.a.#', 'a', true],
    ['#.a.#', 'x.a.y', true],
    ['#.a.#', 'x.b.y', false],
    ['#.a', 'a.a.a', true],
    ['a.*.#', 'a', false],
    ['a.*.#', 'a.b', true],
    ['a.*.#', 'a.b.c.d', true],
    ['#.*', '', false],
    ['#.*', 'x', true],
    ['#.*.*', 'x', false],
    ['#.*.*', 'x.y.z', true],
    ['*.#.*', 'x', false],
    ['*.#.*', 'x.y', true],
    // Wildcards are whole words only; a routing key's '*' or '#' is an ordinary word.
    ['a*', 'ab', false],
    ['a*', 'a*', true],
    ['a#', 'a.b', false],
    ['a.b', 'a.*', false],
    ['*', '#', true],
    ['#', '*.#', true],
    // Case and bytes matter.
    ['exact.key', 'Exact.key', false],
    ['caf\u00e9', 'caf\u00e9', true],
  ];

  it.each(cases)('pattern %j, key %j -> %s', (pattern, key, match) => {
    const t = new TopicRoutingTable<string>();
    t.bind('q', pattern, {});
    expect(routed(t, key)).toEqual(match ? ['q'] : []);
    expect(matchesRef(pattern, key)).toBe(match);
  });

  it('handles long keys and pathological patterns', () => {
    const t = new TopicRoutingTable<string>();
    t.bind('q1', '#.#.#.#.#.#.#.#.#.#.z', {});
    t.bind('q2', '#.a.#.a.#.a.#.a.#.b', {});
    const key = Array.from({ length: 120 }, () => 'a').join('.');
    expect(routed(t, key)).toEqual([]);
    expect(routed(t, `${key}.z`)).toEqual(['q1']);
    expect(routed(t, `${key}.b`)).toEqual(['q2']);
  });

  it('keeps working after a key with very many words', () => {
    const t = new TopicRoutingTable<string>();
    t.bind('q', 'a.b', {});
    t.bind('all', '#', {});
    expect(routed(t, '.'.repeat(5000))).toEqual(['all']);
    expect(routed(t, 'a.b')).toEqual(['all', 'q']);
    expect(routed(t, 'a')).toEqual(['all']);
  });
});

describe('topic routing: bindings', () => {
  it('bind is idempotent per (destination, key, args) and unbind reverses it', () => {
    const t = new TopicRoutingTable<string>();
    expect(t.bind('q', 'a.*', {})).toBe(true);
    expect(t.bind('q', 'a.*', {})).toBe(false);
    expect(t.bind('q', 'a.*', { x: 1 })).toBe(true);
    expect(t.size).toBe(2);
    expect(t.unbind('q', 'a.*', {})).toBe(true);
    // The binding with args still routes.
    expect(routed(t, 'a.b')).toEqual(['q']);
    expect(t.unbind('q', 'a.*', {})).toBe(false);
    expect(t.unbind('q', 'a.*', { x: 1 })).toBe(true);
    expect(routed(t, 'a.b')).toEqual([]);
    expect(t.size).toBe(0);
    expect(t.nodeCount()).toBe(0);
  });

  it('"#.#" and "#" are distinct bindings with the same trie path', () => {
    const t = new TopicRoutingTable<string>();
    expect(t.bind('q', '#', {})).toBe(true);
    expect(t.bind('q', '#.#', {})).toBe(true);
    expect(t.unbind('q', '#', {})).toBe(true);
    expect(routed(t, 'x')).toEqual(['q']);
    expect(t.unbind('q', '#.#', {})).toBe(true);
    expect(routed(t, 'x')).toEqual([]);
    expect(t.nodeCount()).toBe(0);
    expect([...t.bindings()]).toEqual([]);
  });

  it('prunes only the nodes no other binding uses', () => {
    const t = new TopicRoutingTable<string>();
    t.bind('q1', 'a.b.c', {});
    t.bind('q2', 'a.b', {});
    t.bind('q3', 'a.*.#', {});
    const before = t.nodeCount();
    t.unbind('q1', 'a.b.c', {});
    expect(t.nodeCount()).toBe(before - 1);
    expect(routed(t, 'a.b')).toEqual(['q2', 'q3']);
    expect(routed(t, 'a.b.c')).toEqual(['q3']);
  });

  it('removeDestination drops every binding of that destination only', () => {
    const t = new TopicRoutingTable<string>();
    t.bind('q1', 'a.#', {});
    t.bind('q1', '*.b', {});
    t.bind('q1', '*.b', { k: 'v' });
    t.bind('q2', '*.b', {});
    expect(t.removeDestination('q1')).toBe(3);
    expect(t.removeDestination('q1')).toBe(0);
    expect(t.size).toBe(1);
    expect(routed(t, 'a.b')).toEqual(['q2']);
    expect([...t.bindings()]).toEqual([{ destination: 'q2', routingKey: '*.b', args: {} }]);
  });

  it('routes many bindings to the right destinations', () => {
    const t = new TopicRoutingTable<number>();
    for (let i = 0; i < 10_000; i++) t.bind(i, `stock.${i % 100}.${i}`, {});
    t.bind(-1, 'stock.7.*', {});
    t.bind(-2, '#.9999', {});
    const into = new Set<number>();
    t.route('stock.7.1507', undefined, into);
    expect([...into].sort((a, b) => a - b)).toEqual([-1, 1507]);
    into.clear();
    t.route('stock.99.9999', undefined, into);
    expect([...into].sort((a, b) => a - b)).toEqual([-2, 9999]);
    for (let i = 0; i < 10_000; i++) expect(t.removeDestination(i)).toBe(1);
    expect(t.size).toBe(2);
  });

  it('adds into the given set without clearing it', () => {
    const t = new TopicRoutingTable<string>();
    t.bind('q', 'a', {});
    const into = new Set(['other']);
    t.route('a', undefined, into);
    expect([...into].sort()).toEqual(['other', 'q']);
  });
});

describe('topic routing: properties', () => {
  const keyWord = fc.constantFrom('a', 'b', 'c', '');
  const patternWord = fc.constantFrom('a', 'b', 'c', '', '*', '#');
  const key = fc.array(keyWord, { maxLength: 6 }).map((w) => w.join('.'));
  const pattern = fc.array(patternWord, { maxLength: 6 }).map((w) => w.join('.'));
  const literalPattern = fc.array(keyWord, { maxLength: 6 }).map((w) => w.join('.'));

  it('a pattern without wildcards matches exactly the equal key', () => {
    fc.assert(
      fc.property(literalPattern, key, (p, k) => {
        const t = new TopicRoutingTable<string>();
        t.bind('q', p, {});
        expect(routed(t, k)).toEqual(p === k ? ['q'] : []);
      }),
    );
  });

  it('"#" matches every key', () => {
    fc.assert(
      fc.property(fc.string(), (k) => {
        const t = new TopicRoutingTable<string>();
        t.bind('q', '#', {});
        expect(routed(t, k)).toEqual(['q']);
      }),
    );
  });

  it('the trie agrees with the reference matcher on random patterns and keys', () => {
    fc.assert(
      fc.property(fc.array(pattern, { minLength: 1, maxLength: 30 }), fc.array(key, { minLength: 1, maxLength: 10 }), (patterns, keys) => {
        const t = new TopicRoutingTable<number>();
        patterns.forEach((p, i) => t.bind(i, p, {}));
        for (const k of keys) {
          const into = new Set<number>();
          t.route(k, undefined, into);
          const expected = patterns.flatMap((p, i) => (matchesRef(p, k) ? [i] : []));
          expect([...into].sort((a, b) => a - b), `key ${JSON.stringify(k)}`).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('unbinding everything in any order leaves an empty trie', () => {
    fc.assert(
      fc.property(fc.uniqueArray(pattern, { maxLength: 20 }).chain((ps) => fc.tuple(fc.constant(ps), fc.shuffledSubarray(ps, { minLength: ps.length }))), ([ps, order]) => {
        const t = new TopicRoutingTable<string>();
        for (const p of ps) expect(t.bind('q', p, {})).toBe(true);
        for (const p of order) expect(t.unbind('q', p, {})).toBe(true);
        expect(t.size).toBe(0);
        expect(t.nodeCount()).toBe(0);
        expect(routed(t, 'a.b')).toEqual([]);
      }),
    );
  });
});
