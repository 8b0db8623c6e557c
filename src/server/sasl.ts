// SASL responses of connection.start-ok: PLAIN ("\0user\0password") and AMQPLAIN
// (a field table without its length prefix holding LOGIN and PASSWORD).

import { ReplyCode, connectionClose } from '../protocol/errors.js';
import { CONNECTION_START_OK } from '../protocol/generated/amqp.js';
import { decodeTableBody, stringValue } from '../protocol/field-table.js';

/** RabbitMQ lists them in this order. */
export const MECHANISMS = 'AMQPLAIN PLAIN';

/**
 * The connection.start mechanisms list for the enabled ones (auth_mechanisms), in RabbitMQ's
 * order; EXTERNAL only when the peer presented a verified certificate (`certificate`), as
 * rabbit_auth_mechanism_ssl:should_offer/1.
 */
export function offeredMechanisms(enabled: readonly string[], certificate = false): string {
  const list = MECHANISMS.split(' ').filter((m) => enabled.includes(m));
  if (certificate && enabled.includes('EXTERNAL')) list.unshift('EXTERNAL');
  return list.join(' ');
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
      throw connectionClose(ReplyCode.ACCESS_REFUSED, 'malformed PLAIN response', CONNECTION_START_OK);
    }
    return { user: response.toString('utf8', first + 1, second), password: response.toString('utf8', second + 1) };
  }
  if (mechanism === 'AMQPLAIN') {
    const t = decodeTableBody(response, 0, response.length);
    const user = stringValue(t['LOGIN']);
    const password = stringValue(t['PASSWORD']);
    if (user === undefined || password === undefined) {
      throw connectionClose(ReplyCode.ACCESS_REFUSED, 'malformed AMQPLAIN response', CONNECTION_START_OK);
    }
    return { user, password };
  }
  throw connectionClose(
    ReplyCode.ACCESS_REFUSED,
    `unsupported authentication mechanism '${mechanism}', allowed mechanisms: ${MECHANISMS.split(' ').join(', ')}`,
    CONNECTION_START_OK,
  );
}
