// What open() finds, as columns: a recovered backlog of millions of messages costs a few typed
// arrays, not an object (plus a header view) per message that the GC must trace and then collect.
// The broker keeps most recovered messages on disk (a paged tail needs a seq, a size and a TTL
// per message), so it builds objects only for the few it holds in memory.

import type { RecoveredMessage, RecoveredQueueMessages } from './message-store.js';

/** A growable column of numbers off the JS heap: a scan of a large backlog pushes millions. */
export class NumColumn {
  private data: Float64Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Float64Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  at(i: number): number {
    return this.data[i] as number;
  }
  set(i: number, v: number): void {
    this.data[i] = v;
  }
  /** The values pushed, as an array of their own. */
  toArray(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

/**
 * Copies of small buffers packed into shared slabs: one allocation per 256 KiB, not one per
 * message. A copy is named by its slab and offset; a view is cut only when asked for.
 */
export class HeaderArena {
  readonly slabs: Buffer[] = [];
  private slab = Buffer.allocUnsafeSlow(0);
  private used = 0;
  /** Copies buf[start, end); returns slab index * 2^32 + offset (read back with view()). */
  copy(buf: Buffer, start: number, end: number): number {
    const n = end - start;
    if (n === 0) return 0;
    if (n > this.slab.length - this.used) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(256 * 1024, n));
      this.slabs.push(this.slab);
      this.used = 0;
    }
    const slab = this.slab;
    const at = this.used;
    // A loop: Buffer#copy cuts a view per call, which costs more than a header's bytes.
    if (n <= 512) for (let i = 0; i < n; i++) slab[at + i] = buf[start + i] as number;
    else buf.copy(slab, at, start, end);
    this.used += n;
    return (this.slabs.length - 1) * 0x1_0000_0000 + at;
  }
  view(ref: number, length: number): Buffer {
    if (length === 0) return Buffer.alloc(0);
    const slab = this.slabs[Math.floor(ref / 0x1_0000_0000)] as Buffer;
    const at = ref % 0x1_0000_0000;
    return slab.subarray(at, at + length);
  }
}

/**
 * One number per distinct byte sequence (an index into `strings`), found by hashing the bytes
 * where they lie: decoding each name per message costs more than the scan itself. Past `limit`
 * distinct values a name gets a new index each time (decoded, not remembered).
 */
export class BytesInterner {
  readonly strings: string[] = [];
  /** The bytes of each kept id (undefined past the limit). */
  private readonly bytesOf: Array<Buffer | undefined> = [];
  private readonly buckets = new Map<number, Array<{ bytes: Buffer; id: number }>>();
  private kept = 0;
  constructor(private readonly limit: number) {}
  /**
   * The id of buf[start, end). `hint`, an id that is likely the answer (the same field of the
   * queue's previous message), is checked first, which skips the hash.
   */
  id(buf: Buffer, start: number, end: number, hint = -1): number {
    if (hint >= 0) {
      const b = this.bytesOf[hint];
      if (b !== undefined && sameBytes(b, buf, start, end)) return hint;
    }
    let h = 0x811c9dc5 ^ (end - start);
    for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    const bucket = this.buckets.get(h);
    if (bucket !== undefined) {
      for (const e of bucket) if (sameBytes(e.bytes, buf, start, end)) return e.id;
    }
    const id = this.strings.length;
    this.strings.push(buf.toString('utf8', start, end));
    if (this.kept < this.limit) {
      const entry = { bytes: Buffer.from(buf.subarray(start, end)), id };
      this.bytesOf[id] = entry.bytes;
      if (bucket === undefined) this.buckets.set(h, [entry]);
      else bucket.push(entry);
      this.kept++;
    }
    return id;
  }
}

function sameBytes(a: Buffer, buf: Buffer, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[start + i]) return false;
  return true;
}

/** Fields of a row of the scan table (one row per MESSAGE record kept, in scan order). */
export const F_SEQ = 0;
/** Index of its segment in the scan. */
export const F_SEG = 1;
export const F_OFFSET = 2;
/** Record length; 0 once acked or purged. */
export const F_LENGTH = 3;
/** Header plus body bytes. */
export const F_SIZE = 4;
export const F_ENQUEUED_AT = 5;
export const F_EXCHANGE = 6;
export const F_ROUTING_KEY = 7;
export const F_HEADER_REF = 8;
export const F_HEADER_LENGTH = 9;
export const F_DELIVERIES = 10;
/** The content header's property flags, or 0 if it is too short to have them. */
export const F_PROPERTY_FLAGS = 11;
const STRIDE = 12;

/**
 * Every MESSAGE record a scan kept, as rows of numbers in one growable array: one bounds check
 * and one growth path per message instead of one per field. Shared by the recovered queues.
 */
export class ScanTable {
  data = new Float64Array(STRIDE * 4096);
  rows = 0;
  readonly names: BytesInterner;
  readonly headers = new HeaderArena();

  constructor(names: BytesInterner) {
    this.names = names;
  }

  /** Appends a zeroed row; returns its base index into data (valid until the next add). */
  add(): number {
    const base = this.rows * STRIDE;
    if (base + STRIDE > this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.rows++;
    return base;
  }

  /** Field f of row r. */
  get(r: number, f: number): number {
    return this.data[r * STRIDE + f] as number;
  }

  set(r: number, f: number, v: number): void {
    this.data[r * STRIDE + f] = v;
  }
}

/** Content-header payload: class (2) weight (2) body size (8), then the u16 property flags. */
export const PROPERTY_FLAGS_OFFSET = 12;

/**
 * One queue's recovered messages in seq order (append order). Accessors take a position in
 * [0, length); at(i) or iteration builds the RecoveredMessage objects for callers that want them.
 */
export class RecoveredQueue implements RecoveredQueueMessages {
  readonly name: string;
  /** Scan index of each message. */
  private readonly slots: Float64Array;
  private readonly cols: ScanTable;

  constructor(name: string, slots: Float64Array, cols: ScanTable) {
    this.name = name;
    this.slots = slots;
    this.cols = cols;
  }

  get length(): number {
    return this.slots.length;
  }

  private slot(i: number): number {
    if (!(i >= 0 && i < this.slots.length)) throw new RangeError(`recovered queue ${this.name}: no message ${i}`);
    return this.slots[i] as number;
  }

  private field(i: number, f: number): number {
    return this.cols.get(this.slot(i), f);
  }

  seqAt(i: number): number {
    return this.field(i, F_SEQ);
  }

  /** Header plus body bytes. */
  sizeAt(i: number): number {
    return this.field(i, F_SIZE);
  }

  bodySizeAt(i: number): number {
    const r = this.slot(i);
    return this.cols.get(r, F_SIZE) - this.cols.get(r, F_HEADER_LENGTH);
  }

  enqueuedAtAt(i: number): number {
    return this.field(i, F_ENQUEUED_AT);
  }

  deliveryCountAt(i: number): number {
    return this.field(i, F_DELIVERIES);
  }

  exchangeAt(i: number): string {
    return this.cols.names.strings[this.field(i, F_EXCHANGE)] as string;
  }

  routingKeyAt(i: number): string {
    return this.cols.names.strings[this.field(i, F_ROUTING_KEY)] as string;
  }

  /** The content-header bytes: a view into a slab shared with other recovered headers. */
  headerAt(i: number): Buffer {
    const r = this.slot(i);
    return this.cols.headers.view(this.cols.get(r, F_HEADER_REF), this.cols.get(r, F_HEADER_LENGTH));
  }

  /** The content header's property flags (AMQP 0-9-1 4.2.6.1), read without cutting a view; 0 if too short. */
  propertyFlagsAt(i: number): number {
    return this.field(i, F_PROPERTY_FLAGS);
  }

  at(i: number): RecoveredMessage {
    const deliveryCount = this.deliveryCountAt(i);
    return {
      seq: this.seqAt(i),
      redelivered: deliveryCount > 0,
      deliveryCount,
      size: this.sizeAt(i),
      enqueuedAt: this.enqueuedAtAt(i),
      exchange: this.exchangeAt(i),
      routingKey: this.routingKeyAt(i),
      header: this.headerAt(i),
    };
  }

  *[Symbol.iterator](): Iterator<RecoveredMessage> {
    for (let i = 0; i < this.slots.length; i++) yield this.at(i);
  }

}

/** open()'s result as plain lists of objects (tests and tools; the broker reads the columns). */
export function recoveredLists(m: ReadonlyMap<string, RecoveredQueueMessages>): Map<string, RecoveredMessage[]> {
  return new Map([...m].map(([name, q]) => [name, [...q]]));
}
