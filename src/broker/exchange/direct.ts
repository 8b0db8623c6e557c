// Direct exchange routing: a message goes to the bindings whose key equals its routing key exactly.

import type { FieldTable } from '../../protocol/field-table.js';
import { BindingSet, decrementDestination, incrementDestination, type DestinationCounts } from './binding-set.js';
import type { BindingEntry, RoutingTable, DestinationSink } from './routing-table.js';

export class DirectRoutingTable<D> implements RoutingTable<D> {
  private readonly all: BindingSet<D>;
  private readonly byKey: Map<string, DestinationCounts<D>>;

  constructor() {
    this.all = new BindingSet();
    this.byKey = new Map();
  }

  get size(): number {
    return this.all.size;
  }

  bind(destination: D, routingKey: string, args: FieldTable): boolean {
    if (this.all.add(destination, routingKey, args) === undefined) return false;
    let counts = this.byKey.get(routingKey);
    if (counts === undefined) {
      counts = new Map();
      this.byKey.set(routingKey, counts);
    }
    incrementDestination(counts, destination);
    return true;
  }

  unbind(destination: D, routingKey: string, args: FieldTable): boolean {
    if (this.all.remove(destination, routingKey, args) === undefined) return false;
    this.unindex(destination, routingKey);
    return true;
  }

  route(routingKey: string, _headers: FieldTable | undefined, into: DestinationSink<D>): void {
    const counts = this.byKey.get(routingKey);
    if (counts === undefined) return;
    for (const destination of counts.keys()) into.add(destination);
  }

  removeDestination(destination: D): number {
    let n = 0;
    for (const entry of this.all.removeDestination(destination)) {
      this.unindex(destination, entry.routingKey);
      n++;
    }
    return n;
  }

  bindings(): Iterable<BindingEntry<D>> {
    return this.all.entries();
  }

  private unindex(destination: D, routingKey: string): void {
    const counts = this.byKey.get(routingKey);
    if (counts !== undefined && decrementDestination(counts, destination)) this.byKey.delete(routingKey);
  }
}
