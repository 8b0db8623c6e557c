// SASL responses of connection.start-ok: PLAIN ("\0user\0password") and AMQPLAIN
// (a field table without its length prefix holding LOGIN and PASSWORD).

import { ConnectionError } from '../protocol/errors.js';
import { decodeTableBody, stringValue } from '../protocol/field-table.js';

/** RabbitMQ lists them in this order. */
export const MECHANISMS = 'AMQPLAIN PLAIN';

/** The connection.start mechanisms list for the enabled ones (auth_mechanisms), in RabbitMQ's order. */
export function offeredMechanisms(enabled: readonly string[]): string {
  return MECHANISMS.split(' ')
    .filter((m) => enabled.includes(m))
    .join(' ');
}

export interface Credentials {
  user: string;
  password: string;
}

export function parseSaslResponse(mechanism: string, response: Buffer): Credentials {
  if (mechanism === 'PLAIN') {
    const first = response.indexOf(0);
    const second = first < 0 ? -1 : response.indexOf(0, first + 1);
    if (first < 0 || second < 0) {
      throw new ConnectionError(403, 'malformed PLAIN response', 10, 11);
    }
    return { user: response.toString('utf8', first + 1, second), password: response.toString('utf8', second + 1) };
  }
  if (mechanism === 'AMQPLAIN') {
    const t = decodeTableBody(response, 0, response.length);
    const user = stringValue(t['LOGIN']);
    const password = stringValue(t['PASSWORD']);
    if (user === undefined || password === undefined) throw new ConnectionError(403, 'malformed AMQPLAIN response', 10, 11);
    return { user, password };
  }
  throw new ConnectionError(
    403,
    `unsupported authentication mechanism '${mechanism}', allowed mechanisms: ${MECHANISMS.split(' ').join(', ')}`,
    10,
    11,
  );
}
