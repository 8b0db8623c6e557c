// Field tables in RabbitMQ's dialect: every tag round-trips byte for byte, and the
// plain JS forms encode with the tags RabbitMQ clients expect.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConnectionError } from '../../src/protocol/errors.js';
import {
  Decimal,
  TypedValue,
  DECODED_DEPTH,
  RawFieldValue,
  decodeTable,
  decodeTableBody,
  encodeTable,
  numberValue,
  skipFieldValue,
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
    for (const tag of ['Z', 'c', 'U', 'e', '\0']) {
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

describe('RabbitMQ dialect edges (field type L, raw-byte keys, big timestamps, depth)', () => {
  const u64 = (v: bigint): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(v);
    return b;
  };
  const entry = (k: Buffer | string, tag: string, v: Buffer): Buffer => {
    const kb = Buffer.isBuffer(k) ? k : Buffer.from(k);
    return Buffer.concat([Buffer.from([kb.length]), kb, Buffer.from(tag, 'latin1'), v]);
  };
  const len = (b: Buffer): Buffer => Buffer.concat([u32be(b.length), b]);
  function u32be(n: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  }

  it("'L' (unsigned 64-bit, as py-amqp sends) decodes to a typed number or bigint and re-encodes as 'L'", () => {
    const bytes = len(Buffer.concat([entry('small', 'L', u64(7n)), entry('max', 'L', u64(2n ** 64n - 1n)), entry('arr', 'A', len(Buffer.concat([Buffer.from('L'), u64(2n ** 53n)])))]));
    const t = decode(bytes);
    expect(t['small']).toEqual(new TypedValue('L', 7));
    expect(t['max']).toEqual(new TypedValue('L', 2n ** 64n - 1n));
    expect(numberValue(t['small'])).toBe(7);
    expect(encodeTable(t).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('a key that is not UTF-8 (100 bytes 0xFF) round-trips as its bytes, also through a copy of the table', () => {
    const key = Buffer.alloc(100, 0xff);
    const bytes = len(Buffer.concat([entry(key, 'S', len(Buffer.from('v'))), entry(Buffer.from([0xfe]), 'I', Buffer.alloc(4)), entry('ok', 'I', Buffer.alloc(4))]));
    const t = decode(bytes);
    expect(Object.keys(t)).toHaveLength(3);
    expect(encodeTable(t).toString('hex')).toBe(bytes.toString('hex'));
    expect(encodeTable({ ...t }).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('a UTF-8 key after a raw key that reads the same (0xE9 and "é" = C3 A9) keeps its own bytes, as the later duplicate', () => {
    // The raw key's JS name is its latin1 reading, which a valid UTF-8 key can also have: one table
    // entry remains (duplicates keep the last), and it must go back out under the bytes it came with.
    const utf8 = entry(Buffer.from([0xc3, 0xa9]), 'S', len(Buffer.from('utf8')));
    const body = Buffer.concat([entry(Buffer.from([0xe9]), 'S', len(Buffer.from('raw'))), utf8]);
    const t = decodeTableBody(body, 0, body.length);
    expect(encodeTable(t).subarray(4).toString('hex')).toBe(utf8.toString('hex'));
    // The other way round, the raw one is the later entry and keeps its byte.
    const raw = entry(Buffer.from([0xe9]), 'S', len(Buffer.from('raw')));
    const body2 = Buffer.concat([utf8, raw]);
    expect(encodeTable(decodeTableBody(body2, 0, body2.length)).subarray(4).toString('hex')).toBe(raw.toString('hex'));
  });

  it('the encoder refuses a key longer than 255 bytes instead of writing a wrapped length', () => {
    expect(() => encodeTable({ ['é'.repeat(200)]: 1 })).toThrow(RangeError);
  });

  it('a timestamp beyond what a Date holds (2^62, 2^64-1) stays exact', () => {
    for (const v of [2n ** 62n, 2n ** 64n - 1n]) {
      const bytes = len(entry('ts', 'T', u64(v)));
      expect(encodeTable(decode(bytes)).toString('hex')).toBe(bytes.toString('hex'));
    }
  });

  /** A table nested `depth` levels deep through F values, or A values. */
  function nested(depth: number, tag: 'F' | 'A'): Buffer {
    let inner: Buffer = Buffer.alloc(0);
    if (tag === 'F') {
      for (let i = 0; i < depth; i++) inner = entry('a', 'F', len(inner));
      return len(inner);
    }
    for (let i = 1; i < depth; i++) inner = Buffer.concat([Buffer.from('A'), len(inner)]);
    return len(entry('a', 'A', len(inner)));
  }
  function codeOf(body: Buffer): number | undefined {
    try {
      decodeTableBody(body, 0, body.length);
    } catch (e) {
      if (e instanceof ConnectionError) return e.replyCode;
      throw e;
    }
    return undefined;
  }

  it('any nesting depth (to 20,000) round-trips byte for byte; beyond DECODED_DEPTH it is kept as validated bytes, never a stack overflow', () => {
    for (const tag of ['F', 'A'] as const) {
      for (const depth of [DECODED_DEPTH, DECODED_DEPTH + 1, 5000, 20_000]) {
        const bytes = nested(depth, tag);
        const t = decode(bytes);
        expect(encodeTable(t).toString('hex'), `${tag} ${depth}`).toBe(bytes.toString('hex'));
        expect(tableSize(t)).toBe(bytes.length);
        // Walk down the decoded form: plain containers to DECODED_DEPTH, then one raw value.
        let v: unknown = t['a'];
        let plain = 0;
        while (!(v instanceof RawFieldValue) && v !== undefined && (plain < depth)) {
          plain++;
          v = Array.isArray(v) ? v[0] : (v as Record<string, unknown>)['a'];
        }
        expect(plain).toBe(Math.min(depth, DECODED_DEPTH));
      }
    }
  });

  it('property: a random table buried at a random depth (tables and arrays mixed) round-trips byte for byte', () => {
    fc.assert(
      fc.property(wireTableBody(2), fc.array(fc.constantFrom<'F' | 'A'>('F', 'A'), { minLength: 1, maxLength: 3000 }), (leaf, path) => {
        let inner = Buffer.concat([Buffer.from('F'), len(leaf)]);
        for (const tag of path) inner = tag === 'F' ? Buffer.concat([Buffer.from('F'), len(entry('k', '', inner))]) : Buffer.concat([Buffer.from('A'), len(inner)]);
        const bytes = len(entry('top', '', inner));
        expect(encodeTable(decode(bytes)).toString('hex')).toBe(bytes.toString('hex'));
      }),
      { numRuns: 60 },
    );
  });

  it('a malformed value deep inside a raw-kept container is still 502 (unknown tag, overrun, missing value)', () => {
    const deepWith = (leaf: Buffer): Buffer => {
      let inner = leaf;
      for (let i = 0; i < DECODED_DEPTH + 10; i++) inner = entry('a', 'F', len(inner));
      return inner;
    };
    expect(codeOf(deepWith(entry('k', 'Z', Buffer.alloc(1))))).toBe(502);
    expect(codeOf(deepWith(entry('k', 'I', Buffer.alloc(2))))).toBe(502);
    expect(codeOf(deepWith(Buffer.from([1, 0x6b])))).toBe(502);
    expect(codeOf(deepWith(entry('k', 'L', Buffer.alloc(8))))).toBeUndefined();
  });

  it('skipFieldValue steps over any well-formed value without decoding, and reports malformed ones', () => {
    fc.assert(
      fc.property(wireTableBody(3), (body) => {
        let p = 0;
        while (p < body.length) {
          p = skipFieldValue(body, p + 1 + (body[p] as number), body.length);
          expect(p).toBeGreaterThan(0);
        }
        expect(p).toBe(body.length);
      }),
      { numRuns: 300 },
    );
    expect(skipFieldValue(Buffer.from('Z'), 0, 1)).toBe(-1);
    expect(skipFieldValue(Buffer.from([0x53, 0, 0, 0, 9, 1]), 0, 6)).toBe(-1);
  });
});
