// CRC-32 helper: known vectors, table fallback agrees with the native one, chaining.

import { describe, expect, it } from 'vitest';
import { crc32, crc32Table } from '../../src/util/crc32.js';

describe('crc32', () => {
  it('matches the standard check values', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32Table(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
    expect(crc32Table(Buffer.from('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });

  it('chains: crc(a+b) == crc(b, crc(a)), table and native alike', () => {
    const data = Buffer.alloc(10_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    const whole = crc32Table(data);
    expect(crc32(data)).toBe(whole);
    expect(crc32Table(data.subarray(3000), crc32Table(data.subarray(0, 3000)))).toBe(whole);
    expect(crc32(data.subarray(3000), crc32(data.subarray(0, 3000)))).toBe(whole);
  });
});
