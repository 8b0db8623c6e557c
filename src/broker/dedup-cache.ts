// Idempotency keys seen by an x-message-deduplication exchange: bounded in entries
// (oldest evicted first) and optionally in time (x-cache-ttl, per exchange or per message).

import type { FieldValue } from '../protocol/field-table.js';

/** Header the deduplication plugin reads the idempotency key from. */
export const DEDUP_HEADER = 'x-deduplication-header';

/** The idempotency key carried by a header value, or undefined when there is none. */
export function dedupKeyOf(v: FieldValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : JSON.stringify(v);
}

export class DedupCache {
  /** key -> epoch ms when it stops counting as seen (Infinity without TTL); Map keeps insertion order. */
  private readonly entries = new Map<string, number>();
  readonly maxSize: number;
  readonly ttl: number | undefined;

  constructor(maxSize: number, ttl: number | undefined) {
    this.maxSize = maxSize;
    this.ttl = ttl;
  }

  get size(): number {
    return this.entries.size;
  }

  /** True if key was seen and has not expired; otherwise records it and returns false. */
  checkAndAdd(key: string, now: number, messageTtl: number | undefined): boolean {
    const until = this.entries.get(key);
    if (until !== undefined) {
      if (until > now) return true;
      this.entries.delete(key);
    }
    const ttl = messageTtl ?? this.ttl;
    this.entries.set(key, ttl === undefined ? Infinity : now + ttl);
    while (this.entries.size > this.maxSize) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return false;
  }

  /** For persistence: live entries in insertion order. */
  snapshot(now: number): [string, number][] {
    const out: [string, number][] = [];
    for (const [k, until] of this.entries) if (until > now) out.push([k, until]);
    return out;
  }

  restore(entries: readonly [string, number][]): void {
    for (const [k, until] of entries) this.entries.set(k, until);
  }
}
