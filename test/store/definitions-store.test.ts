// Definitions store: round trip, cascades, torn tails, damaged records, interrupted compaction.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DefinitionsStore, type DefinitionsStoreOptions } from '../../src/store/definitions-store.js';
import type { BindingDef, Definitions } from '../../src/store/definitions-types.js';
import { removeDir, tempDir } from './helpers.js';

const dirs: string[] = [];
const stores: DefinitionsStore[] = [];

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await removeDir(d);
});

function newDir(): string {
  const d = tempDir('defs');
  dirs.push(d);
  return d;
}

async function open(dir: string, opts: Partial<DefinitionsStoreOptions> = {}): Promise<[DefinitionsStore, Definitions]> {
  const s = new DefinitionsStore({ dir, ...opts });
  stores.push(s);
  return [s, await s.open()];
}

function durable(s: DefinitionsStore): Promise<void> {
  return new Promise((resolve, reject) => s.whenDurable((err) => (err ? reject(err) : resolve())));
}

const args = Buffer.from([0, 0, 0, 5, 1, 120, 116, 0, 1]); // opaque to the store
const bind = (q: string, rk: string): BindingDef => ({
  vhost: '/',
  source: 'ex',
  destination: q,
  destinationType: 'queue',
  routingKey: rk,
  arguments: Buffer.alloc(0),
});

function populate(s: DefinitionsStore): void {
  s.putVhost({ name: '/' });
  s.putUser({ name: 'guest', passwordHash: 'h', hashingAlgorithm: 'rabbit_password_hashing_sha256', tags: ['administrator'] });
  s.putPermission({ user: 'guest', vhost: '/', configure: '.*', write: '.*', read: '.*' });
  s.putExchange({ vhost: '/', name: 'ex', type: 'topic', autoDelete: false, internal: false, arguments: args });
  s.putQueue({ vhost: '/', name: 'q1', autoDelete: false, exclusive: false, arguments: args });
  s.putQueue({ vhost: '/', name: 'q2', autoDelete: false, exclusive: false, arguments: Buffer.alloc(0) });
  s.putBinding(bind('q1', 'a.#'));
  s.putBinding(bind('q2', 'b.*'));
}

describe('DefinitionsStore', () => {
  it('round-trips every kind of definition, arguments byte for byte', async () => {
    const dir = newDir();
    const [s, empty] = await open(dir);
    expect(empty.queues).toEqual([]);
    populate(s);
    await durable(s);
    await s.close();
    const [, d] = await open(dir);
    expect(d.vhosts).toEqual([{ name: '/' }]);
    expect(d.users[0]?.tags).toEqual(['administrator']);
    expect(d.permissions).toHaveLength(1);
    expect(d.exchanges[0]?.type).toBe('topic');
    expect(d.exchanges[0]?.arguments.equals(args)).toBe(true);
    expect(d.queues.map((q) => q.name)).toEqual(['q1', 'q2']);
    expect(d.bindings.map((b) => b.routingKey)).toEqual(['a.#', 'b.*']);
  });

  it('deletes cascade: queue takes its bindings, exchange its bindings, vhost everything in it', async () => {
    const dir = newDir();
    const [s] = await open(dir);
    populate(s);
    s.deleteQueue('/', 'q1');
    s.deleteBinding(bind('q2', 'nope')); // not there: no effect
    expect(s.snapshot().bindings.map((b) => b.destination)).toEqual(['q2']);
    s.deleteExchange('/', 'ex');
    expect(s.snapshot().bindings).toEqual([]);
    s.deleteUser('guest');
    expect(s.snapshot().permissions).toEqual([]);
    s.deleteVhost('/');
    await durable(s);
    await s.close();
    const [, d] = await open(dir);
    expect(d).toEqual({ vhosts: [], exchanges: [], queues: [], bindings: [], users: [], permissions: [], policies: [] });
  });

  it('survives a torn tail and skips a record whose checksum fails', async () => {
    const dir = newDir();
    const [s] = await open(dir);
    populate(s);
    await durable(s);
    await s.close();
    const file = path.join(dir, 'definitions.log');
    const buf = fs.readFileSync(file);
    // Damage the queue q2 record's payload: find it by content.
    const at = buf.indexOf('"q2"');
    buf[at + 1] = 'x'.charCodeAt(0);
    fs.writeFileSync(file, Buffer.concat([buf, Buffer.from([200, 0, 0, 0, 1, 2])]));
    const [s2, d] = await open(dir);
    expect(d.queues.map((q) => q.name)).toEqual(['q1']);
    expect(d.bindings).toHaveLength(2);
    expect(s2.stats().corruptRecords).toBe(1);
    expect(s2.stats().truncatedBytes).toBe(6);
  });

  it('compacts, and a crash mid-compaction (leftover temp file) loses nothing', async () => {
    const dir = newDir();
    const [s] = await open(dir, { compactAboveBytes: 4096 });
    populate(s);
    for (let i = 0; i < 200; i++) {
      s.putQueue({ vhost: '/', name: `tmp${i}`, autoDelete: true, exclusive: false, arguments: Buffer.alloc(0) });
      s.deleteQueue('/', `tmp${i}`);
      if (i % 20 === 0) await durable(s);
    }
    await durable(s);
    expect(s.stats().compactions).toBeGreaterThan(0);
    expect(s.stats().logBytes).toBeLessThan(8192);
    await s.close();
    // A compaction that died before its rename: garbage temp file next to a good log.
    fs.writeFileSync(path.join(dir, 'definitions.log.tmp'), Buffer.from('half a snapshot'));
    const [, d] = await open(dir);
    expect(d.queues.map((q) => q.name)).toEqual(['q1', 'q2']);
    expect(d.bindings).toHaveLength(2);
    expect(fs.existsSync(path.join(dir, 'definitions.log.tmp'))).toBe(false);
  });

  it('a log torn before its header was written counts as empty', async () => {
    const dir = newDir();
    fs.writeFileSync(path.join(dir, 'definitions.log'), Buffer.from([0x57, 0x52]));
    const [s, d] = await open(dir);
    expect(d.queues).toEqual([]);
    s.putQueue({ vhost: '/', name: 'q', autoDelete: false, exclusive: false, arguments: Buffer.alloc(0) });
    await durable(s);
    await s.close();
    const [, d2] = await open(dir);
    expect(d2.queues.map((q) => q.name)).toEqual(['q']);
  });

  it('refuses a file that is not a definitions log', async () => {
    const dir = newDir();
    fs.writeFileSync(path.join(dir, 'definitions.log'), Buffer.from('something else entirely'));
    const s = new DefinitionsStore({ dir });
    await expect(s.open()).rejects.toThrow(/not a warren definitions log/);
  });
});
