// Each vhost owns its stores: same queue names in two vhosts stay apart on disk and after a
// restart, and deleting a vhost removes its directory.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type * as amqplib from 'amqplib';
import type { RunningBroker } from '../../src/index.js';
import { numberValue } from '../../src/protocol/field-table.js';
import { ManualClock } from '../../src/util/clock.js';
import { MANIFEST, vhostDir, vhostsRoot } from '../../src/store/data-dir.js';
import { useDataDirBrokers } from './data-dir-brokers.js';

const brokers = useDataDirBrokers('warren-vhost-stores');
const { dataDir, start, closeConnections } = brokers;

/** Connections are closed first: the tests stop the broker between checks. */
async function stop(r: RunningBroker): Promise<void> {
  await closeConnections();
  await brokers.stop(r);
}

/** Users and permissions are not stored yet: guest gets every vhost it uses, after each start. */
function grant(r: RunningBroker, vhost: string): void {
  r.broker.permissions.set('guest', vhost, { configure: '.*', write: '.*', read: '.*' });
}

async function connect(r: RunningBroker, vhost: string): Promise<amqplib.ChannelModel> {
  grant(r, vhost);
  return brokers.connect(r, vhost);
}

async function publish(r: RunningBroker, vhost: string, queue: string, bodies: string[]): Promise<void> {
  const ch = await (await connect(r, vhost)).createConfirmChannel();
  await ch.assertQueue(queue, { durable: true, arguments: { 'x-max-length': 1000 } });
  for (const b of bodies) ch.sendToQueue(queue, Buffer.from(b), { persistent: true });
  await ch.waitForConfirms();
}

async function drain(r: RunningBroker, vhost: string, queue: string): Promise<string[]> {
  const ch = await (await connect(r, vhost)).createChannel();
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(m.content.toString());
  }
}

/** Every byte of the files under `dir`, as latin1 text to search. */
function bytesUnder(dir: string): string {
  let out = '';
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out += readFileSync(join(e.parentPath, e.name)).toString('latin1');
  }
  return out;
}

// '/' and '%' in a name must not become path separators or escapes on disk.
const OTHER = 'team/%2F..ü';

describe('a store per vhost', () => {
  it('keeps two vhosts with the same queue name apart on disk and after a restart', async () => {
    const dir = dataDir();
    let r = await start(dir);
    await r.broker.addVhost(OTHER);
    await publish(r, '/', 'same', ['root-1', 'root-2']);
    await publish(r, OTHER, 'same', ['other-1', 'other-2', 'other-3']);

    const rootDir = vhostDir(dir, '/');
    const otherDir = vhostDir(dir, OTHER);
    expect(rootDir).not.toBe(otherDir);
    expect(readFileSync(join(otherDir, MANIFEST), 'utf8')).toBe(OTHER);
    expect(readFileSync(join(rootDir, MANIFEST), 'utf8')).toBe('/');
    // Nothing but the vhosts directory at the top: no flat layout is written any more.
    expect(readdirSync(dir)).toEqual(['access.snapshot', 'vhosts']);
    const rootBytes = bytesUnder(rootDir);
    const otherBytes = bytesUnder(otherDir);
    expect(rootBytes).toContain('root-2');
    expect(rootBytes).not.toContain('other-');
    expect(otherBytes).toContain('other-3');
    expect(otherBytes).not.toContain('root-');

    await stop(r);
    // The second vhost is found on disk: nobody adds it again.
    r = await start(dir);
    expect([...r.broker.vhosts.keys()].sort()).toEqual(['/', OTHER].sort());
    expect(await drain(r, OTHER, 'same')).toEqual(['other-1', 'other-2', 'other-3']);
    expect(await drain(r, '/', 'same')).toEqual(['root-1', 'root-2']);
    // The queue's arguments came back from the right vhost's definitions.
    expect(numberValue(r.broker.vhost(OTHER)?.queues.get('same')?.args['x-max-length'])).toBe(1000);
  });

  it('confirms a publish in a second vhost only once its own store has synced it', async () => {
    const dir = dataDir();
    // Batch mode on a manual clock: a store syncs only when the test advances time.
    const clock = new ManualClock();
    let r = await start(dir, { sync: 'batch', syncIntervalMs: 10, clock });
    await r.broker.addVhost(OTHER);
    const ch = await (await connect(r, OTHER)).createConfirmChannel();
    await ch.assertQueue('only-here', { durable: true });
    let confirmed = false;
    ch.sendToQueue('only-here', Buffer.from('a'), { persistent: true }, () => {
      confirmed = true;
    });
    // A round trip on the same channel: the publish has been handled when this returns.
    await ch.checkQueue('only-here');
    await new Promise((resolve) => setTimeout(resolve, 50));
    // '/' has nothing to sync; a confirm taken from its store would already be here.
    expect(confirmed).toBe(false);
    expect(r.broker.vhost(OTHER)?.store?.messages.stats().messages).toBe(1);
    expect(r.broker.vhost('/')?.store?.messages.stats().messages).toBe(0);
    clock.advance(10);
    await ch.waitForConfirms();
    expect(confirmed).toBe(true);
    await stop(r);
    r = await start(dir);
    expect(await drain(r, OTHER, 'only-here')).toEqual(['a']);
    expect(r.broker.vhost('/')?.queues.has('only-here')).toBe(false);
  });

  it('deleting a vhost removes its directory, and it stays gone after a restart', async () => {
    const dir = dataDir();
    let r = await start(dir);
    await r.broker.addVhost(OTHER);
    await publish(r, OTHER, 'doomed', ['x']);
    await publish(r, '/', 'kept', ['y']);
    await closeConnections();
    expect(existsSync(vhostDir(dir, OTHER))).toBe(true);

    expect(r.broker.permissions.get('guest', OTHER)).toBeDefined();
    expect(await r.broker.deleteVhost(OTHER)).toBe(true);
    expect(existsSync(vhostDir(dir, OTHER))).toBe(false);
    expect(r.broker.permissions.get('guest', OTHER)).toBeUndefined();
    // No trash left behind either.
    expect(readdirSync(vhostsRoot(dir))).toEqual([basename(vhostDir(dir, '/'))]);
    expect(r.broker.vhost(OTHER)).toBeUndefined();
    // connection.open of a vhost that is gone is refused (530 NOT_ALLOWED).
    await expect(connect(r, OTHER)).rejects.toThrow(/ConnectionClose/);
    expect(await r.broker.deleteVhost(OTHER)).toBe(false);

    await stop(r);
    r = await start(dir);
    expect(r.broker.vhost(OTHER)).toBeUndefined();
    expect(await drain(r, '/', 'kept')).toEqual(['y']);
  });

  it('a vhost added while running has its directory and name file at once', async () => {
    const dir = dataDir();
    const r = await start(dir);
    await r.broker.addVhost('late');
    expect(readFileSync(join(vhostDir(dir, 'late'), MANIFEST), 'utf8')).toBe('late');
    // Adding it again is a no-op returning the same vhost.
    expect(await r.broker.addVhost('late')).toBe(r.broker.vhost('late'));
  });

  it('runs concurrent adds and deletes of one vhost one after another', async () => {
    const dir = dataDir();
    const r = await start(dir);
    const [a, b] = await Promise.all([r.broker.addVhost('busy'), r.broker.addVhost('busy')]);
    expect(a).toBe(b);
    const [deleted, again] = await Promise.all([r.broker.deleteVhost('busy'), r.broker.addVhost('busy')]);
    expect(deleted).toBe(true);
    expect(again).not.toBe(a);
    expect(r.broker.vhost('busy')).toBe(again);
    // The re-added vhost has a directory and a working store.
    expect(readFileSync(join(vhostDir(dir, 'busy'), MANIFEST), 'utf8')).toBe('busy');
    await publish(r, 'busy', 'q', ['still here']);
    expect(await drain(r, 'busy', 'q')).toEqual(['still here']);
  });
});
