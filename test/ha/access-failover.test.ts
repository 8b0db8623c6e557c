// Access state across a failover, on a real 3-node NATS cluster: a user, a vhost and a permission
// made on the leader through broker.access are what the promoted standby authenticates against,
// and a vhost deleted on the leader is gone from the standby's data directory too. A standby
// whose directory is a copy of another group's stream rebuilds it from its own group's.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as amqplib from 'amqplib';
import { describe, expect, it } from 'vitest';
import { Follower } from '../../src/ha/follower.js';
import { ACCESS_FILE, decodeSnapshot } from '../../src/store/access-store.js';
import { vhostDir } from '../../src/store/data-dir.js';
import { haGroupFixture, until, type HaGroupFixture } from './ha-group.js';

const group = haGroupFixture();
const haNode = (name: string, g: string, dir?: string): ReturnType<HaGroupFixture['node']> => group.node(name, g, dir === undefined ? {} : { dir });

describe('HA failover of the access state', () => {
  it('the promoted standby accepts a user made on the leader, on its vhost; a vhost deleted on the leader is gone', async () => {
    const { node: a } = await haNode('a', 'acc1');
    const ra = await a.serving();
    const { node: b, dataDir: bDir } = await haNode('b', 'acc1');
    await until('b to follow', () => b.role() === 'standby');

    const access = ra.broker.access;
    await access.putVhost('tenant');
    await access.putUser({ name: 'alice', password: 'alice-pw' });
    await access.setPermissions('alice', 'tenant', { configure: '.*', write: '.*', read: '.*' });
    await access.putVhost('doomed');
    await access.setPermissions('alice', 'doomed', { configure: '.*', write: '.*', read: '.*' });
    // Something durable in it, so the standby's copy of the directory holds more than its name.
    const c = await amqplib.connect(`amqp://alice:alice-pw@127.0.0.1:${ra.port}/doomed`);
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('inside', { durable: true });
    ch.sendToQueue('inside', Buffer.from('x'), { persistent: true });
    await ch.waitForConfirms();
    await c.close();
    await until('the doomed vhost on the standby', () => fs.existsSync(path.join(vhostDir(bDir, 'doomed'), 'messages')));
    await access.deleteVhost('doomed');

    await a.close();
    const rb = await b.serving();
    expect(b.role()).toBe('leader');
    const conn = await amqplib.connect(`amqp://alice:alice-pw@127.0.0.1:${rb.port}/tenant`);
    const ch2 = await conn.createChannel();
    expect((await ch2.assertQueue('tenant-q', { durable: true })).queue).toBe('tenant-q');
    await conn.close();
    expect(rb.broker.access.vhostNames().sort()).toEqual(['/', 'tenant']);
    expect(fs.existsSync(vhostDir(bDir, 'doomed'))).toBe(false);
    await expect(amqplib.connect(`amqp://alice:alice-pw@127.0.0.1:${rb.port}/doomed`)).rejects.toThrow();
  }, 90_000);

  it('a standby whose directory is a copy of another group\'s stream rebuilds it from its new group\'s', async () => {
    const users = (dir: string): string[] => {
      try {
        return decodeSnapshot(fs.readFileSync(path.join(dir, ACCESS_FILE)), 'x').users.map((u) => u.name);
      } catch {
        return [];
      }
    };
    const { node: a } = await haNode('a2', 'old-group');
    const ra = await a.serving();
    const { node: b, dataDir: bDir } = await haNode('b2', 'old-group');
    await until('b2 to follow', () => b.role() === 'standby');
    // The old stream runs well past where the new group's first entries will be.
    for (let i = 0; i < 30; i++) await ra.broker.access.putUser({ name: `old-${i}`, password: 'pw' });
    await until('b2 to copy the old group', () => users(bDir).includes('old-29'));
    await b.close();
    const { node: c } = await haNode('c2', 'new-group');
    const rc = await c.serving();
    await rc.broker.access.putUser({ name: 'new-user', password: 'pw' });
    // Upgraded onto the new group with its directory as it was.
    const { node: b2 } = await haNode('b2-again', 'new-group', bDir);
    await until('b2 to copy the new group', () => users(bDir).includes('new-user'));
    expect(b2.role()).toBe('standby');
    expect(users(bDir)).not.toContain('old-0');
    expect(Follower.streamIn(bDir)).toContain('WLOG_new-group');
  }, 90_000);
});
