// Bounded memory: a deep queue keeps pageAfterMessages ready messages in memory and the rest on
// disk (transient ones in the spill store, persistent ones in the message store), in order.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { startBroker, type RunningBroker } from '../../src/index.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function start(dir: string): Promise<RunningBroker> {
  const b = await startBroker({ host: '127.0.0.1', port: 0, dataDir: dir, logLevel: 'silent', pageAfterMessages: 50 });
  cleanup.push(() => b.close());
  return b;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warren-paging-'));
  cleanup.push(async () => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function publishAll(ch: amqplib.ConfirmChannel, queue: string, n: number, persistent: boolean): Promise<void> {
  for (let i = 0; i < n; i++) ch.sendToQueue(queue, Buffer.from(`m${i}`), { persistent, headers: { i } });
  await ch.waitForConfirms();
}

for (const persistent of [false, true]) {
  it(`pages ${persistent ? 'persistent' : 'transient'} messages beyond the limit and delivers all in order`, async () => {
    const b = await start(tempDir());
    const c = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${b.port}`);
    cleanup.push(() => c.close().catch(() => undefined));
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('deep', { durable: persistent });
    await publishAll(ch, 'deep', 500, persistent);
    const q = b.broker.vhost('/')?.queues.get('deep');
    expect(q?.depth).toBe(500);
    expect(q?.pagedCount).toBe(450); // only 50 kept in memory
    expect((await ch.checkQueue('deep')).messageCount).toBe(500);

    const seen: string[] = [];
    await ch.prefetch(20);
    await new Promise<void>((resolve) => {
      void ch.consume('deep', (m) => {
        if (m === null) return;
        seen.push(m.content.toString());
        expect(m.properties.headers?.['i']).toBe(seen.length - 1);
        ch.ack(m);
        if (seen.length === 500) resolve();
      });
    });
    expect(seen).toEqual(Array.from({ length: 500 }, (_, i) => `m${i}`));
    expect(q?.pagedCount).toBe(0);
  });
}

it('purge and delete drop paged messages too; max-length counts them', async () => {
  const b = await start(tempDir());
  const c = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${b.port}`);
  cleanup.push(() => c.close().catch(() => undefined));
  const ch = await c.createConfirmChannel();
  await ch.assertQueue('p', { durable: false });
  await publishAll(ch, 'p', 200, false);
  expect((await ch.purgeQueue('p')).messageCount).toBe(200);
  expect((await ch.checkQueue('p')).messageCount).toBe(0);

  await ch.assertQueue('lim', { durable: false, arguments: { 'x-max-length': 120 } });
  await publishAll(ch, 'lim', 200, false);
  expect((await ch.checkQueue('lim')).messageCount).toBe(120);
  const first = await ch.get('lim', { noAck: true });
  expect(first && first.content.toString()).toBe('m80'); // drop-head removed the 80 oldest, paged or not
  await publishAll(ch, 'p', 100, false);
  expect((await ch.deleteQueue('p')).messageCount).toBe(100);
});

it('a paged persistent backlog survives a restart, in order', async () => {
  const dir = tempDir();
  let b = await start(dir);
  const c = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${b.port}`);
  c.on('error', () => undefined);
  const ch = await c.createConfirmChannel();
  await ch.assertQueue('keep', { durable: true });
  await publishAll(ch, 'keep', 300, true);
  await b.close();
  b = await start(dir);
  const q = b.broker.vhost('/')?.queues.get('keep');
  expect(q?.depth).toBe(300);
  expect(q?.pagedCount).toBe(250);
  const c2 = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${b.port}`);
  cleanup.push(() => c2.close().catch(() => undefined));
  const ch2 = await c2.createChannel();
  const got: string[] = [];
  for (;;) {
    const m = await ch2.get('keep', { noAck: true });
    if (m === false) break;
    got.push(m.content.toString());
  }
  expect(got).toEqual(Array.from({ length: 300 }, (_, i) => `m${i}`));
});

it('interleaved deep queues share the spill log: each drains in order, a purge skips nothing of the other, and emptied segments go', async () => {
  const b = await start(tempDir());
  const c = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${b.port}`);
  cleanup.push(() => c.close().catch(() => undefined));
  const ch = await c.createConfirmChannel();
  await ch.assertQueue('a', { durable: false });
  await ch.assertQueue('b', { durable: false });
  await ch.assertQueue('lim', { durable: false, arguments: { 'x-max-length': 100 } });
  // 40 KiB bodies: written out of line, ~12 MiB spilled so the 8 MiB spill segments roll and the
  // runs of 'a' span segments, with records of 'b' and 'lim' between every two of its own.
  const big = (tag: string): Buffer => Buffer.concat([Buffer.from(`${tag}|`), Buffer.alloc(40 * 1024, 0x2e)]);
  for (let i = 0; i < 200; i++) {
    ch.sendToQueue('a', big(`a${i}`));
    ch.sendToQueue('b', big(`b${i}`));
    ch.sendToQueue('lim', Buffer.from(`l${i}`));
  }
  await ch.waitForConfirms();
  const spill = b.broker.persistence?.spillStore;
  if (!spill) throw new Error('no spill store');
  expect(spill.stats().segments).toBeGreaterThan(1);
  expect((await ch.purgeQueue('b')).messageCount).toBe(200);
  const tag = (m: amqplib.GetMessage | false): string => (m === false ? 'none' : m.content.toString('latin1', 0, 8).split('|')[0] ?? '');
  const got: string[] = [];
  for (let i = 0; i < 200; i++) got.push(tag(await ch.get('a', { noAck: true })));
  expect(got).toEqual(Array.from({ length: 200 }, (_, i) => `a${i}`));
  // drop-head kept the newest 100 of 'lim', paged or not.
  const lim: string[] = [];
  for (;;) {
    const m = await ch.get('lim', { noAck: true });
    if (m === false) break;
    lim.push(m.content.toString());
  }
  expect(lim).toEqual(Array.from({ length: 100 }, (_, i) => `l${i + 100}`));
  await spill.idle();
  expect(spill.stats()).toMatchObject({ messages: 0, corruptRecords: 0, segments: 1 });
});
