// Field tables in RabbitMQ's dialect: every tag round-trips byte for byte, and the
// plain JS forms encode with the tags RabbitMQ clients expect.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConnectionError } from '../../src/protocol/errors.js';
import {
  Decimal,
  TypedValue,
  decodeTable,
  decodeTableBody,
  encodeTable,
  tableSize,
  type FieldTable,
} from '../../src/protocol/field-table.js';
import { canonicalTable, wireTableBody, withLength } from './arbitraries.js';

function decode(bytes: Buffer): FieldTable {
  return decodeTable(bytes, { pos: 0 }, bytes.length);
}

describe('field table round trips', () => {
  it('random wire tables (every tag, nested A and F) re-encode byte for byte', () => {
    fc.assert(
      fc.property(wireTableBody(3), (body) => {
        const bytes = withLength(body);
        const t = decode(bytes);
        const again = encodeTable(t);
        expect(again.toString('hex')).toBe(bytes.toString('hex'));
        expect(tableSize(t)).toBe(bytes.length);
      }),
      { numRuns: 500 },
    );
  });

  it('canonical JS tables survive encode -> decode unchanged', () => {
    fc.assert(
      fc.property(canonicalTable(3), (t) => {
        const bytes = encodeTable(t);
        expect(bytes.length).toBe(tableSize(t));
        expect(decode(bytes)).toEqual(t);
      }),
      { numRuns: 500 },
    );
  });

  it('each tag individually, including edge values', () => {
    const cases: [string, Buffer][] = [
      ['t', Buffer.from([1])],
      ['t', Buffer.from([0])],
      ['b', Buffer.from([0x80])],
      ['B', Buffer.from([0xff])],
      ['s', Buffer.from([0x80, 0x00])],
      ['u', Buffer.from([0xff, 0xff])],
      ['I', Buffer.from([0x80, 0, 0, 0])],
      ['i', Buffer.from([0xff, 0xff, 0xff, 0xff])],
      ['l', Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0])],
      ['l', Buffer.from([0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
      ['l', Buffer.from([0, 0, 0, 0, 0, 0, 0, 5])],
      ['f', Buffer.from([0x3f, 0xc0, 0, 0])],
      ['d', Buffer.from([0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18])],
      ['d', Buffer.from([0x40, 0x00, 0, 0, 0, 0, 0, 0])],
      ['D', Buffer.from([2, 0, 0, 0x30, 0x39])],
      ['S', Buffer.from([0, 0, 0, 2, 0x68, 0x69])],
      ['x', Buffer.from([0, 0, 0, 3, 0, 0xff, 0x10])],
      ['T', Buffer.from([0, 0, 0, 0, 0x65, 0x5f, 0x7e, 0x00])],
      ['V', Buffer.alloc(0)],
      ['A', Buffer.from([0, 0, 0, 7, 0x53, 0, 0, 0, 1, 0x61, 0x56])],
      ['F', Buffer.from([0, 0, 0, 4, 1, 0x6b, 0x74, 1])],
    ];
    for (const [tag, value] of cases) {
      const body = Buffer.concat([Buffer.from([3]), Buffer.from('key'), Buffer.from(tag, 'latin1'), value]);
      const bytes = withLength(body);
      expect(encodeTable(decode(bytes)).toString('hex'), `tag ${tag}`).toBe(bytes.toString('hex'));
    }
  });

  it('decoded forms are the documented JS values', () => {
    const t = decode(
      encodeTable({
        bool: true,
        int: 42,
        big: 2 ** 40,
        str: 'hello',
        bin: Buffer.from([1, 2]),
        date: new Date(1_700_000_000_000),
        none: null,
        arr: ['a', 1],
        nested: { k: 'v' },
        frac: 1.5,
      }),
    );
    expect(t).toEqual({
      bool: true,
      int: 42,
      big: 2 ** 40,
      str: 'hello',
      bin: Buffer.from([1, 2]),
      date: new Date(1_700_000_000_000),
      none: null,
      arr: ['a', 1],
      nested: { k: 'v' },
      frac: 1.5,
    });
  });

  it('plain JS values get the tags RabbitMQ clients expect', () => {
    const tagOf = (v: unknown): string => {
      const b = encodeTable({ k: v as never });
      return String.fromCharCode(b[4 + 1 + 1] as number);
    };
    expect(tagOf(true)).toBe('t');
    expect(tagOf(1)).toBe('I');
    expect(tagOf(-0x80000000)).toBe('I');
    expect(tagOf(0x80000000)).toBe('l');
    expect(tagOf(10n)).toBe('l');
    expect(tagOf(0.5)).toBe('d');
    expect(tagOf('s')).toBe('S');
    expect(tagOf(Buffer.alloc(1))).toBe('x');
    expect(tagOf(new Date(0))).toBe('T');
    expect(tagOf(null)).toBe('V');
    expect(tagOf([])).toBe('A');
    expect(tagOf({})).toBe('F');
    expect(tagOf(new Decimal(1, 5))).toBe('D');
    expect(tagOf(new TypedValue('u', 5))).toBe('u');
  });

  it('a key named __proto__ is kept like any other key', () => {
    const body = Buffer.concat([Buffer.from([9]), Buffer.from('__proto__'), Buffer.from('S'), Buffer.from([0, 0, 0, 1]), Buffer.from('x')]);
    const bytes = withLength(body);
    const t = decode(bytes);
    expect(Object.keys(t)).toEqual(['__proto__']);
    expect(encodeTable(t).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('a longstr that is not valid UTF-8 survives a round trip byte for byte', () => {
    const raw = Buffer.from([0xff, 0xfe, 0x00, 0xc3]);
    const body = Buffer.concat([Buffer.from([1]), Buffer.from('k'), Buffer.from('S'), Buffer.from([0, 0, 0, raw.length]), raw]);
    const bytes = withLength(body);
    expect(encodeTable(decode(bytes)).toString('hex')).toBe(bytes.toString('hex'));
  });
});

describe('malformed tables', () => {
  function codeOf(bytes: Buffer): number | undefined {
    try {
      decodeTableBody(bytes, 0, bytes.length);
    } catch (e) {
      if (e instanceof ConnectionError) return e.replyCode;
      throw e;
    }
    return undefined;
  }

  it('an unknown tag is 502 SYNTAX_ERROR', () => {
    for (const tag of ['Z', 'c', 'U', 'L', 'e', '\0']) {
      expect(codeOf(Buffer.concat([Buffer.from([1]), Buffer.from('k'), Buffer.from(tag, 'latin1'), Buffer.alloc(8)])), tag).toBe(502);
    }
  });

  it('values that overrun the table are 502', () => {
    expect(codeOf(Buffer.from([1, 0x6b, 0x49, 0, 0]))).toBe(502); // I with 2 of 4 bytes
    expect(codeOf(Buffer.from([1, 0x6b, 0x53, 0, 0, 0, 9, 0x61]))).toBe(502); // S claims 9 bytes
    expect(codeOf(Buffer.from([5, 0x6b]))).toBe(502); // key overruns
    expect(codeOf(Buffer.from([1, 0x6b]))).toBe(502); // key without value
  });

  it('random garbage never throws anything but a 502 ConnectionError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (a) => {
        const code = codeOf(Buffer.from(a));
        expect(code === undefined || code === 502).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
