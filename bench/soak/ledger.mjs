// Accounting of confirmed messages: an id enters `pending` (one entry per queue its route feeds)
// when the broker confirms it, and leaves when a client acks it from that queue. A message can be
// consumed before its confirm arrives, so consumptions of not-yet-confirmed ids wait in `early`.

const RECENT_KEPT = 200000;
const REPEATS_KEPT = 20;

export class Ledger {
  constructor(routes) {
    this.routes = new Map(routes.map((r) => [r.name, r]));
    this.pending = new Map();
    this.early = new Map();
    for (const r of routes) {
      for (const q of r.queues) {
        this.pending.set(q, new Set());
        this.early.set(q, new Set());
      }
    }
    this.confirmed = 0;
    this.accounted = 0;
    /** Recent consumptions ("queue:id" -> how), so a duplicate can be shown next to its first delivery. */
    this.recent = new Map();
    /** Consumptions of ids that were no longer pending: what happened the first and the second time. */
    this.repeats = [];
  }

  /** The broker confirmed message `id` of `route`. */
  confirm(route, id) {
    this.confirmed++;
    for (const q of route.queues) {
      if (this.early.get(q).delete(id)) this.accounted++;
      else this.pending.get(q).add(id);
    }
  }

  /** A client acked message `id` taken from queue `q`; `how` describes the delivery (kept for duplicates). */
  consume(q, id, how = {}) {
    if (typeof id !== 'string') return;
    const route = this.routes.get(id.slice(0, id.indexOf('.')));
    if (!route || !route.confirm) return;
    const pending = this.pending.get(q);
    if (pending === undefined) return;
    const key = `${q}:${id}`;
    const entry = { ...how, at: new Date().toISOString() };
    if (pending.delete(id)) this.accounted++;
    else {
      const first = this.recent.get(key);
      if (first !== undefined && this.repeats.length < REPEATS_KEPT) this.repeats.push({ key, first, again: entry });
      this.early.get(q).add(id);
    }
    this.recent.set(key, entry);
    if (this.recent.size > RECENT_KEPT) this.recent.delete(this.recent.keys().next().value);
  }

  /** Confirmed copies not yet consumed from their queue. */
  outstanding() {
    let n = 0;
    for (const s of this.pending.values()) n += s.size;
    return n;
  }

  /** Consumed ids never confirmed (a duplicate delivery, or a publish the broker nacked). */
  unconfirmedConsumed() {
    let n = 0;
    for (const s of this.early.values()) n += s.size;
    return n;
  }

  /** Up to `limit` outstanding (or, with `early`, consumed-but-unconfirmed) ids, as "queue:id". */
  sample(limit = 10, early = false) {
    const out = [];
    for (const [q, s] of early ? this.early : this.pending) {
      for (const id of s) {
        if (out.length >= limit) return out;
        out.push(`${q}:${id}`);
      }
    }
    return out;
  }
}
