// A standby whose copy missed definition records (its definitions log cut back to its header
// while it was down) meets the leader's next DEFS frame beyond the copy's end: it says so in a
// warning, wipes the copy and rebuilds it from the stream's first entry, and keeps following. It
// does not stop, and once promoted it serves every queue and confirmed message.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as amqplib from 'amqplib';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { vhostDir } from '../../src/store/data-dir.js';
import { DEFINITIONS_LOG_NAME, FILE_HEADER_SIZE } from '../../src/store/definitions-codec.js';
import { haGroupFixture, until as waitUntil } from './ha-group.js';

const group = haGroupFixture();
const until = (what: string, cond: () => boolean, ms = 30_000): Promise<void> => waitUntil(what, cond, ms);

function defsLog(dataDir: string): string {
  return path.join(vhostDir(dataDir, '/'), 'definitions', DEFINITIONS_LOG_NAME);
}

function defsText(dataDir: string): string {
  try {
    return fs.readFileSync(defsLog(dataDir), 'latin1');
  } catch {
    return '';
  }
}

/** Declares durable `queue` on the broker at `port` and publishes `n` confirmed persistent messages to it. */
async function fill(port: number, queue: string, n: number): Promise<void> {
  const c = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${port}`);
  try {
    const ch = await c.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true });
    for (let i = 0; i < n; i++) ch.sendToQueue(queue, Buffer.from(`${queue}-${i}`), { persistent: true });
    await ch.waitForConfirms();
  } finally {
    await c.close();
  }
}

describe('HA: a standby whose copy has a hole rebuilds it', () => {
  it('warns, wipes the copy, follows again from the stream\'s first entry; promoted, it has every message', async () => {
    const { node: g } = await group.node('g', 'hole1');
    const rg = await g.serving();
    await fill(rg.port, 'before', 3);

    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const first = await group.node('h', 'hole1', { extra: { logger } });
    const dir = first.dataDir;
    await until('the standby', () => first.node.role() === 'standby');
    await until('the copy of the first declaration', () => defsText(dir).includes('before'));
    await first.node.close();
    // Records lost from the copy while the node was down.
    fs.truncateSync(defsLog(dir), FILE_HEADER_SIZE);

    const { node: h } = await group.node('h', 'hole1', { dir, extra: { logger } });
    await until('the restarted standby', () => h.role() === 'standby');
    // The leader's next record goes after the ones this copy lost.
    await fill(rg.port, 'after', 2);
    await until('the rebuild warning', () => lines.some((l) => l.includes('HA: this copy missed records of the replicated log')));
    await until('the rebuilt copy', () => h.role() === 'standby' && defsText(dir).includes('before') && defsText(dir).includes('after'));
    const warn = lines.map((l) => JSON.parse(l) as { level: number; msg: string; err?: string }).find((l) => l.msg.startsWith('HA: this copy missed records'));
    expect(warn?.level).toBe(40);
    expect(warn?.err).toMatch(/definitions frame at position \d+ of vhosts\/.+\/definitions\/definitions\.log, which this copy holds only 8 bytes of/);
    expect(lines.some((l) => l.includes('HA node stopped'))).toBe(false);

    // The copy is whole: promoted, it serves both queues with every confirmed message.
    await g.close();
    const rh = await h.serving();
    const c = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${rh.port}`);
    try {
      const ch = await c.createChannel();
      expect((await ch.checkQueue('before')).messageCount).toBe(3);
      expect((await ch.checkQueue('after')).messageCount).toBe(2);
    } finally {
      await c.close();
    }
  }, 90_000);
});
