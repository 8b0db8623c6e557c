// Graceful shutdown: every client gets connection.close 320 CONNECTION_FORCED.

import { describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import * as M from '../../src/protocol/generated/amqp.js';

describe('graceful shutdown', () => {
  it('sends 320 CONNECTION_FORCED to every client and releases the port', async () => {
    const { running, stop } = await startTestBroker();
    const raws = await Promise.all([RawClient.open(running.port), RawClient.open(running.port)]);
    await raws[0]?.openChannel(1);
    const conn = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${running.port}`);
    const ch = await conn.createChannel();
    await ch.assertQueue('', { exclusive: true });
    const amqpClosed = new Promise<Error | undefined>((resolve) => conn.on('close', (err?: Error) => resolve(err)));
    conn.on('error', () => undefined);

    const stopping = stop();
    const closes = await Promise.all(raws.map((r) => r.expectConnectionClose()));
    for (const close of closes) {
      expect(close.replyCode).toBe(320);
      expect(close.replyText).toBe("CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'");
    }
    const err = (await amqpClosed) as (Error & { code?: number }) | undefined;
    expect(err?.code).toBe(320);
    await stopping;
    for (const r of raws) expect(await r.waitClosed()).toBe(true);
    // The port is released: a new connection is refused.
    await expect(RawClient.connect(running.port)).rejects.toThrow();
  });

  it('a client that never answers close-ok is cut off, and close() still resolves quickly', async () => {
    const { running, stop } = await startTestBroker();
    const c = await RawClient.open(running.port);
    const t0 = Date.now();
    await stop();
    expect(Date.now() - t0).toBeLessThan(2000);
    const { method } = await c.nextMethod();
    expect(method.id).toBe(M.CONNECTION_CLOSE);
    expect(await c.waitClosed()).toBe(true);
  });
});
