// Formatting and comparison rules behind RabbitMQ's "inequivalent arg" texts.

import { describe, expect, it } from 'vitest';
import { equivalentValues, erlangFloat } from '../../src/broker/equivalence.js';
import { RawLongString, TypedValue } from '../../src/protocol/field-table.js';

describe('erlangFloat', () => {
  it('prints floats as RabbitMQ 3.10 did in reply texts (values read from a live node)', () => {
    const seen: [number, string][] = [
      [10, '10.0'], [100, '100.0'], [1000, '1.0e3'], [0.5, '0.5'], [1234.5, '1234.5'], [123456, '123456.0'],
      [0.0001, '0.0001'], [1e10, '1.0e10'], [0.001, '0.001'], [0.1, '0.1'], [1e-10, '1.0e-10'],
      [12345678, '12345678.0'], [1e21, '1.0e21'], [123000, '1.23e5'],
    ];
    for (const [x, text] of seen) expect(erlangFloat(x), String(x)).toBe(text);
    expect(erlangFloat(-2.5)).toBe('-2.5');
    expect(erlangFloat(0)).toBe('0.0');
  });
});

describe('equivalentValues', () => {
  it('integers of every width compare by value', () => {
    expect(equivalentValues(10, new TypedValue('l', 10))).toBe(true);
    expect(equivalentValues(new TypedValue('b', 10), new TypedValue('i', 10))).toBe(true);
    expect(equivalentValues(2n ** 62n, new TypedValue('l', 2n ** 62n))).toBe(true);
    expect(equivalentValues(10, new TypedValue('l', 11))).toBe(false);
  });

  it('a float never equals an integer; floats compare by value', () => {
    expect(equivalentValues(10, new TypedValue('d', 10))).toBe(false);
    expect(equivalentValues(new TypedValue('f', 0.5), 0.5)).toBe(true);
  });

  it('strings compare by bytes whatever their wire type; a number never equals a string', () => {
    expect(equivalentValues('a', Buffer.from('a'))).toBe(true);
    expect(equivalentValues(new RawLongString(Buffer.from([0xff])), Buffer.from([0xff]))).toBe(true);
    expect(equivalentValues('10', 10)).toBe(false);
    expect(equivalentValues(true, true)).toBe(true);
    expect(equivalentValues(true, 'true')).toBe(false);
  });
});
