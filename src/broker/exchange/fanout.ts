// Fanout exchange routing: every bound destination gets every message; the routing key is ignored.

import type { FieldTable } from '../../protocol/field-table.js';
import { BindingSet, decrementDestination, incrementDestination, type DestinationCounts } from './binding-set.js';
import type { BindingEntry, RoutingTable, DestinationSink } from './routing-table.js';

export class FanoutRoutingTable<D> implements RoutingTable<D> {
  private readonly all: BindingSet<D>;
  /** Bindings differing only in key or args still deliver one copy, hence a count per destination. */
  private readonly destinations: DestinationCounts<D>;

  constructor() {
    this.all = new BindingSet();
    this.destinations = new Map();
  }

  get size(): number {
    return this.all.size;
  }

  bind(destination: D, routingKey: string, args: FieldTable): boolean {
    if (this.all.add(destination, routingKey, args) === undefined) return false;
    incrementDestination(this.destinations, destination);
    return true;
  }

  unbind(destination: D, routingKey: string, args: FieldTable): boolean {
    if (this.all.remove(destination, routingKey, args) === undefined) return false;
    decrementDestination(this.destinations, destination);
    return true;
  }

  route(_routingKey: string, _headers: FieldTable | undefined, into: DestinationSink<D>): void {
    for (const destination of this.destinations.keys()) into.add(destination);
  }

  removeDestination(destination: D): number {
    let n = 0;
    for (const _entry of this.all.removeDestination(destination)) n++;
    this.destinations.delete(destination);
    return n;
  }

  bindings(): Iterable<BindingEntry<D>> {
    return this.all.entries();
  }
}
