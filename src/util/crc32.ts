// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as used by zlib, gzip and PNG.
// Node >= 20.15 ships a native zlib.crc32; older Node 20 releases fall back to a table.

import * as zlib from 'node:zlib';

type Crc32Fn = (data: Uint8Array, value?: number) => number;

function makeTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

let table: Uint32Array | null = null;

/** Table-driven CRC-32, one byte per step; `value` continues a previous result. */
export function crc32Table(data: Uint8Array, value = 0): number {
  const t = (table ??= makeTable());
  let c = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) {
    c = (t[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

// The typings always declare zlib.crc32, but it is missing at runtime before Node 20.15.
const native: Crc32Fn | undefined =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? (zlib.crc32 as Crc32Fn) : undefined;

/** CRC-32 of `data`, continuing from `value` (0 for a fresh checksum); unsigned 32-bit result. */
export const crc32: Crc32Fn = native ?? crc32Table;
