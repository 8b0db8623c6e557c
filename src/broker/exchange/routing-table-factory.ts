// The routing table for an exchange type name.

import { DirectRoutingTable } from './direct.js';
import { FanoutRoutingTable } from './fanout.js';
import { HeadersRoutingTable } from './headers.js';
import type { ExchangeTypeName, RoutingTable } from './routing-table.js';
import { TopicRoutingTable } from './topic.js';

export function createRoutingTable<D>(type: ExchangeTypeName): RoutingTable<D> {
  switch (type) {
    case 'direct':
      return new DirectRoutingTable<D>();
    case 'fanout':
      return new FanoutRoutingTable<D>();
    case 'topic':
      return new TopicRoutingTable<D>();
    case 'headers':
      return new HeadersRoutingTable<D>();
  }
}
