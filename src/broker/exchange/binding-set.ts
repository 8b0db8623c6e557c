// Binding identity and storage shared by all routing algorithms: (destination, routing key, args).

import { RAW_KEYS, encodeTable, type FieldTable } from '../../protocol/field-table.js';
import type { BindingEntry } from './routing-table.js';

/**
 * A canonical string for a binding's arguments. RabbitMQ sorts argument tables
 * by key before comparing bindings, so key order must not matter; the wire
 * encoding keeps value types apart (an int32 1 and an int64 1 are different args).
 */
export function argsIdentity(args: FieldTable): string {
  const keys = Object.keys(args);
  if (keys.length === 0) return '';
  keys.sort();
  // Keys that are not UTF-8 keep their bytes (the copy carries the table's raw-key map).
  const sorted: FieldTable = RAW_KEYS in args ? ({ [RAW_KEYS]: (args as { [RAW_KEYS]?: unknown })[RAW_KEYS] } as FieldTable) : {};
  for (const k of keys) {
    const v = args[k];
    if (v !== undefined) sorted[k] = v;
  }
  // latin1 maps each byte to one UTF-16 unit: a lossless, compact map key.
  return encodeTable(sorted).toString('latin1');
}

/** Identity of a binding within one destination; the length prefix keeps key and args apart. */
export function bindingIdentity(routingKey: string, args: FieldTable): string {
  return `${routingKey.length}:${routingKey}|${argsIdentity(args)}`;
}

/** The set of bindings of one exchange, grouped by destination so a destination can be dropped at once. */
export class BindingSet<D> {
  private readonly byDestination: Map<D, Map<string, BindingEntry<D>>>;
  private count: number;

  constructor() {
    this.byDestination = new Map();
    this.count = 0;
  }

  get size(): number {
    return this.count;
  }

  /** Stores the binding; returns its entry, or undefined if an identical one existed. */
  add(destination: D, routingKey: string, args: FieldTable): BindingEntry<D> | undefined {
    const id = bindingIdentity(routingKey, args);
    let forDest = this.byDestination.get(destination);
    if (forDest === undefined) {
      forDest = new Map();
      this.byDestination.set(destination, forDest);
    } else if (forDest.has(id)) {
      return undefined;
    }
    // A shallow copy: later mutation of the caller's table must not change the binding's identity.
    const entry: BindingEntry<D> = { destination, routingKey, args: { ...args } };
    forDest.set(id, entry);
    this.count++;
    return entry;
  }

  /** Removes the binding; returns the stored entry, or undefined if it was not there. */
  remove(destination: D, routingKey: string, args: FieldTable): BindingEntry<D> | undefined {
    const forDest = this.byDestination.get(destination);
    if (forDest === undefined) return undefined;
    const id = bindingIdentity(routingKey, args);
    const entry = forDest.get(id);
    if (entry === undefined) return undefined;
    forDest.delete(id);
    if (forDest.size === 0) this.byDestination.delete(destination);
    this.count--;
    return entry;
  }

  /** Removes every binding of destination; returns the removed entries (empty if none). */
  removeDestination(destination: D): Iterable<BindingEntry<D>> {
    const forDest = this.byDestination.get(destination);
    if (forDest === undefined) return [];
    this.byDestination.delete(destination);
    this.count -= forDest.size;
    return forDest.values();
  }

  *entries(): IterableIterator<BindingEntry<D>> {
    for (const forDest of this.byDestination.values()) yield* forDest.values();
  }
}

/**
 * Destination -> number of bindings leading to it from one index slot. Several
 * bindings (differing only in args) can share a slot; the destination stays
 * routable until the last of them goes.
 */
export type DestinationCounts<D> = Map<D, number>;

export function incrementDestination<D>(counts: DestinationCounts<D>, destination: D): void {
  counts.set(destination, (counts.get(destination) ?? 0) + 1);
}

/** Drops one binding of destination from the slot; returns true if the slot is now empty. */
export function decrementDestination<D>(counts: DestinationCounts<D>, destination: D): boolean {
  const n = counts.get(destination);
  if (n === undefined) return counts.size === 0;
  if (n <= 1) counts.delete(destination);
  else counts.set(destination, n - 1);
  return counts.size === 0;
}
