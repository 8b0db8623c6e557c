// The rabbitmq-client library against warren: declarations, publisher/consumer,
// RPC client (direct reply-to), and error mapping.

import { describe, expect, it } from 'vitest';
import { Connection, type AsyncMessage } from 'rabbitmq-client';
import { useBroker } from '../helpers/broker.js';
import { uniq } from '../helpers/amqp.js';

const b = useBroker();

async function withRabbit<T>(fn: (rabbit: Connection) => Promise<T>): Promise<T> {
  const rabbit = new Connection({ url: b.url, retryLow: 50, retryHigh: 100, connectionTimeout: 2000 });
  rabbit.on('error', () => undefined);
  try {
    return await fn(rabbit);
  } finally {
    await rabbit.close();
  }
}

describe('rabbitmq-client', () => {
  it('connects and reads the server properties', async () => {
    await withRabbit(async (rabbit) => {
      await rabbit.onConnect(2000);
      expect(rabbit.ready).toBe(true);
    });
  });

  it('publisher and consumer with declared topology, acks via handler return', async () => {
    await withRabbit(async (rabbit) => {
      const x = uniq('rmq-x');
      const q = uniq('rmq-q');
      const received: string[] = [];
      let resolve!: () => void;
      const done = new Promise<void>((r) => (resolve = r));
      const sub = rabbit.createConsumer(
        {
          queue: q,
          queueOptions: { exclusive: true },
          qos: { prefetchCount: 2 },
          exchanges: [{ exchange: x, type: 'topic', durable: false }],
          queueBindings: [{ exchange: x, routingKey: 'users.*' }],
        },
        async (msg: AsyncMessage) => {
          received.push(`${msg.routingKey}:${String(msg.body)}`);
          if (received.length === 3) resolve();
        },
      );
      sub.on('error', () => undefined);
      await new Promise<void>((r) => sub.once('ready', () => r()));
      const pub = rabbit.createPublisher({ confirm: true, exchanges: [{ exchange: x, type: 'topic', durable: false }] });
      await pub.send({ exchange: x, routingKey: 'users.visit' }, 'a');
      await pub.send({ exchange: x, routingKey: 'orders.new' }, 'skipped');
      await pub.send({ exchange: x, routingKey: 'users.login' }, 'b');
      await pub.send({ exchange: x, routingKey: 'users.logout' }, 'c');
      await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 1500))]);
      expect(received).toEqual(['users.visit:a', 'users.login:b', 'users.logout:c']);
      await pub.close();
      await sub.close();
    });
  });

  it('RPC client over direct reply-to', async () => {
    await withRabbit(async (rabbit) => {
      const q = uniq('rmq-rpc');
      const server = rabbit.createConsumer({ queue: q, queueOptions: { exclusive: true } }, async (req, reply) => {
        await reply(`echo:${String(req.body)}`);
      });
      server.on('error', () => undefined);
      await new Promise<void>((r) => server.once('ready', () => r()));
      const rpc = rabbit.createRPCClient({ confirm: true, timeout: 1500 });
      const res = await rpc.send(q, 'hello');
      expect(String(res.body)).toBe('echo:hello');
      const res2 = await rpc.send(q, 'again');
      expect(String(res2.body)).toBe('echo:again');
      await rpc.close();
      await server.close();
    });
  });

  it('errors carry the AMQP code name and RabbitMQ text', async () => {
    await withRabbit(async (rabbit) => {
      const q = uniq('rmq-missing');
      let err: (Error & { code?: string }) | null = null;
      try {
        await rabbit.queueDeclare({ queue: q, passive: true });
      } catch (e) {
        err = e as Error & { code?: string };
      }
      expect(err?.code).toBe('NOT_FOUND');
      // rabbitmq-client prefixes the method name to the server's reply text.
      expect(err?.message).toBe(`QueueDeclare: NOT_FOUND - no queue '${q}' in vhost '/'`);
    });
  });

  it('basic.get through a channel, and queue counts', async () => {
    await withRabbit(async (rabbit) => {
      const ch = await rabbit.acquire();
      try {
        const { queue } = await ch.queueDeclare({ exclusive: true });
        await ch.confirmSelect();
        await ch.basicPublish({ routingKey: queue }, 'one');
        await ch.basicPublish({ routingKey: queue }, 'two');
        const ok = await ch.queueDeclare({ queue, passive: true });
        expect(ok.messageCount).toBe(2);
        const m = await ch.basicGet({ queue, noAck: true });
        expect(String(m?.body)).toBe('one');
        expect(m?.messageCount).toBe(1);
        const purged = await ch.queuePurge({ queue });
        expect(purged.messageCount).toBe(1);
        expect(await ch.basicGet({ queue })).toBeUndefined();
      } finally {
        await ch.close();
      }
    });
  });
});
