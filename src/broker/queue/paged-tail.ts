// The part of a deep queue that lives only on disk: per message a store position, its TTL
// deadline, body size and two flags, in chunks of typed arrays (no per-message objects).
//
// Entries sit in fixed-size chunks, oldest first. A chunk stores each column as compactly as
// its contents allow and widens a column only when a value does not fit:
//   seq      u32 offset from the chunk's first seq (f64 when a seq is below it or 2^32 past it;
//            spill and message-store positions are separate sequences and may interleave)
//   size     u16 (u32 once a body of 64 KiB or more arrives)
//   flags    u8
//   expiry   nothing while every entry has no TTL; then u32 ms after the chunk's first finite
//            deadline, 0 meaning none (f64 when a deadline is fractional, earlier, or 49 days on)
// So a paged message costs 7 bytes, 11 with a TTL, against 21 for flat f64/f64/u32/u8 columns;
// there is no doubling slack (at most one partly filled chunk), no copy of the whole backlog
// when it grows, and each chunk is dropped as soon as its last entry is shifted out. Chunk memory
// is mapped (store/mapped-memory.ts), so a drained queue's memory goes back to the OS.

import { mappedBuffer } from '../../store/mapped-memory.js';

/** Flag bits. */
export const PAGED_SPILL = 1; // in the transient spill store, not the durable message store
export const PAGED_REDELIVERED = 2;

/** 8192 entries: 56 KiB a chunk at 7 B each, so chunk bookkeeping is noise and a drained chunk frees memory soon. */
const CHUNK = 8192;
const U32_LIMIT = 0x1_0000_0000;
const U16_MAX = 0xffff;

class TailChunk {
  /** Seq of the first entry: u32 seq offsets are from here. */
  readonly seqBase: number;
  seq32: Uint32Array | null;
  seq64: Float64Array | null;
  size16: Uint16Array | null;
  size32: Uint32Array | null;
  readonly flags: Uint8Array;
  /** First finite deadline pushed here: u32 expiry offsets are from here. */
  expBase: number;
  exp32: Uint32Array | null;
  exp64: Float64Array | null;
  /** Entries written. */
  n: number;
  /** Next entry to shift. */
  head: number;

  constructor(seqBase: number) {
    this.seqBase = seqBase;
    this.seq32 = new Uint32Array(mappedBuffer(CHUNK * 4));
    this.seq64 = null;
    this.size16 = new Uint16Array(mappedBuffer(CHUNK * 2));
    this.size32 = null;
    this.flags = new Uint8Array(mappedBuffer(CHUNK));
    this.expBase = 0;
    this.exp32 = null;
    this.exp64 = null;
    this.n = 0;
    this.head = 0;
  }

  push(seq: number, expiresAt: number, size: number, flags: number): void {
    const i = this.n++;
    const d = seq - this.seqBase;
    if (this.seq32 !== null && d >= 0 && d < U32_LIMIT) this.seq32[i] = d;
    else this.widenSeqs()[i] = seq;
    if (this.size16 !== null && size <= U16_MAX) this.size16[i] = size;
    else this.widenSizes()[i] = size;
    this.flags[i] = flags;
    if (expiresAt !== Infinity || this.exp32 !== null || this.exp64 !== null) this.setExpiry(i, expiresAt);
  }

  seqAt(i: number): number {
    return this.seq32 !== null ? this.seqBase + (this.seq32[i] as number) : ((this.seq64 as Float64Array)[i] as number);
  }

  sizeAt(i: number): number {
    return this.size16 !== null ? (this.size16[i] as number) : ((this.size32 as Uint32Array)[i] as number);
  }

  expiryAt(i: number): number {
    if (this.exp32 !== null) {
      const v = this.exp32[i] as number;
      return v === 0 ? Infinity : this.expBase + v - 1;
    }
    return this.exp64 !== null ? (this.exp64[i] as number) : Infinity;
  }

  private setExpiry(i: number, expiresAt: number): void {
    if (this.exp32 === null && this.exp64 === null) {
      // First finite deadline of the chunk; earlier entries have none (0).
      this.expBase = expiresAt;
      this.exp32 = new Uint32Array(mappedBuffer(CHUNK * 4));
    }
    if (this.exp32 !== null) {
      if (expiresAt === Infinity) {
        this.exp32[i] = 0;
        return;
      }
      const d = expiresAt - this.expBase + 1;
      if (Number.isInteger(d) && d >= 1 && d < U32_LIMIT) {
        this.exp32[i] = d;
        return;
      }
      const wide = new Float64Array(mappedBuffer(CHUNK * 8));
      for (let k = 0; k < i; k++) wide[k] = this.expiryAt(k);
      this.exp64 = wide;
      this.exp32 = null;
    }
    (this.exp64 as Float64Array)[i] = expiresAt;
  }

  private widenSeqs(): Float64Array {
    if (this.seq64 === null) {
      const wide = new Float64Array(mappedBuffer(CHUNK * 8));
      for (let k = 0; k < this.n - 1; k++) wide[k] = this.seqAt(k);
      this.seq64 = wide;
      this.seq32 = null;
    }
    return this.seq64;
  }

  private widenSizes(): Uint32Array {
    if (this.size32 === null) {
      const wide = new Uint32Array(mappedBuffer(CHUNK * 4));
      for (let k = 0; k < this.n - 1; k++) wide[k] = this.sizeAt(k);
      this.size32 = wide;
      this.size16 = null;
    }
    return this.size32;
  }
}

export class PagedTail {
  /** Oldest first; chunks[0].head is the head entry. */
  private chunks: TailChunk[];
  private count: number;
  /** Sum of body sizes held here. */
  bytes: number;

  constructor() {
    this.chunks = [];
    this.count = 0;
    this.bytes = 0;
  }

  get length(): number {
    return this.count;
  }

  push(seq: number, expiresAt: number, size: number, flags: number): void {
    let c = this.chunks[this.chunks.length - 1];
    if (c === undefined || c.n === CHUNK) {
      c = new TailChunk(seq);
      this.chunks.push(c);
    }
    c.push(seq, expiresAt, size, flags);
    this.count++;
    this.bytes += size;
  }

  /** Remove the head; read its fields first with the head* accessors. */
  shift(): void {
    const c = this.chunks[0];
    if (c === undefined) return;
    this.bytes -= c.sizeAt(c.head);
    this.count--;
    // A consumed chunk goes at once (an array shift per 8192 entries), so a drain gives memory back as it goes.
    if (++c.head === c.n) this.chunks.shift();
  }

  get headSeq(): number {
    const c = this.headChunk();
    return c.seqAt(c.head);
  }

  get headExpiresAt(): number {
    const c = this.headChunk();
    return c.expiryAt(c.head);
  }

  get headSize(): number {
    const c = this.headChunk();
    return c.sizeAt(c.head);
  }

  get headFlags(): number {
    const c = this.headChunk();
    return c.flags[c.head] as number;
  }

  /** Every entry, for purge and deletion. */
  forEach(f: (seq: number, flags: number) => void): void {
    for (const c of this.chunks) for (let i = c.head; i < c.n; i++) f(c.seqAt(i), c.flags[i] as number);
  }

  clear(): void {
    this.chunks = [];
    this.count = 0;
    this.bytes = 0;
  }

  /** Bytes of typed-array storage held (for tests). */
  get capacityBytes(): number {
    let n = 0;
    for (const c of this.chunks) {
      n += c.flags.byteLength;
      n += c.seq32?.byteLength ?? c.seq64?.byteLength ?? 0;
      n += c.size16?.byteLength ?? c.size32?.byteLength ?? 0;
      n += c.exp32?.byteLength ?? c.exp64?.byteLength ?? 0;
    }
    return n;
  }

  private headChunk(): TailChunk {
    const c = this.chunks[0];
    if (c === undefined) throw new Error('paged tail is empty');
    return c;
  }
}
