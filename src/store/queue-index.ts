// Compact in-memory index of one queue's stored messages (where each record lives, not its bytes).
//
// 24 bytes per message in one ArrayBuffer, instead of an object plus a Map entry (~110 B):
// a deep backlog of millions of messages costs tens of MB, and the GC has nothing to trace.
// A queue's seqs only grow (append order), so slots are sorted by seq and a lookup is a
// binary search. Removal leaves a hole (segment id 0) that is skipped, dropped from the head,
// and squeezed out when the buffer would grow or is mostly empty.
//
// Slot layout, 6 u32 words (the f64 overlays words 0-1, so slots stay 8-byte aligned):
//   0-1  f64 seq
//   2    u32 segment id (ids start at 1; 0 marks a removed slot)
//   3    u32 record offset in the segment
//   4    u32 record length (header + payload)
//   5    u16 record overhead (length - message size; at most ~800) | u16 deliveries << 16
// Delivery counts from 0xffff on live in a side map, so the u16 never silently saturates.

const WORDS = 6;
const MIN_CAPACITY = 8;
const MAX_U16 = 0xffff;

export class QueueIndex {
  readonly name: string;
  readonly nameBytes: Buffer;
  /** Live messages. */
  count: number;
  /** Sum of message sizes (header + body) of live messages. */
  bytes: number;
  private f64: Float64Array;
  private u32: Uint32Array;
  /** No live slot below head. */
  private head: number;
  /** Slots in use are [head, tail). */
  private tail: number;
  /** Deliveries of messages counted past 0xffff, by seq. */
  private overflow: Map<number, number> | null;

  constructor(name: string, nameBytes: Buffer) {
    this.name = name;
    this.nameBytes = nameBytes;
    this.count = 0;
    this.bytes = 0;
    this.f64 = new Float64Array(0);
    this.u32 = new Uint32Array(0);
    this.head = 0;
    this.tail = 0;
    this.overflow = null;
    this.alloc(MIN_CAPACITY);
  }

  /** Appends a message; `seq` must exceed every seq pushed before. Invalidates slot numbers. */
  push(seq: number, segId: number, offset: number, length: number, size: number): void {
    const overhead = length - size;
    if (segId < 1 || overhead < 0 || overhead > MAX_U16) throw new RangeError('queue index: bad entry');
    if (this.tail * WORDS === this.u32.length) this.makeRoom();
    const t = this.tail++;
    const w = t * WORDS;
    this.f64[t * (WORDS / 2)] = seq;
    const u = this.u32;
    u[w + 2] = segId;
    u[w + 3] = offset;
    u[w + 4] = length;
    u[w + 5] = overhead;
    this.count++;
    this.bytes += size;
  }

  /** Slot of the live message `seq`, or -1. Valid until the next push or remove. */
  find(seq: number): number {
    const f = this.f64;
    let lo = this.head;
    let hi = this.tail - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = f[mid * (WORDS / 2)] as number;
      if (v < seq) lo = mid + 1;
      else if (v > seq) hi = mid - 1;
      else return this.u32[mid * WORDS + 2] === 0 ? -1 : mid;
    }
    return -1;
  }

  /** First slot to iterate from; iterate to `end` and skip slots where !isLive. */
  get start(): number {
    return this.head;
  }

  get end(): number {
    return this.tail;
  }

  isLive(slot: number): boolean {
    return this.u32[slot * WORDS + 2] !== 0;
  }

  seqAt(slot: number): number {
    return this.f64[slot * (WORDS / 2)] as number;
  }

  segAt(slot: number): number {
    return this.u32[slot * WORDS + 2] as number;
  }

  offsetAt(slot: number): number {
    return this.u32[slot * WORDS + 3] as number;
  }

  lengthAt(slot: number): number {
    return this.u32[slot * WORDS + 4] as number;
  }

  sizeAt(slot: number): number {
    return (this.u32[slot * WORDS + 4] as number) - ((this.u32[slot * WORDS + 5] as number) & MAX_U16);
  }

  deliveriesAt(slot: number): number {
    const d = (this.u32[slot * WORDS + 5] as number) >>> 16;
    return d < MAX_U16 ? d : (this.overflow?.get(this.seqAt(slot)) ?? MAX_U16);
  }

  setDeliveries(slot: number, n: number): void {
    const w = slot * WORDS + 5;
    const u = this.u32;
    const low = (u[w] as number) & MAX_U16;
    if (n < MAX_U16) {
      u[w] = (low | (n << 16)) >>> 0;
      this.overflow?.delete(this.seqAt(slot));
    } else {
      u[w] = (low | (MAX_U16 << 16)) >>> 0;
      (this.overflow ??= new Map()).set(this.seqAt(slot), n);
    }
  }

  addDelivery(slot: number): void {
    this.setDeliveries(slot, this.deliveriesAt(slot) + 1);
  }

  /** Removes the live message in `slot`. Invalidates slot numbers. */
  remove(slot: number): void {
    const u = this.u32;
    const w = slot * WORDS;
    if (u[w + 2] === 0) return;
    this.bytes -= this.sizeAt(slot);
    this.count--;
    if ((u[w + 5] as number) >>> 16 === MAX_U16) this.overflow?.delete(this.seqAt(slot));
    u[w + 2] = 0;
    if (this.count === 0) {
      this.head = 0;
      this.tail = 0;
      // A drained deep queue gives its buffer back.
      if (this.u32.length > MIN_CAPACITY * WORDS) this.alloc(MIN_CAPACITY);
      return;
    }
    while (this.head < this.tail && u[this.head * WORDS + 2] === 0) this.head++;
    const capacity = this.u32.length / WORDS;
    if (capacity > 1024 && this.count < capacity / 8) this.resize(Math.max(MIN_CAPACITY, this.count * 2));
  }

  /** Forgets every message. */
  clear(): void {
    this.count = 0;
    this.bytes = 0;
    this.head = 0;
    this.tail = 0;
    this.overflow = null;
    if (this.u32.length > MIN_CAPACITY * WORDS) this.alloc(MIN_CAPACITY);
  }

  /** Bytes of the index's buffer (for tests and accounting). */
  get capacityBytes(): number {
    return this.u32.byteLength;
  }

  /** Full at the tail: squeeze out holes if at least half are holes, else double. */
  private makeRoom(): void {
    const capacity = this.u32.length / WORDS;
    this.resize(this.count <= capacity / 2 ? capacity : capacity * 2);
  }

  /** Copies the live slots, in order, to the start of a buffer of `capacity` slots (the same one if equal). */
  private resize(capacity: number): void {
    const src = this.u32;
    const dst = capacity * WORDS === src.length ? src : new Uint32Array(capacity * WORDS);
    let j = 0;
    for (let i = this.head; i < this.tail; i++) {
      const w = i * WORDS;
      if (src[w + 2] === 0) continue;
      if (dst !== src || i !== j) {
        const d = j * WORDS;
        for (let k = 0; k < WORDS; k++) dst[d + k] = src[w + k] as number;
      }
      j++;
    }
    if (dst !== src) {
      this.u32 = dst;
      this.f64 = new Float64Array(dst.buffer);
    }
    this.head = 0;
    this.tail = j;
  }

  private alloc(capacity: number): void {
    this.u32 = new Uint32Array(capacity * WORDS);
    this.f64 = new Float64Array(this.u32.buffer);
  }
}
