// The permission checks of the AMQP exchange and queue methods, in RabbitMQ 3.10's order (probed
// against 3.10.8: which of 403, 404 and the default-exchange refusal comes first). Each runs before
// the vhost operation it guards; queue.declare is checked from inside VHost.declareQueue through a
// QueueDeclareGuard, because the name (server-generated) and whether the queue is new are known there.
// Passive declares check nothing (3.10.8; 4.3 asks for any one permission).

import type { FieldTable } from '../../protocol/field-table.js';
import { stringValue } from '../../protocol/field-table.js';
import type { MethodRef } from '../../protocol/errors.js';
import { EXCHANGE_DECLARE, EXCHANGE_DELETE, QUEUE_DECLARE } from '../../protocol/generated/amqp.js';
import { checkQueueLimit, type VhostLimits } from './limits.js';
import type { AccessContext } from './permissions.js';

/** What the checks read of a vhost: which exchanges exist and their types. */
export interface ExchangesView {
  readonly exchanges: ReadonlyMap<string, { readonly type: string }>;
}

/** Called by VHost.declareQueue (not passive) at the points where RabbitMQ checks. */
export interface QueueDeclareGuard {
  /** After the name is known (generated for ''), before the queue is looked up. */
  beforeLookup(name: string): void;
  /** The queue does not exist and is about to be created; `queueCount` queues exist in the vhost. */
  beforeCreate(name: string, args: FieldTable, queueCount: number): void;
}

/** queue.declare: configure on the name; a new queue: the vhost's max-queues, then with a DLX read on the queue and write on the DLX. */
export function queueDeclareGuard(access: AccessContext, limits: VhostLimits): QueueDeclareGuard {
  return {
    beforeLookup(name) {
      access.check('configure', 'queue', name, QUEUE_DECLARE);
    },
    beforeCreate(name, args, queueCount) {
      checkQueueLimit(name, access.vhost, limits, queueCount, QUEUE_DECLARE);
      const dlx = stringValue(args['x-dead-letter-exchange']);
      if (dlx !== undefined) {
        access.check('read', 'queue', name, QUEUE_DECLARE);
        access.check('write', 'exchange', dlx, QUEUE_DECLARE);
      }
    },
  };
}

/**
 * exchange.declare, not passive: configure on the name, even for a predeclared amq.* one. A new
 * exchange with an alternate exchange also needs read on itself and write on the AE. The default
 * exchange and a new amq.* name are refused by the vhost (after the configure check for amq.*).
 */
export function checkExchangeDeclare(access: AccessContext, vh: ExchangesView, name: string, args: FieldTable): void {
  if (name === '') return;
  access.check('configure', 'exchange', name, EXCHANGE_DECLARE);
  if (vh.exchanges.has(name) || name.startsWith('amq.')) return;
  const ae = stringValue(args['alternate-exchange']);
  if (ae !== undefined) {
    access.check('read', 'exchange', name, EXCHANGE_DECLARE);
    access.check('write', 'exchange', ae, EXCHANGE_DECLARE);
  }
}

/** exchange.delete: the default and amq.* exchanges are refused first (by the vhost), then configure. */
export function checkExchangeDelete(access: AccessContext, name: string): void {
  if (name === '' || name.startsWith('amq.')) return;
  access.check('configure', 'exchange', name, EXCHANGE_DELETE);
}

/**
 * queue.bind/unbind and exchange.bind/unbind: write on the destination first (the default exchange
 * as `amq.default`), then the default-exchange refusal (left to the vhost), read on the source, and
 * on an existing topic exchange topic read on the binding key; missing resources are 404 after that.
 */
export function checkBinding(
  access: AccessContext,
  vh: ExchangesView,
  destinationKind: 'queue' | 'exchange',
  destination: string,
  source: string,
  routingKey: string,
  method: MethodRef,
): void {
  access.check('write', destinationKind, destination, method);
  if (source === '' || (destinationKind === 'exchange' && destination === '')) return;
  access.check('read', 'exchange', source, method);
  if (vh.exchanges.get(source)?.type === 'topic') access.checkTopic('read', source, routingKey, method);
}
