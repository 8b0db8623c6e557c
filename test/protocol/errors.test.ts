// The named error constructors: the code each stands for, the class that follows from the spec's
// class of the code (soft: the channel closes; hard: the connection), and the method it names.

import { describe, expect, it } from 'vitest';
import * as E from '../../src/protocol/errors.js';
import { AmqpError, ChannelError, ConnectionError } from '../../src/protocol/errors.js';
import { BASIC_PUBLISH, CONNECTION_OPEN, QUEUE_DECLARE } from '../../src/protocol/generated/amqp.js';
import { HARD_ERROR_CODES, REPLY_CODE_NAMES, ReplyCode } from '../../src/protocol/generated/reply-codes.js';

const NAMED: [(detail: string, method?: number) => AmqpError, number][] = [
  [E.accessRefused, ReplyCode.ACCESS_REFUSED],
  [E.notFound, ReplyCode.NOT_FOUND],
  [E.resourceLocked, ReplyCode.RESOURCE_LOCKED],
  [E.preconditionFailed, ReplyCode.PRECONDITION_FAILED],
  [E.connectionForced, ReplyCode.CONNECTION_FORCED],
  [E.invalidPath, ReplyCode.INVALID_PATH],
  [E.frameError, ReplyCode.FRAME_ERROR],
  [E.syntaxError, ReplyCode.SYNTAX_ERROR],
  [E.commandInvalid, ReplyCode.COMMAND_INVALID],
  [E.channelError, ReplyCode.CHANNEL_ERROR],
  [E.unexpectedFrame, ReplyCode.UNEXPECTED_FRAME],
  [E.resourceError, ReplyCode.RESOURCE_ERROR],
  [E.notAllowed, ReplyCode.NOT_ALLOWED],
  [E.notImplemented, ReplyCode.NOT_IMPLEMENTED],
  [E.internalError, ReplyCode.INTERNAL_ERROR],
];

describe('named error constructors', () => {
  it.each(NAMED.map(([f, code]) => [f.name, code, f] as const))('%s is %i, of the class the spec gives the code', (_name, code, f) => {
    const err = f('detail');
    expect(err.replyCode).toBe(code);
    expect(err.replyText).toBe(`${REPLY_CODE_NAMES.get(code)} - detail`);
    expect(err).toBeInstanceOf(HARD_ERROR_CODES.has(code) ? ConnectionError : ChannelError);
  });

  it('every error code of the spec but the three basic.return codes has a named constructor', () => {
    const named = new Set(NAMED.map(([, code]) => code));
    const returnsOnly = [ReplyCode.REPLY_SUCCESS, ReplyCode.CONTENT_TOO_LARGE, ReplyCode.NO_ROUTE, ReplyCode.NO_CONSUMERS];
    const missing = [...REPLY_CODE_NAMES.keys()].filter((c) => !named.has(c) && !(returnsOnly as number[]).includes(c));
    expect(missing).toEqual([]);
  });

  it('a method ref becomes the class and method ids of the close', () => {
    const err = E.preconditionFailed('x', BASIC_PUBLISH);
    expect([err.classId, err.methodId]).toEqual([60, 40]);
    const q = E.notFound('x', QUEUE_DECLARE);
    expect([q.classId, q.methodId]).toEqual([50, 10]);
  });

  it('without a method ref the ids are 0, for the catch site to fill in', () => {
    const err = E.accessRefused('x');
    expect([err.classId, err.methodId]).toEqual([0, 0]);
  });

  it('connection-level codes make connection errors whatever the caller meant (530, 540, 503 on a channel)', () => {
    for (const f of [E.notAllowed, E.notImplemented, E.commandInvalid]) expect(f('x')).toBeInstanceOf(ConnectionError);
  });

  it('replyError picks the class from the code', () => {
    expect(E.replyError(ReplyCode.PRECONDITION_FAILED, 'x')).toBeInstanceOf(ChannelError);
    expect(E.replyError(ReplyCode.NOT_ALLOWED, 'x')).toBeInstanceOf(ConnectionError);
  });

  it('connectionClose closes the connection with a soft code (refusals during the handshake)', () => {
    const err = E.connectionClose(ReplyCode.ACCESS_REFUSED, 'login refused', CONNECTION_OPEN);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.replyCode).toBe(403);
    expect(err.replyText).toBe('ACCESS_REFUSED - login refused');
    expect([err.classId, err.methodId]).toEqual([10, 40]);
  });

  it('reply texts are cut to 255 bytes (a shortstr)', () => {
    const err = E.notFound('x'.repeat(400));
    expect(Buffer.byteLength(err.replyText)).toBe(255);
    expect(err.message.length).toBeGreaterThan(255);
  });

  it('cuts a long non-ASCII reply text at a character boundary, within 255 bytes', () => {
    // 'NOT_FOUND - ' is 12 bytes; 'é' is 2: a cut at byte 255 would fall inside a character.
    const err = E.connectionForced('é'.repeat(200));
    expect(Buffer.byteLength(err.replyText)).toBeLessThanOrEqual(255);
    expect(err.replyText).not.toContain('\uFFFD');
    expect(err.replyText.endsWith('é')).toBe(true);
  });
});
