// Compact in-memory index of one queue's stored messages (where each record lives, not its bytes).
//
// 16 bytes per message in chunks of typed arrays, instead of an object plus a Map entry
// (~110 B): a deep backlog of millions of messages costs tens of MB, and the GC has nothing to
// trace. A queue's seqs only grow (append order), so slots are sorted by seq and a lookup is a
// binary search over chunks, then within one. Removal leaves a hole (length 0) that is skipped.
//
// Chunks hold up to CHUNK slots. The newest one grows by doubling from MIN_CAPACITY (a queue
// of a few messages costs a few hundred bytes) and, when full, squeezes out its holes instead
// of growing if at least half are holes; a full chunk of CHUNK slots is followed by a new one
// as large, so a deep queue never copies its whole index and has at most one chunk of slack.
// A chunk whose last message goes is dropped at once (a drained queue gives memory back as it
// drains); an older chunk left mostly holes is shrunk to its live slots.
//
// Slot layout, 4 u32 words:
//   0  seq - chunk.seqBase (a seq 2^32 or more past the chunk's first starts a new chunk)
//   1  record offset in the segment
//   2  record length (header + payload); 0 marks a removed slot
//   3  u16 record overhead (length - message size; at most ~800)
//      | u16 (segment id - chunk.segBase + 0x8000) << 16 (out of range: a new chunk)
// Delivery counts live in a u16 column allocated on a chunk's first delivery; counts from
// 0xffff on live in a side map, so the u16 never silently saturates.

import { mappedBuffer } from './mapped-memory.js';

const WORDS = 4;
const MIN_CAPACITY = 8;
/** 4096 slots: 64 KiB a chunk, small enough to free soon after a drain, large enough that chunk bookkeeping is noise. */
const CHUNK = 4096;
const MAX_U16 = 0xffff;
const SEG_BIAS = 0x8000;
const U32_LIMIT = 0x1_0000_0000;

class IndexChunk {
  readonly seqBase: number;
  readonly segBase: number;
  words: Uint32Array;
  deliveries: Uint16Array | null;
  /** Slots in use are [head, n); no live slot below head. */
  head: number;
  n: number;
  live: number;

  constructor(seqBase: number, segBase: number, capacity: number) {
    this.seqBase = seqBase;
    this.segBase = segBase;
    this.words = words(capacity);
    this.deliveries = null;
    this.head = 0;
    this.n = 0;
    this.live = 0;
  }

  get capacity(): number {
    return this.words.length / WORDS;
  }

  /** Whether seq and segId can be stored here (relative to this chunk's bases). */
  fits(seq: number, segId: number): boolean {
    const s = segId - this.segBase + SEG_BIAS;
    return seq - this.seqBase < U32_LIMIT && s >= 0 && s <= MAX_U16;
  }

  seqAt(i: number): number {
    return this.seqBase + (this.words[i * WORDS] as number);
  }

  /** Copies the live slots, in order, to the start of a buffer of `capacity` slots (the same one if equal). */
  resize(capacity: number): void {
    const src = this.words;
    const dst = capacity * WORDS === src.length ? src : words(capacity);
    const dsrc = this.deliveries;
    const ddst = dsrc === null ? null : dst === src ? dsrc : new Uint16Array(capacity);
    let j = 0;
    for (let i = this.head; i < this.n; i++) {
      const w = i * WORDS;
      if (src[w + 2] === 0) continue;
      if (dst !== src) dst.set(src.subarray(w, w + WORDS), j * WORDS);
      else if (i !== j) dst.copyWithin(j * WORDS, w, w + WORDS);
      if (ddst !== null && dsrc !== null) ddst[j] = dsrc[i] as number;
      j++;
    }
    if (ddst !== null && ddst === dsrc) ddst.fill(0, j, this.n);
    this.words = dst;
    this.deliveries = ddst;
    this.head = 0;
    this.n = j;
  }
}

/** Full-size chunks (deep queues) get memory the OS takes back once they are dropped. */
function words(capacity: number): Uint32Array {
  return capacity === CHUNK ? new Uint32Array(mappedBuffer(CHUNK * WORDS * 4)) : new Uint32Array(capacity * WORDS);
}

export class QueueIndex {
  readonly name: string;
  readonly nameBytes: Buffer;
  /** Live messages. */
  count: number;
  /** Sum of message sizes (header + body) of live messages. */
  bytes: number;
  /** Oldest first, by seq; never empty of slots except the single chunk of an empty index. */
  private chunks: IndexChunk[];
  /** Ordinal of chunks[0]: slot numbers are ordinal * CHUNK + position in the chunk. */
  private first: number;
  /** Deliveries of messages counted past 0xffff, by seq. */
  private overflow: Map<number, number> | null;

  constructor(name: string, nameBytes: Buffer) {
    this.name = name;
    this.nameBytes = nameBytes;
    this.count = 0;
    this.bytes = 0;
    this.chunks = [];
    this.first = 0;
    this.overflow = null;
  }

  /** Appends a message; `seq` must exceed every seq pushed before. Invalidates slot numbers. */
  push(seq: number, segId: number, offset: number, length: number, size: number): void {
    const overhead = length - size;
    if (segId < 1 || overhead < 0 || overhead > MAX_U16 || length < 1) throw new RangeError('queue index: bad entry');
    let c = this.chunks[this.chunks.length - 1];
    if (c === undefined || c.n === c.capacity || !c.fits(seq, segId)) c = this.makeRoom(c, seq, segId);
    const i = c.n++;
    const w = i * WORDS;
    const u = c.words;
    u[w] = seq - c.seqBase;
    u[w + 1] = offset;
    u[w + 2] = length;
    u[w + 3] = (overhead | ((segId - c.segBase + SEG_BIAS) << 16)) >>> 0;
    c.live++;
    this.count++;
    this.bytes += size;
  }

  /** Slot of the live message `seq`, or -1. Valid until the next push or remove. */
  find(seq: number): number {
    const chunks = this.chunks;
    // Last chunk whose base is at or below seq.
    let lo = 0;
    let hi = chunks.length - 1;
    let k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((chunks[mid] as IndexChunk).seqBase <= seq) {
        k = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (k < 0) return -1;
    const c = chunks[k] as IndexChunk;
    const d = seq - c.seqBase;
    const u = c.words;
    lo = c.head;
    hi = c.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = u[mid * WORDS] as number;
      if (v < d) lo = mid + 1;
      else if (v > d) hi = mid - 1;
      else return u[mid * WORDS + 2] === 0 ? -1 : (this.first + k) * CHUNK + mid;
    }
    return -1;
  }

  /** First slot to iterate from; iterate to `end` and skip slots where !isLive. */
  get start(): number {
    const c = this.chunks[0];
    return c === undefined ? 0 : this.first * CHUNK + c.head;
  }

  get end(): number {
    const k = this.chunks.length - 1;
    const c = this.chunks[k];
    return c === undefined ? 0 : (this.first + k) * CHUNK + c.n;
  }

  isLive(slot: number): boolean {
    const c = this.chunks[Math.floor(slot / CHUNK) - this.first];
    const i = slot % CHUNK;
    return c !== undefined && i < c.n && c.words[i * WORDS + 2] !== 0;
  }

  seqAt(slot: number): number {
    return this.chunkOf(slot).seqAt(slot % CHUNK);
  }

  segAt(slot: number): number {
    const c = this.chunkOf(slot);
    return c.segBase + ((c.words[(slot % CHUNK) * WORDS + 3] as number) >>> 16) - SEG_BIAS;
  }

  offsetAt(slot: number): number {
    return this.chunkOf(slot).words[(slot % CHUNK) * WORDS + 1] as number;
  }

  lengthAt(slot: number): number {
    return this.chunkOf(slot).words[(slot % CHUNK) * WORDS + 2] as number;
  }

  sizeAt(slot: number): number {
    const u = this.chunkOf(slot).words;
    const w = (slot % CHUNK) * WORDS;
    return (u[w + 2] as number) - ((u[w + 3] as number) & MAX_U16);
  }

  deliveriesAt(slot: number): number {
    const c = this.chunkOf(slot);
    const d = c.deliveries === null ? 0 : (c.deliveries[slot % CHUNK] as number);
    return d < MAX_U16 ? d : (this.overflow?.get(c.seqAt(slot % CHUNK)) ?? MAX_U16);
  }

  setDeliveries(slot: number, n: number): void {
    const c = this.chunkOf(slot);
    const i = slot % CHUNK;
    if (c.deliveries === null) {
      if (n === 0) return;
      c.deliveries = new Uint16Array(c.capacity);
    }
    if (n < MAX_U16) {
      c.deliveries[i] = n;
      this.overflow?.delete(c.seqAt(i));
    } else {
      c.deliveries[i] = MAX_U16;
      (this.overflow ??= new Map()).set(c.seqAt(i), n);
    }
  }

  addDelivery(slot: number): void {
    this.setDeliveries(slot, this.deliveriesAt(slot) + 1);
  }

  /** Removes the live message in `slot`. Invalidates slot numbers. */
  remove(slot: number): void {
    const k = Math.floor(slot / CHUNK) - this.first;
    const c = this.chunks[k];
    const i = slot % CHUNK;
    if (c === undefined || i >= c.n) return;
    const u = c.words;
    const w = i * WORDS;
    if (u[w + 2] === 0) return;
    this.bytes -= this.sizeAt(slot);
    this.count--;
    if (c.deliveries !== null && c.deliveries[i] === MAX_U16) this.overflow?.delete(c.seqAt(i));
    u[w + 2] = 0;
    c.live--;
    if (c.live === 0) {
      this.dropChunk(k);
      return;
    }
    if (i === c.head) {
      while (c.head < c.n && u[c.head * WORDS + 2] === 0) c.head++;
    }
    // A chunk left mostly holes shrinks: an older one (no more pushes) to its live slots, the
    // newest to twice them (room to push; it doubles again as needed).
    if (c.capacity >= 64 && c.live < c.capacity / 8) {
      c.resize(k < this.chunks.length - 1 ? c.live : Math.max(MIN_CAPACITY, c.live * 2));
    }
  }

  /** Forgets every message. */
  clear(): void {
    this.count = 0;
    this.bytes = 0;
    this.chunks = [];
    this.first = 0;
    this.overflow = null;
  }

  /** Bytes of the index's typed arrays (for tests and accounting). */
  get capacityBytes(): number {
    let n = 0;
    for (const c of this.chunks) n += c.words.byteLength + (c.deliveries?.byteLength ?? 0);
    return n;
  }

  private chunkOf(slot: number): IndexChunk {
    const c = this.chunks[Math.floor(slot / CHUNK) - this.first];
    if (c === undefined) throw new RangeError(`queue index: no slot ${slot}`);
    return c;
  }

  private dropChunk(k: number): void {
    const c = this.chunks[k] as IndexChunk;
    if (this.chunks.length === 1) {
      // The last message went: keep a small chunk for the next push, drop a big one.
      this.first = 0;
      if (c.capacity === MIN_CAPACITY) {
        c.head = 0;
        c.n = 0;
        c.deliveries = null;
      } else {
        this.chunks = [];
      }
      return;
    }
    if (k === 0) this.first++;
    this.chunks.splice(k, 1);
  }

  /** The chunk to push (seq, segId) into when `c`, the newest, is full or cannot hold it. */
  private makeRoom(c: IndexChunk | undefined, seq: number, segId: number): IndexChunk {
    if (c !== undefined && c.live === 0) {
      // The kept empty chunk of an empty index, whose bases do not fit: replace it.
      this.chunks = [];
      c = undefined;
    }
    if (c !== undefined && c.fits(seq, segId)) {
      const capacity = c.capacity;
      // Squeeze out holes if at least half are holes, else double up to CHUNK.
      if (c.live <= capacity / 2) {
        c.resize(capacity);
        return c;
      }
      if (capacity < CHUNK) {
        c.resize(capacity * 2);
        return c;
      }
    }
    const next = new IndexChunk(seq, segId, c === undefined ? MIN_CAPACITY : c.capacity);
    if (c === undefined) this.first = 0;
    this.chunks.push(next);
    return next;
  }
}
