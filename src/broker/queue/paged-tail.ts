// The part of a deep queue that lives only on disk: per message its body size, two flags, its
// TTL deadline and (for messages in the durable store) its store position, in chunks of typed
// arrays (no per-message objects).
//
// Entries sit in fixed-size chunks, oldest first. A chunk stores each column as compactly as
// its contents allow, allocates a column only when some entry needs it, and widens a column
// only when a value does not fit:
//   size     u8 while every body is under 256 bytes, then u16, then u32
//   flags    nothing while every entry is a plain spilled message (PAGED_SPILL); then u8
//   seq      nothing while every entry is spilled: the spill store gives a queue's spilled
//            messages back in order from the head and needs no position. For entries of the
//            durable store, a u32 offset from the chunk's first such seq (f64 when a seq is below
//            it or 2^32 past it)
//   expiry   nothing while every entry has no TTL; then u32 ms after the chunk's first finite
//            deadline, 0 meaning none (f64 when a deadline is fractional, earlier, or 49 days on)
// So a small spilled message costs 1 byte (5 with a TTL), a small persistent one 6. There is no
// doubling slack (at most one partly filled chunk), no copy of the whole backlog when it grows,
// and each chunk is dropped as soon as its last entry is shifted out. Chunk memory is mapped
// (store/mapped-memory.ts), so a drained queue's memory goes back to the OS.

import { mappedBuffer } from '../../store/mapped-memory.js';

/** Flag bits. */
export const PAGED_SPILL = 1; // in the transient spill store, not the durable message store
export const PAGED_REDELIVERED = 2;

/** 8192 entries: 8 KiB a chunk for small spilled bodies, so chunk bookkeeping is noise and a drained chunk frees memory soon. */
const CHUNK = 8192;
const U32_LIMIT = 0x1_0000_0000;
const U16_MAX = 0xffff;
const U8_MAX = 0xff;

class TailChunk {
  /** Seq of the first entry with one: u32 seq offsets are from here. */
  seqBase: number;
  seq32: Uint32Array | null;
  seq64: Float64Array | null;
  /** Body sizes; widened u8 -> u16 -> u32 as needed. */
  sizes: Uint8Array | Uint16Array | Uint32Array;
  sizeMax: number;
  /** null while every entry's flags are PAGED_SPILL. */
  flags: Uint8Array | null;
  /** First finite deadline pushed here: u32 expiry offsets are from here. */
  expBase: number;
  exp32: Uint32Array | null;
  exp64: Float64Array | null;
  /** Entries written. */
  n: number;
  /** Next entry to shift. */
  head: number;

  constructor() {
    this.seqBase = 0;
    this.seq32 = null;
    this.seq64 = null;
    this.sizes = new Uint8Array(mappedBuffer(CHUNK));
    this.sizeMax = U8_MAX;
    this.flags = null;
    this.expBase = 0;
    this.exp32 = null;
    this.exp64 = null;
    this.n = 0;
    this.head = 0;
  }

  push(seq: number, expiresAt: number, size: number, flags: number): void {
    const i = this.n++;
    if ((flags & PAGED_SPILL) === 0) this.setSeq(i, seq);
    if (size > this.sizeMax) this.widenSizes(size);
    this.sizes[i] = size;
    if (this.flags !== null) this.flags[i] = flags;
    else if (flags !== PAGED_SPILL) {
      this.flags = new Uint8Array(mappedBuffer(CHUNK));
      this.flags.fill(PAGED_SPILL, 0, i);
      this.flags[i] = flags;
    }
    if (expiresAt !== Infinity || this.exp32 !== null || this.exp64 !== null) this.setExpiry(i, expiresAt);
  }

  /** The store position of entry i; -1 for a spilled entry (it has none). */
  seqAt(i: number): number {
    if (this.flagsAt(i) & PAGED_SPILL) return -1;
    return this.seq32 !== null ? this.seqBase + (this.seq32[i] as number) : ((this.seq64 as Float64Array)[i] as number);
  }

  sizeAt(i: number): number {
    return this.sizes[i] as number;
  }

  flagsAt(i: number): number {
    return this.flags === null ? PAGED_SPILL : (this.flags[i] as number);
  }

  expiryAt(i: number): number {
    if (this.exp32 !== null) {
      const v = this.exp32[i] as number;
      return v === 0 ? Infinity : this.expBase + v - 1;
    }
    return this.exp64 !== null ? (this.exp64[i] as number) : Infinity;
  }

  private setSeq(i: number, seq: number): void {
    if (this.seq32 === null && this.seq64 === null) {
      // First entry with a store position: earlier entries are all spilled (no position).
      this.seqBase = seq;
      this.seq32 = new Uint32Array(mappedBuffer(CHUNK * 4));
    }
    const d = seq - this.seqBase;
    if (this.seq32 !== null && d >= 0 && d < U32_LIMIT) {
      this.seq32[i] = d;
      return;
    }
    if (this.seq64 === null) {
      const narrow = this.seq32 as Uint32Array;
      const wide = new Float64Array(mappedBuffer(CHUNK * 8));
      for (let k = 0; k < i; k++) wide[k] = this.seqBase + (narrow[k] as number);
      this.seq64 = wide;
      this.seq32 = null;
    }
    this.seq64[i] = seq;
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

  private widenSizes(size: number): void {
    const wide = size <= U16_MAX ? new Uint16Array(mappedBuffer(CHUNK * 2)) : new Uint32Array(mappedBuffer(CHUNK * 4));
    wide.set(this.sizes.subarray(0, this.n - 1));
    this.sizes = wide;
    this.sizeMax = size <= U16_MAX ? U16_MAX : Number.MAX_SAFE_INTEGER;
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
      c = new TailChunk();
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

  /** The head's store position; -1 for a spilled message (the spill store gives its messages back in order). */
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
    return c.flagsAt(c.head);
  }

  /** Every entry, for purge and deletion. */
  forEach(f: (seq: number, flags: number) => void): void {
    for (const c of this.chunks) for (let i = c.head; i < c.n; i++) f(c.seqAt(i), c.flagsAt(i));
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
      n += c.flags?.byteLength ?? 0;
      n += c.seq32?.byteLength ?? c.seq64?.byteLength ?? 0;
      n += c.sizes.byteLength;
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
