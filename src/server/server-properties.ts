// connection.start server-properties: product facts and RabbitMQ's capability table.

import type { FieldTable } from '../protocol/field-table.js';

export const PRODUCT = 'warren';
export const VERSION = '0.1.0';

export function serverProperties(): FieldTable {
  return {
    capabilities: {
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      consumer_priorities: true,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: true,
    },
    cluster_name: `warren@${process.env['HOSTNAME'] ?? 'localhost'}`,
    copyright: 'Copyright (c) the warren authors',
    information: 'Licensed under the MIT license',
    platform: `Node.js ${process.version}`,
    product: PRODUCT,
    version: VERSION,
  };
}
