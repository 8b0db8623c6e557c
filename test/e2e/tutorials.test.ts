// The RabbitMQ tutorial flows with amqplib (hello world, work queues, pub/sub,
// routing, topics, RPC) plus direct reply-to and connection.update-secret.

import { describe, expect, it } from 'vitest';
import type * as amqplib from 'amqplib';
import { randomUUID } from 'node:crypto';
import { useBroker, delay } from '../helpers/broker.js';
import { bodies, channel, expectAmqpError, take, uniq } from '../helpers/amqp.js';

const b = useBroker();

function waitFor(cond: () => boolean, ms = 1500): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) return resolve();
      if (Date.now() > deadline) return reject(new Error('condition not met in time'));
      setTimeout(tick, 5);
    };
    tick();
  });
}

describe('tutorials', () => {
  it('1. hello world: send to a named queue, receive it', async () => {
    const sender = await channel(await b.connect());
    const receiver = await channel(await b.connect());
    const q = uniq('hello');
    await sender.assertQueue(q, { durable: false });
    await receiver.assertQueue(q, { durable: false });
    const got = take(receiver, q, 1);
    sender.sendToQueue(q, Buffer.from('Hello World!'));
    expect(bodies(await got)).toEqual(['Hello World!']);
    await sender.deleteQueue(q);
  });

  it('2. work queues: durable queue, persistent messages, prefetch 1 sends work to the idle worker', async () => {
    const conn = await b.connect();
    const producer = await channel(conn);
    const q = uniq('task_queue');
    await producer.assertQueue(q, { durable: true });
    const workers = [await channel(await b.connect()), await channel(await b.connect())];
    const done: string[][] = [[], []];
    const slow = 60; // worker 0 is slow on its first task, so worker 1 takes the rest
    for (const [i, w] of workers.entries()) {
      await w.assertQueue(q, { durable: true });
      await w.prefetch(1);
      await w.consume(q, (m) => {
        if (m === null) return;
        const body = m.content.toString();
        const finish = (): void => {
          done[i]?.push(body);
          w.ack(m);
        };
        if (i === 0 && (done[0]?.length ?? 0) === 0) setTimeout(finish, slow);
        else finish();
      });
    }
    const tasks = ['t1', 't2', 't3', 't4', 't5'];
    for (const t of tasks) producer.sendToQueue(q, Buffer.from(t), { persistent: true });
    await waitFor(() => (done[0]?.length ?? 0) + (done[1]?.length ?? 0) === tasks.length);
    expect([...(done[0] ?? []), ...(done[1] ?? [])].sort()).toEqual(tasks);
    // Fair dispatch: the slow worker handled only what it got before the others were done.
    expect(done[0]?.length).toBeLessThan(done[1]?.length ?? 0);
    await producer.deleteQueue(q);
  });

  it('3. publish/subscribe: fanout "logs" to exclusive server-named queues', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const logs = uniq('logs');
    await ch.assertExchange(logs, 'fanout', { durable: false });
    const subs = await Promise.all(
      [0, 1].map(async () => {
        const s = await channel(await b.connect());
        const { queue } = await s.assertQueue('', { exclusive: true });
        await s.bindQueue(queue, logs, '');
        return { s, queue };
      }),
    );
    const pending = subs.map(({ s, queue }) => take(s, queue, 2));
    ch.publish(logs, '', Buffer.from('info: one'));
    ch.publish(logs, '', Buffer.from('info: two'));
    for (const p of pending) expect(bodies(await p)).toEqual(['info: one', 'info: two']);
  });

  it('4. routing: direct_logs by severity', async () => {
    const ch = await channel(await b.connect());
    const x = uniq('direct_logs');
    await ch.assertExchange(x, 'direct', { durable: false });
    const errors = await ch.assertQueue('', { exclusive: true });
    const all = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(errors.queue, x, 'error');
    for (const sev of ['info', 'warning', 'error']) await ch.bindQueue(all.queue, x, sev);
    const pErr = take(ch, errors.queue, 1);
    const pAll = take(ch, all.queue, 3);
    for (const sev of ['info', 'warning', 'error']) ch.publish(x, sev, Buffer.from(sev));
    expect(bodies(await pErr)).toEqual(['error']);
    expect(bodies(await pAll)).toEqual(['info', 'warning', 'error']);
  });

  it('5. topics: topic_logs with kern.* and *.critical', async () => {
    const ch = await channel(await b.connect());
    const x = uniq('topic_logs');
    await ch.assertExchange(x, 'topic', { durable: false });
    const kern = await ch.assertQueue('', { exclusive: true });
    const crit = await ch.assertQueue('', { exclusive: true });
    const everything = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(kern.queue, x, 'kern.*');
    await ch.bindQueue(crit.queue, x, '*.critical');
    await ch.bindQueue(everything.queue, x, '#');
    const pk = take(ch, kern.queue, 2);
    const pc = take(ch, crit.queue, 2);
    const pe = take(ch, everything.queue, 3);
    ch.publish(x, 'kern.critical', Buffer.from('A critical kernel error'));
    ch.publish(x, 'kern.info', Buffer.from('kernel info'));
    ch.publish(x, 'app.critical', Buffer.from('app down'));
    expect(bodies(await pk)).toEqual(['A critical kernel error', 'kernel info']);
    expect(bodies(await pc)).toEqual(['A critical kernel error', 'app down']);
    expect(bodies(await pe)).toHaveLength(3);
  });

  it('6. RPC: rpc_queue server, exclusive callback queue, correlation id', async () => {
    const server = await channel(await b.connect());
    const rpcQueue = uniq('rpc_queue');
    await server.assertQueue(rpcQueue, { durable: false });
    await server.prefetch(1);
    const fib = (n: number): number => (n < 2 ? n : fib(n - 1) + fib(n - 2));
    await server.consume(rpcQueue, (m) => {
      if (m === null) return;
      const n = Number(m.content.toString());
      server.sendToQueue(m.properties.replyTo as string, Buffer.from(String(fib(n))), { correlationId: m.properties.correlationId as string });
      server.ack(m);
    });

    const client = await channel(await b.connect());
    const { queue: callback } = await client.assertQueue('', { exclusive: true });
    const pending = new Map<string, (v: string) => void>();
    await client.consume(
      callback,
      (m) => {
        if (m === null) return;
        const id = m.properties.correlationId as string;
        pending.get(id)?.(m.content.toString());
        pending.delete(id);
      },
      { noAck: true },
    );
    const call = (n: number): Promise<string> =>
      new Promise((resolve) => {
        const id = randomUUID();
        pending.set(id, resolve);
        client.sendToQueue(rpcQueue, Buffer.from(String(n)), { correlationId: id, replyTo: callback });
      });
    expect(await Promise.all([call(10), call(15), call(1)])).toEqual(['55', '610', '1']);
    await server.deleteQueue(rpcQueue);
  });
});

describe('direct reply-to', () => {
  it('RPC round trip through amq.rabbitmq.reply-to', async () => {
    const serverConn = await b.connect();
    const server = await channel(serverConn);
    const q = uniq('rpc-direct');
    await server.assertQueue(q, { durable: false });
    const seenReplyTo: string[] = [];
    await server.consume(
      q,
      (m) => {
        if (m === null) return;
        seenReplyTo.push(m.properties.replyTo as string);
        server.sendToQueue(m.properties.replyTo as string, Buffer.from(`re:${m.content.toString()}`), { correlationId: m.properties.correlationId as string });
      },
      { noAck: true },
    );

    const client = await channel(await b.connect());
    const replies: amqplib.ConsumeMessage[] = [];
    await client.consume('amq.rabbitmq.reply-to', (m) => m && replies.push(m), { noAck: true });
    client.sendToQueue(q, Buffer.from('ping'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'c1' });
    await waitFor(() => replies.length === 1);
    expect(replies[0]?.content.toString()).toBe('re:ping');
    expect(replies[0]?.properties.correlationId).toBe('c1');
    expect(seenReplyTo[0]).toMatch(/^amq\.rabbitmq\.reply-to\..+/);
    await server.deleteQueue(q);
  });

  it('publishing with reply-to amq.rabbitmq.reply-to without consuming it first: 406', async () => {
    const ch = await channel(await b.connect());
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('x'), { replyTo: 'amq.rabbitmq.reply-to' });
    await expectAmqpError(ch.checkQueue(queue), 406, 'PRECONDITION_FAILED - fast reply consumer does not exist');
  });

  it('consuming amq.rabbitmq.reply-to in ack mode is refused with 406', async () => {
    const ch = await channel(await b.connect());
    await expectAmqpError(ch.consume('amq.rabbitmq.reply-to', () => undefined, { noAck: false }), 406, 'PRECONDITION_FAILED - reply consumer cannot acknowledge');
  });

  it('a reply to a consumer that has gone is dropped silently', async () => {
    const ch = await channel(await b.connect());
    ch.sendToQueue('amq.rabbitmq.reply-to.bm90LWEtdG9rZW4', Buffer.from('late'));
    await delay(20);
    await ch.checkExchange('amq.direct');
  });
});

describe('connection.update-secret', () => {
  it('amqplib updateSecret gets update-secret-ok and the connection keeps working', async () => {
    const conn = await b.connect();
    await conn.updateSecret(Buffer.from('new-token'), 'token refresh');
    const ch = await channel(conn);
    await ch.checkExchange('amq.direct');
  });
});
