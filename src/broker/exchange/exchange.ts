// An exchange: its declared properties and the routing table of its bindings.

import type { FieldTable } from '../../protocol/field-table.js';
import type { Queue } from '../queue/queue.js';
import { createRoutingTable, type ExchangeTypeName, type RoutingTable } from './routing-table.js';

export type Destination = Queue | Exchange;

export interface ExchangeOptions {
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  args: FieldTable;
}

export class Exchange {
  readonly name: string;
  readonly type: ExchangeTypeName;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly args: FieldTable;
  readonly table: RoutingTable<Destination>;
  /** Set once a binding has had this exchange as source (auto-delete applies only after that). */
  hadBinding = false;

  constructor(name: string, type: ExchangeTypeName, opts: ExchangeOptions) {
    this.name = name;
    this.type = type;
    this.durable = opts.durable;
    this.autoDelete = opts.autoDelete;
    this.internal = opts.internal;
    this.args = opts.args;
    this.table = createRoutingTable<Destination>(type);
  }

  /** `alternate-exchange` argument (RabbitMQ spells it without `x-`). */
  get alternateExchange(): string | undefined {
    const ae = this.args['alternate-exchange'];
    if (typeof ae === 'string') return ae;
    if (Buffer.isBuffer(ae)) return ae.toString('utf8');
    return undefined;
  }
}

export function isExchange(d: Destination): d is Exchange {
  return d instanceof Exchange;
}
