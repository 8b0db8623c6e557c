// The counters as a client drives them over real AMQP (amqplib): publishes, confirms, returns,
// drops, consumer deliveries, gets, acks, redeliveries, and churn, at every level.

import { describe, expect, it } from 'vitest';
import { useBroker } from '../../helpers/broker.js';
import { channel, confirmChannel } from '../../helpers/amqp.js';
import { deliverGet } from '../../../src/broker/stats/message-counters.js';

const b = useBroker();

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond(), what).toBe(true);
}

describe('message counters', () => {
  it('count at the queue, exchange, vhost, broker and channel', async () => {
    const broker = b.running.broker;
    const vhost = broker.vhost('/');
    if (vhost === undefined) throw new Error('no vhost');
    const g0 = { ...broker.messageTotals() };
    const v0 = { ...vhost.stats };
    const churn0 = { ...broker.stats.churn };
    const conn = await b.connect();
    const pub = await confirmChannel(conn);
    await pub.assertExchange('st-x', 'fanout', { durable: false });
    await pub.assertQueue('st-q', { durable: false });
    await pub.assertQueue('st-q', { durable: false }); // redeclared: declared twice, created once
    await pub.bindQueue('st-q', 'st-x', '');
    for (let i = 0; i < 5; i++) pub.publish('st-x', '', Buffer.from(`m${i}`));
    pub.publish('', 'st-nowhere', Buffer.from('lost'));
    pub.publish('', 'st-nowhere', Buffer.from('back'), { mandatory: true });
    await pub.waitForConfirms();

    const pubStats = [...broker.stats.channels].find((c) => c.publish > 0);
    if (pubStats === undefined) throw new Error('no channel stats');
    expect(pubStats.publish).toBe(7);
    expect(pubStats.confirm).toBe(7);
    expect(pubStats.publishConfirm).toBe(7);
    expect(pubStats.returnUnroutable).toBe(1);
    expect(pubStats.dropUnroutable).toBe(1);
    expect(pubStats.identity.vhost).toBe('/');
    expect(pubStats.name).toMatch(/^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ \(1\)$/);
    expect(broker.stats.channelsOf(pubStats.identity.connectionName)).toEqual([pubStats]);

    const x = vhost.exchanges.get('st-x');
    const q = vhost.queues.get('st-q');
    if (x === undefined || q === undefined) throw new Error('missing');
    expect(x.stats.publishIn).toBe(5);
    expect(x.stats.publishOut).toBe(5);
    expect(q.stats.publish).toBe(5);

    const con = await channel(conn);
    const got = await con.get('st-q', { noAck: false });
    if (got === false) throw new Error('no message');
    con.nack(got, false, true); // requeued: its next delivery is a redelivery
    const got2 = await con.get('st-q', { noAck: true });
    if (got2 === false) throw new Error('no message');
    expect(got2.fields.redelivered).toBe(true);
    const seen: number[] = [];
    await con.prefetch(10);
    await con.consume('st-q', (m) => {
      if (m === null) return;
      seen.push(1);
      con.ack(m);
    });
    await until(() => seen.length === 4 && q.stats.ack === 4, 'four consumed and acked');
    await con.checkQueue('st-q');
    expect(await con.get('st-q')).toBe(false);

    expect(q.stats.get).toBe(1);
    expect(q.stats.getNoAck).toBe(1);
    expect(q.stats.deliver).toBe(4);
    expect(q.stats.redeliver).toBe(1);
    expect(q.stats.getEmpty).toBe(1);
    expect(q.unacked).toBe(0);
    expect(deliverGet(q.stats)).toBe(6);

    const conStats = [...broker.stats.channels].find((c) => c.deliver > 0);
    if (conStats === undefined) throw new Error('no consumer channel stats');
    expect(conStats.get + conStats.getNoAck + conStats.getEmpty).toBe(3);
    expect(conStats.ack).toBe(4);
    expect(conStats.redeliver).toBe(1);
    expect(conStats.probe?.consumerCount()).toBe(1);
    expect(conStats.probe?.unackedCount()).toBe(0);

    const g = broker.messageTotals();
    expect(g.publish - g0.publish).toBe(7);
    expect(g.routed - g0.routed).toBe(5);
    expect(g.confirm - g0.confirm).toBe(7);
    expect(g.returnUnroutable - g0.returnUnroutable).toBe(1);
    expect(g.dropUnroutable - g0.dropUnroutable).toBe(1);
    expect(g.ack - g0.ack).toBe(4);
    expect(g.deliver - g0.deliver).toBe(4);
    expect(vhost.stats.publish - v0.publish).toBe(7);
    expect(vhost.stats.getEmpty - v0.getEmpty).toBe(1);

    const churn = broker.stats.churn;
    expect(churn.queueDeclared - churn0.queueDeclared).toBe(2);
    expect(churn.queueCreated - churn0.queueCreated).toBe(1);
    expect(churn.connectionCreated - churn0.connectionCreated).toBe(1);
    expect(churn.channelCreated - churn0.channelCreated).toBe(2);
    const channelsBefore = broker.stats.channels.size;
    await con.close();
    expect(broker.stats.channels.size).toBe(channelsBefore - 1);
    expect(churn.channelClosed - churn0.channelClosed).toBe(1);
    await pub.deleteQueue('st-q');
    expect(churn.queueDeleted - churn0.queueDeleted).toBe(1);
    // A deleted queue's counts stay in the broker's totals, and in its queue type's.
    expect(broker.messageTotals().deliver - g0.deliver).toBe(4);
    expect(broker.stats.retiredByQueueType.get('classic')?.deliver).toBeGreaterThanOrEqual(4);
    await conn.close();
    await until(() => churn.connectionClosed - churn0.connectionClosed === 1, 'connection closed counted');
  });

  it('an unacked delivery shows in the queue and channel until it is acked, with its age', async () => {
    const broker = b.running.broker;
    const conn = await b.connect();
    const ch = await channel(conn);
    await ch.assertQueue('st-unacked', { durable: false });
    ch.sendToQueue('st-unacked', Buffer.from('x'));
    const m = await ch.get('st-unacked');
    if (m === false) throw new Error('no message');
    const q = broker.vhost('/')?.queues.get('st-unacked');
    expect(q?.unacked).toBe(1);
    const st = [...broker.stats.channels].find((c) => c.get === 1 && c.probe?.unackedCount() === 1);
    expect(st?.probe?.oldestUnackedAt()).toBeTypeOf('number');
    ch.ack(m);
    await ch.checkQueue('st-unacked');
    expect(q?.unacked).toBe(0);
    expect(st?.probe?.oldestUnackedAt()).toBe(null);
  });

  it("a deleted vhost's counts stay in the broker's totals", async () => {
    const broker = b.running.broker;
    const v = await broker.addVhost('st-gone');
    v.stats.publish += 5;
    const before = broker.messageTotals().publish;
    await broker.deleteVhost('st-gone');
    expect(broker.messageTotals().publish).toBe(before);
  });
});
