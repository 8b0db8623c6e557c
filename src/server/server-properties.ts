// connection.start server-properties: product facts and RabbitMQ's capability table.

import type { FieldTable } from '../protocol/field-table.js';

export const PRODUCT = 'warren';
export const VERSION = '0.1.0';

/** The connection.start server-properties; `overrides` (Config.serverProperties) replace or add string entries. */
export function serverProperties(overrides: Readonly<Record<string, string>> = {}): FieldTable {
  const props: FieldTable = {
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
  // The capability table is what clients negotiate on; config never replaces it (resolveConfig refuses the key).
  for (const [k, v] of Object.entries(overrides)) if (k !== 'capabilities') props[k] = v;
  return props;
}
