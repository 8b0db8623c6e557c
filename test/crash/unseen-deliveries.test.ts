// Why confirmed-load once saw "redelivered=true on a never-delivered message": the broker marks a
// message delivered when it hands it to a consumer's connection, and a SIGKILL can keep those
// bytes from ever reaching the client (still in the broker's or the kernel's buffers, or dropped
// with the reset). Once a later fsync covers the mark, the message comes back redelivered,
// though the client never saw it: what RabbitMQ does too, as redelivered means "may have been
// delivered before". Here the consumer's socket is not read at all, so the case is certain:
// exactly a prefetch-full comes back redelivered, none of them seen, the rest not redelivered.

import { describe, expect, it } from 'vitest';
import * as M from '../../src/protocol/generated/amqp.js';
import { RawClient } from '../helpers/raw-client.js';
import { channel, confirmChannel, connect, drainQueue, sleep, startChild, tempDataDir, useCrashHarness } from './harness.js';

useCrashHarness();

const QUEUE = 'unseen.q';
const PREFETCH = 10;
const TOTAL = 30;

describe('deliveries the client never read', () => {
  it('come back redelivered after a kill, a prefetch-full at most', { timeout: 20_000 }, async () => {
    const dir = tempDataDir('unseen');
    let broker = await startChild(dir);
    const setup = await confirmChannel(await connect(broker.url));
    await setup.assertQueue(QUEUE, { durable: true });
    await setup.assertQueue('unseen.flush', { durable: true });

    // A raw consumer that stops reading its socket once consuming: deliveries stay in socket buffers.
    const consumer = await RawClient.open(broker.port);
    await consumer.openChannel(1);
    await consumer.call(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: PREFETCH, global: false }, M.BASIC_QOS_OK);
    await consumer.call(
      1,
      { id: M.BASIC_CONSUME, ticket: 0, queue: QUEUE, consumerTag: 'unread', noLocal: false, noAck: false, exclusive: false, nowait: false, arguments: {} },
      M.BASIC_CONSUME_OK,
    );
    consumer.socket.pause();

    for (let i = 0; i < TOTAL; i++) setup.sendToQueue(QUEUE, Buffer.from(`m${i}`), { persistent: true });
    await setup.waitForConfirms();
    // The broker has handed a prefetch-full to the consumer once only the rest is ready.
    for (let i = 0; (await setup.checkQueue(QUEUE)).messageCount !== TOTAL - PREFETCH; i++) {
      if (i > 200) throw new Error('the broker did not deliver a prefetch-full');
      await sleep(10);
    }
    // A confirmed publish after the deliveries: its fsync covers their delivery marks.
    setup.sendToQueue('unseen.flush', Buffer.from('flush'), { persistent: true });
    await setup.waitForConfirms();
    await broker.kill();
    const seen = consumer.pending().filter((f) => f.type === 'method' && f.method.id === M.BASIC_DELIVER);
    consumer.destroy();

    broker = await startChild(dir);
    const ch = await channel(await connect(broker.url));
    const got = await drainQueue(ch, QUEUE);
    expect(seen).toEqual([]);
    expect(got.map((m) => m.body.toString())).toEqual(Array.from({ length: TOTAL }, (_, i) => `m${i}`));
    const redelivered = got.filter((m) => m.redelivered).map((m) => m.body.toString());
    expect(redelivered).toEqual(Array.from({ length: PREFETCH }, (_, i) => `m${i}`));
  });
});
