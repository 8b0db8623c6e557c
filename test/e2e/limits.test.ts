// Message size limit: a broker started with maxMessageSize 1024 refuses bigger bodies
// with a 406 channel error as soon as the content header announces the size.

import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { channel, drain, expectAmqpError, sync } from '../helpers/amqp.js';
import { RawClient } from '../helpers/raw-client.js';
import * as M from '../../src/protocol/generated/amqp.js';

const b = useBroker({ maxMessageSize: 1024 });

describe('max message size', () => {
  it('a 2000-byte publish is a 406 channel error; 1024 bytes is fine', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.alloc(1024, 1));
    await sync(ch);
    expect((await drain(ch, queue)).map((s) => s.length)).toEqual([1024]);
    ch.sendToQueue(queue, Buffer.alloc(2000, 1));
    await expectAmqpError(sync(ch), 406, 'PRECONDITION_FAILED - message size 2000 is larger than configured max size 1024');
    // The connection survives: another channel still works and the queue got nothing.
    const ch2 = await channel(conn);
    expect(await drain(ch2, queue)).toEqual([]);
  });

  it('raw: refused from the content header, before any body frame arrives; the body frames that follow are discarded', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    await c.openChannel(2);
    c.sendMethod(1, { id: M.BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: 'nowhere', mandatory: false, immediate: false });
    c.sendHeader(1, 5000);
    const close = await c.expectChannelClose(1);
    expect(close).toMatchObject({ replyCode: 406, replyText: 'PRECONDITION_FAILED - message size 5000 is larger than configured max size 1024', classId: 60, methodId: 40 });
    await c.call(2, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false }, M.BASIC_QOS_OK);
    await c.close();
  });

  it('raw: body frames sent after the header of an oversize message, before close-ok, are discarded', async () => {
    const c = await RawClient.open(b.port);
    await c.openChannel(1);
    await c.openChannel(2);
    c.sendMethod(1, { id: M.BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: 'nowhere', mandatory: false, immediate: false });
    c.sendHeader(1, 2000);
    c.sendBody(1, Buffer.alloc(1000));
    c.sendBody(1, Buffer.alloc(1000));
    const close = await c.expectChannelClose(1);
    expect(close.replyCode).toBe(406);
    await c.call(2, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false }, M.BASIC_QOS_OK);
    expect(c.closed).toBe(false);
    await c.close();
  });
});
