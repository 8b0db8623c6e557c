// The contract every exchange routing algorithm fulfils, and the names of the built-in types.
// The factory that picks a table by type name is in routing-table-factory.ts: the tables import
// this contract, so it must not import them.

import type { FieldTable } from '../../protocol/field-table.js';

export interface BindingEntry<D> {
  destination: D;
  routingKey: string;
  args: FieldTable;
}

/** Where a routing table puts destinations: a Set in tests, a RouteCollector in the broker. */
export interface DestinationSink<D> {
  add(d: D): unknown;
  has(d: D): boolean;
}

export interface RoutingTable<D> {
  /** Adds a binding; false if an identical (destination, routingKey, args) binding existed. */
  bind(destination: D, routingKey: string, args: FieldTable): boolean;
  /** Removes a binding; false if it was not there. */
  unbind(destination: D, routingKey: string, args: FieldTable): boolean;
  /**
   * Adds every destination the message routes to into `into`, possibly more than once (the sink
   * collapses duplicates). `into.has(d)` says whether d was already added by this exchange.
   */
  route(routingKey: string, headers: FieldTable | undefined, into: DestinationSink<D>): void;
  /** Removes every binding of destination; returns how many were removed. */
  removeDestination(destination: D): number;
  bindings(): Iterable<BindingEntry<D>>;
  readonly size: number;
}

export type ExchangeTypeName = 'direct' | 'fanout' | 'topic' | 'headers';

/** The built-in exchange types, in the order RabbitMQ lists them. */
export const EXCHANGE_TYPES: readonly ExchangeTypeName[] = ['direct', 'fanout', 'topic', 'headers'];

export function isExchangeType(t: string): t is ExchangeTypeName {
  return t === 'direct' || t === 'fanout' || t === 'topic' || t === 'headers';
}
