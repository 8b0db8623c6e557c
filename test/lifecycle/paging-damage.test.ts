// A paged-out message whose record is damaged on disk is counted and dropped, never delivered;
// its neighbours, read through the same read-ahead window, arrive in order.

import { mkdtempSync, readdirSync, readFileSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { startBroker } from '../../src/index.js';
import { vhostDir } from '../../src/store/data-dir.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

for (const persistent of [false, true]) {
  it(`drops a ${persistent ? 'persistent' : 'spilled'} paged message whose checksum fails, delivering the rest in order`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-paging-damage-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const b = await startBroker({ host: '127.0.0.1', port: 0, dataDir: dir, logLevel: 'silent', pageAfterMessages: 50 });
    cleanup.push(() => b.close());
    const c = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${b.port}`);
    cleanup.push(() => c.close().catch(() => undefined));
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('deep', { durable: persistent });
    const n = 500;
    for (let i = 0; i < n; i++) ch.sendToQueue('deep', Buffer.from(`msg-${String(i).padStart(4, '0')}`), { persistent });
    await ch.waitForConfirms();
    const p = b.broker.persistence;
    if (!p) throw new Error('no persistence');
    const store = persistent ? p.messages : p.spillStore;
    await new Promise<void>((r, j) => store.whenDurable((e) => (e ? j(e) : r())));
    const segDir = join(vhostDir(dir, '/'), persistent ? 'messages' : 'spill');
    let flipped = 0;
    for (const name of readdirSync(segDir)) {
      const file = join(segDir, name);
      const at = readFileSync(file).indexOf('msg-0300');
      if (at < 0) continue;
      const fd = openSync(file, 'r+');
      writeSync(fd, Buffer.from('X'), 0, 1, at + 7);
      closeSync(fd);
      flipped++;
    }
    expect(flipped).toBe(1);
    const before = store.stats().corruptRecords;

    const seen: string[] = [];
    await ch.prefetch(50);
    await new Promise<void>((resolve) => {
      void ch.consume('deep', (m) => {
        if (m === null) return;
        seen.push(m.content.toString());
        ch.ack(m);
        if (seen.length === n - 1) resolve();
      });
    });
    const expected = Array.from({ length: n }, (_, i) => `msg-${String(i).padStart(4, '0')}`).filter((s) => s !== 'msg-0300');
    expect(seen).toEqual(expected);
    expect(store.stats().corruptRecords - before).toBe(1);
    expect((await ch.checkQueue('deep')).messageCount).toBe(0);
    expect(b.broker.vhost('/')?.queues.get('deep')?.readyBytes).toBe(0);
  });
}
