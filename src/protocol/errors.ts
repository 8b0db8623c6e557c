// The one error family: soft errors close a channel, hard errors the connection.
// Reply text is `CODE_NAME - detail`, as RabbitMQ writes it (clients match on it).
//
// Throw sites use the named constructors below (`preconditionFailed(text, QUEUE_DECLARE)`),
// never a numeric code: whether an error closes the channel or the connection follows from the
// spec's class of the code (HARD_ERROR_CODES, generated), not from the call site.

import { HARD_ERROR_CODES, REPLY_CODE_NAMES, ReplyCode } from './generated/amqp.js';

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

/** Closes only the channel it happened on (a soft code). */
export class ChannelError extends AmqpError {
  override readonly name = 'ChannelError';
}

/** Closes the whole connection (a hard code, or any error on channel 0). */
export class ConnectionError extends AmqpError {
  override readonly name = 'ConnectionError';
}

/**
 * The offending method as a generated method id (`(class id << 16) | method id`, e.g.
 * BASIC_PUBLISH), or 0 when there is none (a frame-level error) or the catch site fills it in.
 */
export type MethodRef = number;

/** An error for `code`: a ChannelError when the spec calls the code soft, else a ConnectionError. */
export function replyError(code: ReplyCode, detail: string, method: MethodRef = 0): AmqpError {
  const classId = method >>> 16;
  const methodId = method & 0xffff;
  return HARD_ERROR_CODES.has(code)
    ? new ConnectionError(code, detail, classId, methodId)
    : new ChannelError(code, detail, classId, methodId);
}

/**
 * A soft code that closes the connection all the same: refusals during the handshake
 * (connection.open, authentication) are answered on channel 0 with codes like 403 or 530.
 */
export function connectionClose(code: ReplyCode, detail: string, method: MethodRef = 0): ConnectionError {
  return new ConnectionError(code, detail, method >>> 16, method & 0xffff);
}

// Soft codes (close the channel).
export const accessRefused = (detail: string, method?: MethodRef): AmqpError => replyError(ReplyCode.ACCESS_REFUSED, detail, method);
export const notFound = (detail: string, method?: MethodRef): AmqpError => replyError(ReplyCode.NOT_FOUND, detail, method);
export const resourceLocked = (detail: string, method?: MethodRef): AmqpError => replyError(ReplyCode.RESOURCE_LOCKED, detail, method);
export const preconditionFailed = (detail: string, method?: MethodRef): AmqpError => replyError(ReplyCode.PRECONDITION_FAILED, detail, method);

// Hard codes (close the connection).
export const connectionForced = (detail: string, method?: MethodRef): AmqpError => replyError(ReplyCode.CONNECTION_FORCED, detail, method);
export const invalidPath = (detail: string, method?: MethodRef): AmqpError => replyError(ReplyCode.INVALID_PATH, detail, method);
export const frameError = (detail: string, method?: MethodRef): AmqpError => replyError(ReplyCode.FRAME_ERROR, detail, method);
export const syntaxError = (detail: string, method?: MethodRef): AmqpError => replyError(ReplyCode.SYNTAX_ERROR, detail, method);
export const commandInvalid = (detail: string, method?: MethodRef): AmqpError => replyError(ReplyCode.COMMAND_INVALID, detail, method);
export const channelError = (detail: string, method?: MethodRef): AmqpError => replyError(ReplyCode.CHANNEL_ERROR, detail, method);
export const unexpectedFrame = (detail: string, method?: MethodRef): AmqpError => replyError(ReplyCode.UNEXPECTED_FRAME, detail, method);
export const resourceError = (detail: string, method?: MethodRef): AmqpError => replyError(ReplyCode.RESOURCE_ERROR, detail, method);
export const notAllowed = (detail: string, method?: MethodRef): AmqpError => replyError(ReplyCode.NOT_ALLOWED, detail, method);
export const notImplemented = (detail: string, method?: MethodRef): AmqpError => replyError(ReplyCode.NOT_IMPLEMENTED, detail, method);
export const internalError = (detail: string, method?: MethodRef): AmqpError => replyError(ReplyCode.INTERNAL_ERROR, detail, method);
