// A data dir written by the release before per-vhost stores (test/fixtures/legacy-datadir, made
// by test/fixtures/make-legacy-datadir.mjs with that release) opens unchanged: it is migrated into
// the '/' vhost's directory and every definition and message is there.

import { cpSync, existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type * as amqplib from 'amqplib';
import type { RunningBroker } from '../../src/index.js';
import { vhostDir } from '../../src/store/data-dir.js';
import { numberValue } from '../../src/protocol/field-table.js';
import { useDataDirBrokers } from './data-dir-brokers.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'legacy-datadir');
const { dataDir, start, stop, connect, closeConnections } = useDataDirBrokers('warren-legacy');

async function channel(r: RunningBroker): Promise<amqplib.Channel> {
  return (await connect(r)).createChannel();
}

describe('a data dir of the flat layout', () => {
  it('opens with its exchange, queue, binding and messages, moved into the / vhost directory', async () => {
    // The fixture stays as committed: the broker works on a copy.
    const dir = dataDir();
    cpSync(fixture, dir, { recursive: true });
    expect(readdirSync(dir).sort()).toEqual(['definitions', 'messages', 'spill']);

    let r = await start(dir);
    expect(readdirSync(dir)).toEqual(['access.snapshot', 'vhosts']);
    expect(existsSync(join(vhostDir(dir, '/'), 'messages'))).toBe(true);
    expect(existsSync(join(vhostDir(dir, '/'), 'definitions'))).toBe(true);

    const v = r.broker.vhost('/');
    const e = v?.exchanges.get('legacy.topic');
    expect(e?.type).toBe('topic');
    expect(e?.durable).toBe(true);
    expect(e?.args['x-note']).toEqual('kept');
    const q = v?.queues.get('legacy.q');
    expect(q?.durable).toBe(true);
    expect(numberValue(q?.args['x-max-length'])).toBe(100);
    expect(numberValue(q?.args['x-message-ttl'])).toBe(86_400_000);

    // The same declarations as the writer made are equivalent (a mismatch would close the channel).
    let ch = await channel(r);
    await ch.assertExchange('legacy.topic', 'topic', { durable: true, arguments: { 'x-note': 'kept' } });
    await ch.assertQueue('legacy.q', { durable: true, arguments: { 'x-max-length': 100, 'x-message-ttl': 86_400_000 } });
    const got: amqplib.GetMessage[] = [];
    for (;;) {
      const m = await ch.get('legacy.q', { noAck: true });
      if (m === false) break;
      got.push(m);
    }
    expect(got.map((m) => m.content.toString())).toEqual(['message 0', 'message 1', 'message 2']);
    expect(got.map((m) => m.properties.messageId)).toEqual(['m0', 'm1', 'm2']);
    expect(got.map((m) => m.fields.routingKey)).toEqual(['legacy.0', 'legacy.1', 'legacy.2']);
    expect(got.map((m) => m.properties.headers?.['n'])).toEqual([0, 1, 2]);
    expect(got.every((m) => m.properties.deliveryMode === 2)).toBe(true);

    // The binding routes, and what is published now survives the next restart in the new layout.
    ch.publish('legacy.topic', 'legacy.new', Buffer.from('after migration'), { persistent: true });
    const cc = await (await connect(r)).createConfirmChannel();
    cc.publish('legacy.topic', 'legacy.confirmed', Buffer.from('confirmed'), { persistent: true });
    await cc.waitForConfirms();
    await closeConnections();
    await stop(r);

    r = await start(dir);
    ch = await channel(r);
    const after: string[] = [];
    for (;;) {
      const m = await ch.get('legacy.q', { noAck: true });
      if (m === false) break;
      after.push(m.content.toString());
    }
    expect(after).toEqual(['after migration', 'confirmed']);
  });
});
