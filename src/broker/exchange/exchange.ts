// An exchange: its declared properties, the routing table of its bindings, and the
// plugin-compatible extras (x-delayed-message, x-message-deduplication).

import { commandInvalid, preconditionFailed } from '../../protocol/errors.js';
import { EXCHANGE_DECLARE } from '../../protocol/generated/amqp.js';
import { numberValue, stringValue, type FieldTable } from '../../protocol/field-table.js';
import { DedupCache } from '../dedup-cache.js';
import type { Queue } from '../queue/queue.js';
import { isExchangeType, type ExchangeTypeName, type RoutingTable } from './routing-table.js';
import { createRoutingTable } from './routing-table-factory.js';
import { MessageCounters } from '../stats/message-counters.js';

export type Destination = Queue | Exchange;

export interface ExchangeOptions {
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  args: FieldTable;
}

/** Exchange types of the delayed-message and deduplication plugins, which warren builds in. */
export const DELAYED_TYPE = 'x-delayed-message';
export const DEDUP_TYPE = 'x-message-deduplication';

export function isKnownExchangeType(t: string): boolean {
  return isExchangeType(t) || t === DELAYED_TYPE || t === DEDUP_TYPE;
}

export class Exchange {
  readonly name: string;
  /** The declared type (may be a plugin type). */
  readonly type: string;
  /** The algorithm that routes its messages. */
  readonly routingType: ExchangeTypeName;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly args: FieldTable;
  readonly table: RoutingTable<Destination>;
  readonly delayed: boolean;
  readonly dedup: DedupCache | null;
  /** The policy and operator policy that apply (by name), or null. */
  policyName: string | null = null;
  operatorPolicyName: string | null = null;
  private policyDefinition: Readonly<Record<string, unknown>> = {};
  /** The policy's alternate-exchange (the argument wins over it). */
  private policyAlternate: string | undefined = undefined;
  /** Set once a binding has had this exchange as source (auto-delete applies only after that). */
  hadBinding = false;
  /** publish_in / publish_out (see broker/stats). */
  readonly stats = new MessageCounters();
  /** Routing marks (see RouteCollector). */
  routePass = 0;
  routeStep = 0;

  constructor(name: string, type: string, opts: ExchangeOptions) {
    this.name = name;
    this.type = type;
    this.durable = opts.durable;
    this.autoDelete = opts.autoDelete;
    this.internal = opts.internal;
    this.args = opts.args;
    this.delayed = type === DELAYED_TYPE;
    this.dedup = null;
    if (isExchangeType(type)) {
      this.routingType = type;
    } else if (type === DELAYED_TYPE) {
      // The plugin's rules: a missing type is 406, an unknown one is the usual 503, itself is refused.
      const inner = stringValue(opts.args['x-delayed-type']);
      if (inner === undefined) {
        throw preconditionFailed(`Invalid argument, 'x-delayed-type' must be an existing exchange type`, EXCHANGE_DECLARE);
      }
      if (inner === DELAYED_TYPE) throw preconditionFailed(`Invalid argument, 'x-delayed-message' can't be used for 'x-delayed-type'`, EXCHANGE_DECLARE);
      if (!isExchangeType(inner)) throw commandInvalid(`unknown exchange type '${inner}'`, EXCHANGE_DECLARE);
      this.routingType = inner;
    } else if (type === DEDUP_TYPE) {
      // The deduplication exchange routes like fanout.
      this.routingType = 'fanout';
      const size = numberValue(opts.args['x-cache-size']) ?? Number(stringValue(opts.args['x-cache-size']));
      if (!Number.isInteger(size) || size <= 0) {
        throw preconditionFailed(`Missing or invalid argument, 'x-cache-size' must be a positive integer`, EXCHANGE_DECLARE);
      }
      const ttlRaw = opts.args['x-cache-ttl'];
      const ttl = ttlRaw === undefined ? undefined : (numberValue(ttlRaw) ?? Number(stringValue(ttlRaw)));
      if (ttl !== undefined && (!Number.isInteger(ttl) || ttl <= 0)) {
        throw preconditionFailed(`Invalid argument, 'x-cache-ttl' must be an integer greater than 0`, EXCHANGE_DECLARE);
      }
      this.dedup = new DedupCache(size, ttl);
    } else {
      throw commandInvalid(`invalid exchange type '${type}'`, EXCHANGE_DECLARE);
    }
    this.table = createRoutingTable<Destination>(this.routingType);
  }

  /** `alternate-exchange` argument (RabbitMQ spells it without `x-`), else the policy's. */
  get alternateExchange(): string | undefined {
    return stringValue(this.args['alternate-exchange']) ?? this.policyAlternate;
  }

  /** The merged definition of the policies that apply (RabbitMQ's effective_policy_definition). */
  effectivePolicyDefinition(): Record<string, unknown> {
    return { ...this.policyDefinition };
  }

  applyPolicies(policyName: string | null, operatorPolicyName: string | null, definition: Readonly<Record<string, unknown>>): void {
    this.policyName = policyName;
    this.operatorPolicyName = operatorPolicyName;
    this.policyDefinition = definition;
    const ae = definition['alternate-exchange'];
    this.policyAlternate = typeof ae === 'string' ? ae : undefined;
  }
}

export function isExchange(d: Destination): d is Exchange {
  return d instanceof Exchange;
}
