// An AMQP refusal met by an operator-plane request, described for the API (which does not speak
// AMQP itself): what kind of refusal, the code, the full reply text and its explanation.

import { AmqpError, ReplyCode } from '../../protocol/errors.js';

export interface Refusal {
  kind: 'access_refused' | 'not_found' | 'other';
  replyCode: number;
  /** `NOT_FOUND - no queue 'q' in vhost '/'`. */
  replyText: string;
  /** The text after `CODE_NAME - `. */
  explanation: string;
}

/** The refusal `err` carries, or null when it is not an AMQP error. */
export function refusalOf(err: unknown): Refusal | null {
  if (!(err instanceof AmqpError)) return null;
  const i = err.replyText.indexOf(' - ');
  return {
    kind: err.replyCode === ReplyCode.ACCESS_REFUSED ? 'access_refused' : err.replyCode === ReplyCode.NOT_FOUND ? 'not_found' : 'other',
    replyCode: err.replyCode,
    replyText: err.replyText,
    explanation: i < 0 ? err.replyText : err.replyText.slice(i + 3),
  };
}
