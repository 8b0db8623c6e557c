// warren's move (dead-lettered messages back to their queue, or to a named one), the recovery
// half that makes an interrupted move neither lose nor duplicate, and queue pause/resume.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as amqplib from 'amqplib';
import { describe, expect, it } from 'vitest';
import { useBroker } from '../../helpers/broker.js';
import { channel, confirmChannel } from '../../helpers/amqp.js';
import { moveMessages, movedCopy, MOVED_HEADER } from '../../../src/broker/ops/move.js';
import { startBroker } from '../../../src/index.js';
import type { VHost } from '../../../src/broker/vhost.js';
import type { Queue } from '../../../src/broker/queue/queue.js';

const b = useBroker();
const vhost = (): VHost => b.running.broker.vhost('/') as VHost;
const owner = {};

/** work → (reject) → dlx → dlq, with `n` messages dead-lettered into dlq. */
async function deadLetter(prefix: string, n: number): Promise<amqplib.Channel> {
  const conn = await b.connect();
  const ch = await confirmChannel(conn);
  await ch.assertExchange(`${prefix}-dlx`, 'fanout', { durable: true });
  await ch.assertQueue(`${prefix}-dlq`, { durable: true });
  await ch.bindQueue(`${prefix}-dlq`, `${prefix}-dlx`, '');
  await ch.assertQueue(`${prefix}-work`, { durable: true, arguments: { 'x-dead-letter-exchange': `${prefix}-dlx` } });
  for (let i = 0; i < n; i++) ch.sendToQueue(`${prefix}-work`, Buffer.from(String(i)), { persistent: true });
  await ch.waitForConfirms();
  for (let i = 0; i < n; i++) {
    const m = await ch.get(`${prefix}-work`);
    if (m === false) throw new Error('missing message');
    ch.reject(m, false);
  }
  await ch.checkQueue(`${prefix}-dlq`);
  return ch;
}

describe('move', () => {
  it('sends dead-lettered messages back to the queue they died in, x-death kept, in order', async () => {
    const ch = await deadLetter('mv', 5);
    expect((await ch.checkQueue('mv-dlq')).messageCount).toBe(5);
    const r = await moveMessages(vhost(), 'mv-dlq', { count: 3 }, owner);
    expect(r).toEqual({ moved: 3, stopped: null });
    expect((await ch.checkQueue('mv-dlq')).messageCount).toBe(2);
    expect((await ch.checkQueue('mv-work')).messageCount).toBe(3);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await ch.get('mv-work', { noAck: true });
      if (m === false) throw new Error('missing');
      got.push(m.content.toString());
      const death = (m.properties.headers?.['x-death'] as { queue: string; reason: string }[])[0];
      expect(death).toMatchObject({ queue: 'mv-work', reason: 'rejected' });
      expect(m.fields.redelivered).toBe(false);
    }
    expect(got).toEqual(['0', '1', '2']);
  });

  it('moves to a named queue; stops (leaving the message in place) where no target can be found', async () => {
    const conn = await b.connect();
    const ch = await confirmChannel(conn);
    await ch.assertQueue('mv-a', { durable: true });
    await ch.assertQueue('mv-b', { durable: true });
    for (const s of ['x', 'y']) ch.sendToQueue('mv-a', Buffer.from(s), { persistent: true });
    await ch.waitForConfirms();
    expect(await moveMessages(vhost(), 'mv-a', {}, owner)).toEqual({ moved: 0, stopped: 'message has no x-death to move it back by' });
    expect((await ch.checkQueue('mv-a')).messageCount).toBe(2);
    await expect(moveMessages(vhost(), 'mv-a', { target: 'mv-none' }, owner)).rejects.toThrow("NOT_FOUND - no queue 'mv-none' in vhost '/'");
    expect(await moveMessages(vhost(), 'mv-a', { target: 'mv-b' }, owner)).toEqual({ moved: 2, stopped: null });
    const m = await ch.get('mv-b', { noAck: true });
    expect(m !== false && m.content.toString()).toBe('x');
    // The copy names its original (for recovery); the original's store position is in it.
    expect(m !== false && typeof (m.properties.headers?.[MOVED_HEADER] as { queue: string }).queue).toBe('string');
    expect((await ch.checkQueue('mv-a')).messageCount).toBe(0);
  });

  it('a full target stops the move with the message still at the source', async () => {
    const conn = await b.connect();
    const ch = await confirmChannel(conn);
    await ch.assertQueue('mv-src', { durable: false });
    await ch.assertQueue('mv-small', { durable: false, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    for (const s of ['1', '2', '3']) ch.sendToQueue('mv-src', Buffer.from(s));
    await ch.waitForConfirms();
    expect(await moveMessages(vhost(), 'mv-src', { target: 'mv-small' }, owner)).toEqual({ moved: 1, stopped: "queue 'mv-small' is full" });
    const head = await ch.get('mv-src', { noAck: true });
    expect(head !== false && [head.content.toString(), head.fields.redelivered]).toEqual(['2', false]);
  });
});

describe('an interrupted move after restart', () => {
  it('drops an original whose marked copy is on disk, and keeps one whose copy is not', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warren-move-'));
    try {
      let running = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
      let conn = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${running.port}`);
      let ch = await conn.createConfirmChannel();
      await ch.assertQueue('src', { durable: true });
      await ch.assertQueue('dst', { durable: true });
      for (const s of ['a', 'b', 'c']) ch.sendToQueue('src', Buffer.from(s), { persistent: true });
      await ch.waitForConfirms();
      await conn.close();
      // The state a crash leaves between the copy's group commit and the original's ack: 'a' copied
      // and durable, its original not acked. 'b' and 'c' were never copied.
      const v = running.broker.vhost('/') as VHost;
      const src = v.queues.get('src') as Queue;
      const dst = v.queues.get('dst') as Queue;
      const a = src.take();
      if (a === undefined) throw new Error('empty');
      expect(dst.enqueue(movedCopy(a, 'src'), undefined)).toBe('enqueued');
      await new Promise<void>((resolve, reject) => v.store?.whenMessagesDurable((err) => (err === null ? resolve() : reject(err))));
      await running.close();

      running = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
      conn = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${running.port}`);
      ch = await conn.createConfirmChannel();
      const drain = async (q: string): Promise<string[]> => {
        const out: string[] = [];
        for (;;) {
          const m = await ch.get(q, { noAck: true });
          if (m === false) return out;
          out.push(m.content.toString());
        }
      };
      expect(await drain('src')).toEqual(['b', 'c']);
      expect(await drain('dst')).toEqual(['a']);
      await conn.close();
      await running.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('pause and resume', () => {
  it('stops deliveries to consumers until resumed', async () => {
    const conn = await b.connect();
    const ch = await confirmChannel(conn);
    await ch.assertQueue('pz', { durable: false });
    const got: string[] = [];
    const cconn = await b.connect();
    const cch = await channel(cconn);
    await cch.consume('pz', (m) => m !== null && got.push(m.content.toString()), { noAck: true });
    const q = vhost().queues.get('pz') as Queue;
    q.pause();
    for (const s of ['1', '2', '3']) ch.sendToQueue('pz', Buffer.from(s));
    await ch.waitForConfirms();
    // Any delivery would be on the consumer's connection before this reply.
    expect((await cch.checkQueue('pz')).messageCount).toBe(3);
    expect(got).toEqual([]);
    q.resume();
    await cch.checkQueue('pz');
    expect(got).toEqual(['1', '2', '3']);
  });
});
