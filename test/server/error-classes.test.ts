// The catch site routes an error by the spec's class of its code: a soft code raised on a channel
// closes only that channel; a hard code closes the connection, whichever layer raised it. The
// class and method ids of the close name the offending method even when the broker did not.

import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import * as M from '../../src/protocol/generated/amqp.js';

const b = useBroker();

const uniq = (p: string): string => `${p}-${process.pid}-${Math.random().toString(36).slice(2)}`;
const queueDeclare = (queue: string, args: M.QueueDeclare['arguments'] = {}): M.QueueDeclare => ({
  id: M.QUEUE_DECLARE, ticket: 0, queue, passive: false, durable: false, exclusive: false, autoDelete: true, nowait: false, arguments: args,
});
const exchangeDeclare = (exchange: string, type: string, args: M.ExchangeDeclare['arguments'] = {}): M.ExchangeDeclare => ({
  id: M.EXCHANGE_DECLARE, ticket: 0, exchange, type, passive: false, durable: false, autoDelete: false, internal: false, nowait: false, arguments: args,
});

describe('soft or hard follows the code', () => {
  it('a soft code from the broker closes only its channel; the connection and its other channels go on', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    await c.openChannel(2);
    const q = uniq('bad-arg');
    c.sendMethod(1, queueDeclare(q, { 'x-max-length': -1 }));
    expect(await c.expectChannelClose(1)).toMatchObject({
      replyCode: 406,
      replyText: `PRECONDITION_FAILED - invalid arg 'x-max-length' for queue '${q}' in vhost '/': {value_negative,-1}`,
      classId: 50,
      methodId: 10,
    });
    c.sendMethod(1, { id: M.CHANNEL_CLOSE_OK });
    const ok = await c.call(2, queueDeclare(uniq('fine')), M.QUEUE_DECLARE_OK);
    expect(ok.messageCount).toBe(0);
    await c.close();
  });

  it('a hard code raised by the broker for a channel method closes the connection, naming the method', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, exchangeDeclare(uniq('x'), 'no-such-type'));
    expect(await c.expectConnectionClose()).toMatchObject({
      replyCode: 503,
      replyText: "COMMAND_INVALID - unknown exchange type 'no-such-type'",
      classId: 40,
      methodId: 10,
    });
    c.destroy();
  });

  it('a hard code from an exchange argument check (x-delayed-type) closes the connection too', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, exchangeDeclare(uniq('delayed'), 'x-delayed-message', { 'x-delayed-type': 'nope' }));
    expect(await c.expectConnectionClose()).toMatchObject({ replyCode: 503, replyText: "COMMAND_INVALID - unknown exchange type 'nope'", classId: 40, methodId: 10 });
    c.destroy();
  });

  it('a soft code from an exchange argument check (x-cache-size) closes only the channel', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    c.sendMethod(1, exchangeDeclare(uniq('dedup'), 'x-message-deduplication', { 'x-cache-size': 0 }));
    expect(await c.expectChannelClose(1)).toMatchObject({
      replyCode: 406,
      replyText: "PRECONDITION_FAILED - Missing or invalid argument, 'x-cache-size' must be a positive integer",
      classId: 40,
      methodId: 10,
    });
    c.sendMethod(1, { id: M.CHANNEL_CLOSE_OK });
    await c.openChannel(2);
    await c.close();
  });
});
