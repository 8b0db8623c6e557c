// Sender-selected distribution (RabbitMQ's CC and BCC headers): extra routing keys carried by the
// message. BCC is removed before the message reaches any queue.

import { preconditionFailed } from '../../protocol/errors.js';
import { RawLongString, type FieldTable, type FieldValue } from '../../protocol/field-table.js';
import { BASIC_PUBLISH } from '../../protocol/generated/amqp.js';
import { typeName } from '../equivalence.js';
import type { Message } from '../message.js';

/**
 * The routing keys of a publish with CC/BCC headers: the routing key, then CC's, then BCC's; or
 * null when it has neither (the caller then routes by the routing key alone). Drops BCC from the
 * message. Throws PRECONDITION_FAILED for a CC/BCC that is not an array, as RabbitMQ does.
 */
export function ccBccRoutingKeys(message: Message, routingKey: string, headers: FieldTable): string[] | null {
  const cc = headers['CC'];
  const bcc = headers['BCC'];
  if (cc === undefined && bcc === undefined) return null;
  checkRoutingHeader('CC', cc);
  checkRoutingHeader('BCC', bcc);
  const keys = [routingKey, ...routingKeyList(cc), ...routingKeyList(bcc)];
  if (bcc !== undefined) {
    // BCC must not reach consumers.
    const rest: FieldTable = { ...headers };
    delete rest['BCC'];
    message.setProperties({ ...message.properties, headers: rest });
  }
  return keys;
}

/** RabbitMQ refuses CC/BCC headers that are not arrays. */
function checkRoutingHeader(name: string, v: FieldValue | undefined): void {
  if (v === undefined || Array.isArray(v)) return;
  throw preconditionFailed(`invalid message: {unacceptable_type_in_header,"${name}",${typeName(v)}}`, BASIC_PUBLISH);
}

/** CC/BCC header values: the longstr items of an array (RabbitMQ ignores other types, byte arrays included). */
function routingKeyList(v: FieldValue | undefined): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const x of v) {
    if (typeof x === 'string') out.push(x);
    else if (x instanceof RawLongString) out.push(x.bytes.toString('utf8'));
  }
  return out;
}
