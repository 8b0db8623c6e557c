// Connection, channel, consumer and unacked infos (what /api/connections, /api/channels,
// /api/consumers and warren's /unacked show), read while real amqplib clients use the broker.

import { describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { useBroker } from '../helpers/broker.js';
import type { VHost } from '../../src/broker/vhost.js';
import type { Queue } from '../../src/broker/queue/queue.js';

const b = useBroker();

describe('client infos', () => {
  it('describe a connection, its channels, consumers and unacked deliveries', async () => {
    const conn = await amqplib.connect(b.url, { clientProperties: { connection_name: 'orders-app' } });
    conn.on('error', () => undefined);
    try {
      const ch = await conn.createConfirmChannel();
      await ch.prefetch(2);
      await ch.assertQueue('ci-q', { durable: false });
      await ch.assertQueue('ci-sac', { durable: false, arguments: { 'x-single-active-consumer': true } });
      for (let i = 0; i < 3; i++) ch.sendToQueue('ci-q', Buffer.from(`m${i}`));
      await ch.waitForConfirms();
      const delivered: amqplib.ConsumeMessage[] = [];
      await ch.consume('ci-q', (m) => m !== null && delivered.push(m), { consumerTag: 'ctag-1', arguments: { 'x-priority': 3 } });
      await ch.consume('ci-sac', () => undefined, { consumerTag: 'sac-1' });
      await ch.consume('ci-sac', () => undefined, { consumerTag: 'sac-2' });
      await ch.checkQueue('ci-q');

      const clients = b.running.broker.clients;
      const c = clients.list().find((x) => x.info().user_provided_name === 'orders-app');
      if (c === undefined) throw new Error('connection not listed');
      const info = c.info();
      expect(info).toMatchObject({
        user: 'guest', vhost: '/', protocol: 'AMQP 0-9-1', type: 'network', state: 'running', channels: 1,
        peer_host: '127.0.0.1', host: '127.0.0.1', port: b.port, ssl: false, auth_mechanism: 'PLAIN', frame_max: expect.any(Number), channel_max: expect.any(Number),
      });
      expect(info.name).toBe(`127.0.0.1:${info.peer_port} -> 127.0.0.1:${b.port}`);
      expect(info.client_properties).toMatchObject({ product: 'amqplib', connection_name: 'orders-app', capabilities: { publisher_confirms: true } });
      expect(info.recv_oct).toBeGreaterThan(0);
      expect(info.send_oct).toBeGreaterThan(0);
      expect(info.connected_at).toBeGreaterThan(0);

      const [chan] = c.channelInfos();
      expect(chan).toMatchObject({
        number: 1, name: `${info.name} (1)`, state: 'running', confirm: true, transactional: false, prefetch_count: 2, consumer_count: 3,
        messages_unacknowledged: 2, messages_unconfirmed: 0, connection_details: { name: info.name, peer_host: '127.0.0.1', peer_port: info.peer_port },
      });

      const consumers = c.consumerInfos();
      expect(consumers.find((x) => x.consumer_tag === 'ctag-1')).toMatchObject({
        ack_required: true, prefetch_count: 2, exclusive: false, arguments: { 'x-priority': 3 }, active: true, activity_status: 'up',
        consumer_timeout: b.running.broker.config.consumerTimeout, queue: { name: 'ci-q', vhost: '/' }, messages_unacknowledged: 2,
        channel_details: { number: 1, name: `${info.name} (1)`, connection_name: info.name, user: 'guest' },
      });
      expect(consumers.filter((x) => x.queue.name === 'ci-sac').map((x) => [x.consumer_tag, x.active, x.activity_status])).toEqual([
        ['sac-1', true, 'single_active'],
        ['sac-2', false, 'waiting'],
      ]);

      const q = (b.running.broker.vhost('/') as VHost).queues.get('ci-q') as Queue;
      const unacked = clients.unackedIn('/', q);
      expect(unacked.map((u) => [u.delivery_tag, u.consumer_tag, u.channel, u.connection_name, u.routing_key])).toEqual([
        [1, 'ctag-1', 1, info.name, 'ci-q'],
        [2, 'ctag-1', 1, info.name, 'ci-q'],
      ]);
      ch.ack(delivered[0] as amqplib.ConsumeMessage);
      await ch.checkQueue('ci-q');
      // The ack freed room: the third message went out, so two are still unacked, tags 2 and 3.
      expect(clients.unackedIn('/', q).map((u) => u.delivery_tag)).toEqual([2, 3]);
    } finally {
      await conn.close();
    }
  });
});
