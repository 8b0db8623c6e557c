// Restarts over definitions a client declare would refuse, or that cannot be read back: the
// broker always starts, restores what it can, and logs what it skipped.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeTable } from '../../src/protocol/field-table.js';
import { DefinitionsStore } from '../../src/store/definitions-store.js';
import { vhostDir } from '../../src/store/data-dir.js';
import { channel, confirmChannel, publishConfirmed, queueExists, uniq } from './helpers.js';
import { useDataDirBrokers } from './data-dir-brokers.js';
import { captureLog } from '../helpers/log-capture.js';

const { dataDir, start, stop, connect } = useDataDirBrokers('warren-defs-replay');

const capture = (): ReturnType<typeof captureLog> => captureLog('warn');

/** Appends records to a stopped broker's definitions log, as a damaged or older writer could have left them. */
async function writeDefinitions(dir: string, write: (s: DefinitionsStore) => void): Promise<void> {
  const s = new DefinitionsStore({ dir: join(vhostDir(dir, '/'), 'definitions') });
  await s.open();
  write(s);
  await new Promise<void>((resolve, reject) => s.whenDurable((err) => (err === null ? resolve() : reject(err))));
  await s.close();
}

/** u32 length + one entry whose value tag no decoder knows. */
function undecodableTable(): Buffer {
  const body = Buffer.concat([Buffer.from([5]), Buffer.from('x-bad', 'latin1'), Buffer.from([0xff, 1, 2, 3])]);
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

describe('definitions replayed at recovery', { timeout: 5000 }, () => {
  it('a durable server-named (amq.gen-) queue and its messages survive every restart', async () => {
    const dir = dataDir();
    let r = await start(dir);
    let name: string;
    {
      const ch = await confirmChannel(await connect(r));
      name = (await ch.assertQueue('', { durable: true, exclusive: false })).queue;
      expect(name.startsWith('amq.gen-')).toBe(true);
      await ch.bindQueue(name, 'amq.direct', 'k');
      expect(await publishConfirmed(ch, 'amq.direct', 'k', 'kept', { persistent: true })).toBe('ack');
    }
    for (let i = 0; i < 2; i++) {
      await stop(r);
      r = await start(dir);
    }
    const ch = await channel(await connect(r));
    expect((await ch.checkQueue(name)).messageCount).toBe(1);
    const m = await ch.get(name, { noAck: true });
    expect(m === false ? null : m.content.toString()).toBe('kept');
    // The binding came back too, and the name is still refused to clients.
    await ch.publish('amq.direct', 'k', Buffer.from('again'));
    await new Promise((res) => setTimeout(res, 20));
    expect((await ch.checkQueue(name)).messageCount).toBe(1);
    const conn = await connect(r);
    const ch2 = await channel(conn);
    await expect(ch2.assertQueue('amq.gen-mine', { durable: true })).rejects.toThrow(/ACCESS_REFUSED|403/);
  });

  it('an unreadable queue, exchange or binding record is logged and skipped; the rest starts, and the messages stay on disk', async () => {
    const dir = dataDir();
    const good = uniq('good');
    const victim = uniq('victim');
    const gx = uniq('good-x');
    let r = await start(dir);
    {
      const ch = await confirmChannel(await connect(r));
      await ch.assertQueue(good, { durable: true });
      await ch.assertQueue(victim, { durable: true, arguments: { 'x-max-length': 100 } });
      await ch.assertExchange(gx, 'direct', { durable: true });
      await ch.bindQueue(good, gx, 'g');
      for (const q of [good, victim]) expect(await publishConfirmed(ch, '', q, `in-${q}`, { persistent: true })).toBe('ack');
    }
    await stop(r);
    // Replace the victim's record and add a bad exchange and a bad binding, straight in the log.
    await writeDefinitions(dir, (s) => {
      s.putQueue({ vhost: '/', name: victim, autoDelete: false, exclusive: false, arguments: undecodableTable() });
      s.putExchange({ vhost: '/', name: 'bad-x', type: 'direct', autoDelete: false, internal: false, arguments: undecodableTable() });
      s.putExchange({ vhost: '/', name: 'odd-type-x', type: 'x-no-such-type', autoDelete: false, internal: false, arguments: encodeTable({}) });
      s.putBinding({ vhost: '/', source: gx, destination: good, destinationType: 'queue', routingKey: 'bad', arguments: undecodableTable() });
    });

    const { logger, lines } = capture();
    r = await start(dir, { logger });
    const conn = await connect(r);
    const ch = await channel(conn);
    expect((await ch.checkQueue(good)).messageCount).toBe(1);
    expect(await queueExists(conn, victim)).toBe(false);
    await ch.publish(gx, 'g', Buffer.from('routed'));
    await new Promise((res) => setTimeout(res, 20));
    expect((await ch.checkQueue(good)).messageCount).toBe(2);

    const skipped = lines.filter((l) => l.msg === 'durable definition unreadable, skipped at recovery');
    expect(skipped.map((l) => `${String(l.kind)}:${String(l.name ?? l.routingKey)}`).sort()).toEqual(
      ['binding:bad', 'exchange:bad-x', 'exchange:odd-type-x', `queue:${victim}`].sort(),
    );
    expect(String(skipped.find((l) => l.kind === 'queue')?.err)).toMatch(/unknown field table tag/);
    expect(lines.some((l) => l.msg === 'messages of an unrestored queue kept on disk' && l.queue === victim && l.messages === 1)).toBe(true);
    await stop(r);

    // Once the record is readable again, the victim's confirmed message is back: nothing was deleted.
    await writeDefinitions(dir, (s) => {
      s.putQueue({ vhost: '/', name: victim, autoDelete: false, exclusive: false, arguments: encodeTable({ 'x-max-length': 100 }) });
    });
    r = await start(dir);
    const ch3 = await channel(await connect(r));
    const m = await ch3.get(victim, { noAck: true });
    expect(m === false ? null : m.content.toString()).toBe(`in-${victim}`);
  });

  it('the pending messages of a delayed exchange whose record is unreadable stay on disk', async () => {
    const dir = dataDir();
    const dx = uniq('delayed-x');
    const q = uniq('delayed-target');
    let r = await start(dir);
    {
      const ch = await confirmChannel(await connect(r));
      await ch.assertExchange(dx, 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'direct' } });
      await ch.assertQueue(q, { durable: true });
      await ch.bindQueue(q, dx, 'k');
      expect(await publishConfirmed(ch, dx, 'k', 'later', { persistent: true, headers: { 'x-delay': 3_600_000 } })).toBe('ack');
    }
    await stop(r);
    const good = encodeTable({ 'x-delayed-type': 'direct' });
    await writeDefinitions(dir, (s) => {
      s.putExchange({ vhost: '/', name: dx, type: 'x-delayed-message', autoDelete: false, internal: false, arguments: undecodableTable() });
    });
    const { logger, lines } = capture();
    r = await start(dir, { logger });
    expect(r.broker.vhost('/')?.exchanges.has(dx)).toBe(false);
    expect(lines.some((l) => l.msg === 'delayed messages of an unrestored exchange kept on disk' && l.exchange === dx && l.messages === 1)).toBe(true);
    await stop(r);
    await writeDefinitions(dir, (s) => {
      s.putExchange({ vhost: '/', name: dx, type: 'x-delayed-message', autoDelete: false, internal: false, arguments: good });
    });
    r = await start(dir);
    expect(r.broker.vhost('/')?.delayed.size).toBe(1);
  });
});
