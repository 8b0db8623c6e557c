// Names and versions the API reports: which RabbitMQ API version warren answers as, the node name,
// the cluster name. Tools parse rabbitmq_version as a number (terraform: ParseFloat) and branch on
// it, so it names the RabbitMQ release whose API warren follows, not warren's own version.

import { hostname } from 'node:os';

/** The RabbitMQ release whose management API (routes, shapes, texts) warren follows. */
export const RABBITMQ_API_VERSION = '3.10.8';
export const PRODUCT_NAME = 'warren';

/** RabbitMQ's node name form, `<name>@<short host name>`. */
export function nodeName(): string {
  return `warren@${hostname().split('.')[0] ?? 'localhost'}`;
}

/** Exchange types with RabbitMQ's descriptions, plus the plugin types warren has built in. */
export const EXCHANGE_TYPES = [
  { name: 'direct', description: 'AMQP direct exchange, as per the AMQP specification', enabled: true },
  { name: 'fanout', description: 'AMQP fanout exchange, as per the AMQP specification', enabled: true },
  { name: 'headers', description: 'AMQP headers exchange, as per the AMQP specification', enabled: true },
  { name: 'topic', description: 'AMQP topic exchange, as per the AMQP specification', enabled: true },
  { name: 'x-delayed-message', description: 'Delayed Message Exchange.', enabled: true },
  { name: 'x-message-deduplication', description: 'Message Deduplication Exchange.', enabled: true },
] as const;
