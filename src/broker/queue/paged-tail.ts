// The part of a deep queue that lives only on disk: per message a store position, its TTL
// deadline, body size and two flags, in typed arrays (about 21 bytes a message, no objects).

/** Flag bits. */
export const PAGED_SPILL = 1; // in the transient spill store, not the durable message store
export const PAGED_REDELIVERED = 2;

export class PagedTail {
  private seqs = new Float64Array(1024);
  private expiries = new Float64Array(1024);
  private sizes = new Uint32Array(1024);
  private flags = new Uint8Array(1024);
  private head = 0;
  private count = 0;
  /** Sum of body sizes held here. */
  bytes = 0;

  get length(): number {
    return this.count;
  }

  push(seq: number, expiresAt: number, size: number, flags: number): void {
    if (this.count === this.seqs.length) this.grow();
    const i = (this.head + this.count) % this.seqs.length;
    this.seqs[i] = seq;
    this.expiries[i] = expiresAt;
    this.sizes[i] = size;
    this.flags[i] = flags;
    this.count++;
    this.bytes += size;
  }

  /** Remove the head; read its fields first with the peek* accessors. */
  shift(): void {
    if (this.count === 0) return;
    this.bytes -= this.sizes[this.head] as number;
    this.head = (this.head + 1) % this.seqs.length;
    this.count--;
    if (this.count === 0) this.reset();
  }

  get headSeq(): number {
    return this.seqs[this.head] as number;
  }

  get headExpiresAt(): number {
    return this.expiries[this.head] as number;
  }

  get headFlags(): number {
    return this.flags[this.head] as number;
  }

  /** Every entry, for purge and deletion. */
  forEach(f: (seq: number, flags: number) => void): void {
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % this.seqs.length;
      f(this.seqs[i] as number, this.flags[i] as number);
    }
  }

  clear(): void {
    this.reset();
  }

  private reset(): void {
    // Give the memory of a drained deep queue back.
    if (this.seqs.length > 1024) {
      this.seqs = new Float64Array(1024);
      this.expiries = new Float64Array(1024);
      this.sizes = new Uint32Array(1024);
      this.flags = new Uint8Array(1024);
    }
    this.head = 0;
    this.count = 0;
    this.bytes = 0;
  }

  private grow(): void {
    const n = this.seqs.length * 2;
    const seqs = new Float64Array(n);
    const expiries = new Float64Array(n);
    const sizes = new Uint32Array(n);
    const flags = new Uint8Array(n);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % this.seqs.length;
      seqs[k] = this.seqs[i] as number;
      expiries[k] = this.expiries[i] as number;
      sizes[k] = this.sizes[i] as number;
      flags[k] = this.flags[i] as number;
    }
    this.seqs = seqs;
    this.expiries = expiries;
    this.sizes = sizes;
    this.flags = flags;
    this.head = 0;
  }
}
