// The one error family: soft errors close a channel, hard errors the connection.
// Reply text is `CODE_NAME - detail`, as RabbitMQ writes it (clients match on it).
//
// Throw sites use the named constructors below (`preconditionFailed(text, QUEUE_DECLARE)`),
// never a numeric code: whether an error closes the channel or the connection follows from the
// spec's class of the code (generated SoftReplyCode / HardReplyCode), not from the call site.
// The reply-code tables come from a generated file with no imports, so this module (which the
// field-table codec needs) is not part of an import cycle with the generated codec.

import { HARD_ERROR_CODES, REPLY_CODE_NAMES, ReplyCode, type HardReplyCode, type SoftReplyCode } from './generated/reply-codes.js';

export { ReplyCode };

/** A code that reports an error: every reply code but REPLY_SUCCESS. */
export type ErrorReplyCode = SoftReplyCode | HardReplyCode;

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
    this.replyText = Buffer.byteLength(text) > 255 ? truncateUtf8(text, 255) : text;
    this.classId = classId;
    this.methodId = methodId;
  }
}

/**
 * The longest prefix of `text` within `max` UTF-8 bytes, cut at a character boundary (a cut
 * inside a character would decode to U+FFFD and overrun the limit again).
 */
export function truncateUtf8(text: string, max: number): string {
  const bytes = Buffer.from(text);
  let end = max;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
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

function softError(code: SoftReplyCode, detail: string, method: MethodRef = 0): ChannelError {
  return new ChannelError(code, detail, method >>> 16, method & 0xffff);
}

function hardError(code: HardReplyCode, detail: string, method: MethodRef = 0): ConnectionError {
  return new ConnectionError(code, detail, method >>> 16, method & 0xffff);
}

/** An error for `code`: a ChannelError when the spec calls the code soft, else a ConnectionError. */
export function replyError(code: ErrorReplyCode, detail: string, method: MethodRef = 0): AmqpError {
  return HARD_ERROR_CODES.has(code)
    ? new ConnectionError(code, detail, method >>> 16, method & 0xffff)
    : new ChannelError(code, detail, method >>> 16, method & 0xffff);
}

/**
 * A soft code that closes the connection all the same: refusals during the handshake
 * (connection.open, authentication) are answered on channel 0 with codes like 403 or 530.
 */
export function connectionClose(code: ErrorReplyCode, detail: string, method: MethodRef = 0): ConnectionError {
  return new ConnectionError(code, detail, method >>> 16, method & 0xffff);
}

// Soft codes (close the channel).
export const accessRefused = (detail: string, method?: MethodRef): ChannelError => softError(ReplyCode.ACCESS_REFUSED, detail, method);
export const notFound = (detail: string, method?: MethodRef): ChannelError => softError(ReplyCode.NOT_FOUND, detail, method);
export const resourceLocked = (detail: string, method?: MethodRef): ChannelError => softError(ReplyCode.RESOURCE_LOCKED, detail, method);
export const preconditionFailed = (detail: string, method?: MethodRef): ChannelError => softError(ReplyCode.PRECONDITION_FAILED, detail, method);

// Hard codes (close the connection).
export const connectionForced = (detail: string, method?: MethodRef): ConnectionError => hardError(ReplyCode.CONNECTION_FORCED, detail, method);
export const invalidPath = (detail: string, method?: MethodRef): ConnectionError => hardError(ReplyCode.INVALID_PATH, detail, method);
export const frameError = (detail: string, method?: MethodRef): ConnectionError => hardError(ReplyCode.FRAME_ERROR, detail, method);
export const syntaxError = (detail: string, method?: MethodRef): ConnectionError => hardError(ReplyCode.SYNTAX_ERROR, detail, method);
export const commandInvalid = (detail: string, method?: MethodRef): ConnectionError => hardError(ReplyCode.COMMAND_INVALID, detail, method);
export const channelError = (detail: string, method?: MethodRef): ConnectionError => hardError(ReplyCode.CHANNEL_ERROR, detail, method);
export const unexpectedFrame = (detail: string, method?: MethodRef): ConnectionError => hardError(ReplyCode.UNEXPECTED_FRAME, detail, method);
export const resourceError = (detail: string, method?: MethodRef): ConnectionError => hardError(ReplyCode.RESOURCE_ERROR, detail, method);
export const notAllowed = (detail: string, method?: MethodRef): ConnectionError => hardError(ReplyCode.NOT_ALLOWED, detail, method);
export const notImplemented = (detail: string, method?: MethodRef): ConnectionError => hardError(ReplyCode.NOT_IMPLEMENTED, detail, method);
export const internalError = (detail: string, method?: MethodRef): ConnectionError => hardError(ReplyCode.INTERNAL_ERROR, detail, method);
