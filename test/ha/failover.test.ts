// Two warren nodes of one HA group beside a 3-node NATS cluster, in-process: the first to start
// leads and serves AMQP, the other is a standby (GET /ha/role 503, AMQP refused with 320); when
// the leader goes away the standby takes over after the TTL with every confirmed message.

import * as amqplib from 'amqplib';
import { describe, expect, it } from 'vitest';
import type { RunningHaNode } from '../../src/index.js';
import { confirmChannel } from '../helpers/amqp.js';
import { haGroupFixture } from './ha-group.js';

const group = haGroupFixture();
const haNode = async (name: string, g: string): Promise<RunningHaNode> => (await group.node(name, g, { extra: { haRolePort: 0 } })).node;

async function roleOf(n: RunningHaNode): Promise<[number, string]> {
  const res = await fetch(`http://127.0.0.1:${n.rolePort}/ha/role`);
  const body = (await res.json()) as { role: string };
  return [res.status, body.role];
}

describe('HA failover (in-process nodes)', () => {
  it('the standby takes over after the leader stops, with every confirmed message', async () => {
    const a = await haNode('a', 'f1');
    const ra = await a.serving();
    const b = await haNode('b', 'f1');
    // b follows; it never serves while a heartbeats.
    const until = performance.now() + 20_000;
    while (b.role() !== 'standby' && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(b.role()).toBe('standby');
    expect(await roleOf(a)).toEqual([200, 'leader']);
    expect(await roleOf(b)).toEqual([503, 'standby']);

    const conn = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${ra.port}`);
    const ch = await confirmChannel(conn);
    await ch.assertQueue('orders', { durable: true });
    for (let i = 0; i < 300; i++) ch.sendToQueue('orders', Buffer.from(`order-${i}`), { persistent: true });
    await ch.waitForConfirms();
    // Consume and ack the first 100: the acks are replicated too.
    const c = await conn.createChannel();
    await c.prefetch(100);
    const got: string[] = [];
    await new Promise<void>((resolve) => {
      void c.consume('orders', (m) => {
        if (m === null) return;
        got.push(m.content.toString());
        if (got.length === 100) {
          c.ack(m, true);
          resolve();
        }
      });
    });
    await c.close();
    // An ack has no confirm: wait for it to be replicated like a later confirmed publish.
    ch.sendToQueue('orders', Buffer.from('order-300'), { persistent: true });
    await ch.waitForConfirms();
    await conn.close().catch(() => undefined);

    await a.close();
    const t0 = performance.now();
    const rb = await b.serving();
    const failoverMs = performance.now() - t0;
    expect(b.role()).toBe('leader');
    expect(failoverMs).toBeLessThan(15_000);

    const conn2 = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${rb.port}`);
    const ch2 = await conn2.createChannel();
    const q = await ch2.checkQueue('orders');
    expect(q.messageCount).toBe(201);
    const rest: string[] = [];
    for (;;) {
      const m = await ch2.get('orders', { noAck: true });
      if (m === false) break;
      rest.push(m.content.toString());
    }
    expect(rest).toEqual(Array.from({ length: 201 }, (_, i) => `order-${i + 100}`));
    await conn2.close();
  }, 90_000);
});
