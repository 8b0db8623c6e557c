// The one error family: soft errors close a channel, hard errors the connection.
// Reply text is `CODE_NAME - detail`, as RabbitMQ writes it (clients match on it).

import { REPLY_CODE_NAMES } from './generated/amqp.js';

export abstract class AmqpError extends Error {
  readonly replyCode: number;
  readonly replyText: string;
  /** The offending method; filled in by the catch site when the thrower did not know it. */
  classId: number;
  methodId: number;
  constructor(replyCode: number, detail: string, classId: number, methodId: number) {
    const text = `${REPLY_CODE_NAMES.get(replyCode) ?? 'INTERNAL_ERROR'} - ${detail}`;
    super(text);
    this.replyCode = replyCode;
    // shortstr on the wire: RabbitMQ truncates long texts to 255 bytes too.
    this.replyText = Buffer.byteLength(text) > 255 ? Buffer.from(text).subarray(0, 255).toString('utf8') : text;
    this.classId = classId;
    this.methodId = methodId;
  }
}

/** Closes only the channel it happened on. */
export class ChannelError extends AmqpError {
  override readonly name = 'ChannelError';
}

/** Closes the whole connection. */
export class ConnectionError extends AmqpError {
  override readonly name = 'ConnectionError';
}
