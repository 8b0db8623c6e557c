// What is not durable does not come back after a SIGKILL: transient messages (even in a
// durable queue, even confirmed), non-durable queues and exchanges, and bindings to them;
// while the durable objects and persistent messages next to them do.

import { describe, expect, it } from 'vitest';
import type * as amqplib from 'amqplib';
import {
  channel,
  closeAllConnections,
  confirmChannel,
  connect,
  drainQueues,
  startChild,
  tempDataDir,
  useCrashHarness,
} from './harness.js';

useCrashHarness();

async function exists(conn: amqplib.ChannelModel, kind: 'exchange' | 'queue', name: string): Promise<boolean> {
  const ch = await channel(conn);
  try {
    if (kind === 'queue') await ch.checkQueue(name);
    else await ch.checkExchange(name);
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  }
  await ch.close();
  return true;
}

describe('SIGKILL drops what is not durable', () => {
  it('transient messages, non-durable queues, exchanges and their bindings are gone; durable ones stay', { timeout: 15_000 }, async () => {
    const dir = tempDataDir('transient');
    const broker = await startChild(dir);
    const conn = await connect(broker.url);
    const ch = await confirmChannel(conn);
    await ch.assertQueue('keep.q', { durable: true });
    await ch.assertQueue('temp.q', { durable: false });
    await ch.assertQueue('temp.auto', { durable: false, autoDelete: true });
    await ch.assertExchange('keep.x', 'fanout', { durable: true });
    await ch.assertExchange('temp.x', 'fanout', { durable: false });
    await ch.bindQueue('keep.q', 'keep.x', '');
    await ch.bindQueue('temp.q', 'keep.x', ''); // durable exchange, transient queue: not durable
    await ch.bindQueue('keep.q', 'temp.x', ''); // transient exchange: not durable
    // A consumer on the auto-delete queue keeps it alive until the crash.
    const cons = await channel(conn);
    await cons.consume('temp.auto', () => undefined, { noAck: false });

    const N = 200;
    for (let i = 0; i < N; i++) {
      const persistent = i % 2 === 0;
      ch.publish('keep.x', '', Buffer.from(`${persistent ? 'p' : 't'}-${i}`), { persistent });
      ch.sendToQueue('temp.q', Buffer.from(`temp-${i}`), { persistent: true });
      ch.sendToQueue('temp.auto', Buffer.from(`auto-${i}`), { persistent: true });
    }
    await ch.waitForConfirms();
    const before = await ch.checkQueue('keep.q');
    expect(before.messageCount).toBe(N);

    await broker.kill();
    await closeAllConnections();

    const after = await startChild(dir);
    const c = await connect(after.url);
    expect(await exists(c, 'queue', 'keep.q')).toBe(true);
    expect(await exists(c, 'exchange', 'keep.x')).toBe(true);
    expect(await exists(c, 'queue', 'temp.q'), 'non-durable queue').toBe(false);
    expect(await exists(c, 'queue', 'temp.auto'), 'non-durable auto-delete queue').toBe(false);
    expect(await exists(c, 'exchange', 'temp.x'), 'non-durable exchange').toBe(false);

    const get = await channel(c);
    const drained = await drainQueues(get, ['keep.q']);
    const bodies = (drained.get('keep.q') ?? []).map((m) => m.body.toString());
    const transientBack = bodies.filter((b) => b.startsWith('t-'));
    const persistentBack = bodies.filter((b) => b.startsWith('p-'));
    console.log(`[crash/transient] before=${before.messageCount} after=${bodies.length} persistent=${persistentBack.length} transient=${transientBack.length}`);
    expect(transientBack, 'transient messages survived a crash').toEqual([]);
    expect(persistentBack).toEqual(Array.from({ length: N / 2 }, (_, k) => `p-${2 * k}`));

    // The binding from the durable exchange to the vanished queue must not have been restored
    // as a dangling route: a queue of the same name declared now gets nothing through keep.x.
    const pub = await confirmChannel(c);
    await pub.assertQueue('temp.q', { durable: false });
    pub.publish('keep.x', '', Buffer.from('after-restart'), { persistent: true });
    await pub.waitForConfirms();
    const viaOld = await drainQueues(get, ['temp.q', 'keep.q']);
    expect((viaOld.get('temp.q') ?? []).length, 'binding to a non-durable queue survived').toBe(0);
    expect((viaOld.get('keep.q') ?? []).map((m) => m.body.toString())).toEqual(['after-restart']);
  });
});
