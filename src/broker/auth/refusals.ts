// RabbitMQ 3.10's refusal texts for access control, as errors ready to throw (checked live against
// 3.10.8; 3.13+ words resource refusals as "configure access to ..." instead).

import { accessRefused, connectionClose, preconditionFailed, type AmqpError, type MethodRef } from '../../protocol/errors.js';
import { CONNECTION_OPEN, ReplyCode } from '../../protocol/generated/amqp.js';

export type ResourceKind = 'queue' | 'exchange';

/** 403 on the channel: `access to queue 'q' in vhost '/' refused for user 'u'`. */
export function resourceAccessRefused(kind: ResourceKind, name: string, vhost: string, user: string, method?: MethodRef): AmqpError {
  return accessRefused(`access to ${kind} '${name}' in vhost '${vhost}' refused for user '${user}'`, method);
}

/** 403 on the channel for a topic permission: the routing or binding key is named as the topic. */
export function topicAccessRefused(routingKey: string, exchange: string, vhost: string, user: string, method?: MethodRef): AmqpError {
  return accessRefused(`access to topic '${routingKey}' in exchange '${exchange}' in vhost '${vhost}' refused for user '${user}'`, method);
}

/** 406 on basic.publish when user-id names someone else and the user is no impersonator. */
export function userIdMismatch(userId: string, user: string, method?: MethodRef): AmqpError {
  return preconditionFailed(`user_id property set to '${userId}' but authenticated user was '${user}'`, method);
}

/** connection.open to a vhost that does not exist: 530, the name unquoted as RabbitMQ writes it. */
export function vhostNotFound(vhost: string): AmqpError {
  return connectionClose(ReplyCode.NOT_ALLOWED, `vhost ${vhost} not found`, CONNECTION_OPEN);
}

/** connection.open to a vhost the user has no permissions in: 530. */
export function vhostAccessRefused(vhost: string, user: string): AmqpError {
  return connectionClose(ReplyCode.NOT_ALLOWED, `access to vhost '${vhost}' refused for user '${user}'`, CONNECTION_OPEN);
}

/**
 * The one text a client gets for any failed login (wrong password, unknown user, loopback-only
 * user from elsewhere), so replies never tell which user names exist; the log says why.
 */
export function loginRefusedText(mechanism: string): string {
  return `Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`;
}
