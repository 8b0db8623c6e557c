// Definitions at boot from rabbitmq.conf (load_definitions, definitions.local.path,
// definitions.skip_if_unchanged), and default_user_tags / default_permissions on the first start.

import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { startBroker } from '../../src/index.js';
import { useDataDirBrokers } from './data-dir-brokers.js';

const { dataDir, start, stop } = useDataDirBrokers('warren-defs-boot');
const FIXTURE = join(__dirname, '..', 'fixtures', 'rabbitmq-3.10-definitions.json');

function conf(dir: string, text: string): string {
  const file = join(dir, 'rabbitmq.conf');
  writeFileSync(file, text);
  return file;
}

describe('definitions at boot', () => {
  it('load_definitions imports at start and creates no default user or vhost', async () => {
    const work = dataDir();
    const data = join(work, 'data');
    const r = await start(data, { configFile: conf(work, `load_definitions = ${FIXTURE}\n`) });
    expect(r.broker.users.get('guest')).toBeUndefined();
    expect(r.broker.vhost('/')).toBeUndefined();
    expect(r.broker.access.vhostNames().sort()).toEqual(['fx-prod', 'fx-team/50%off']);
    const c = await amqplib.connect({ protocol: 'amqp', hostname: '127.0.0.1', port: r.port, username: 'fx-admin', password: 'admin-pw', vhost: 'fx-prod' });
    expect((await (await c.createChannel()).checkQueue('fx.orders')).queue).toBe('fx.orders');
    await c.close();
  });

  it('definitions.local.path takes a directory; skip_if_unchanged skips an unchanged import', async () => {
    const work = dataDir();
    const data = join(work, 'data');
    const defs = join(work, 'defs');
    mkdirSync(defs);
    copyFileSync(FIXTURE, join(defs, '10-rabbit.json'));
    writeFileSync(join(defs, '20-extra.json'), JSON.stringify({ users: [{ name: 'extra', password_hash: '', tags: [] }] }));
    writeFileSync(join(defs, 'notes.txt'), 'not a definitions file');
    const file = conf(work, `definitions.import_backend = local_filesystem\ndefinitions.local.path = ${defs}\ndefinitions.skip_if_unchanged = true\n`);
    let r = await start(data, { configFile: file });
    expect(r.broker.users.get('extra')).toBeDefined();
    await r.broker.access.deleteUser('extra');
    await stop(r);
    // Unchanged: not imported again, so the deletion stands.
    r = await start(data, { configFile: file });
    expect(r.broker.users.get('extra')).toBeUndefined();
    await stop(r);
    // Changed: imported (merge: the user comes back).
    writeFileSync(join(defs, '20-extra.json'), JSON.stringify({ users: [{ name: 'extra', password_hash: '', tags: ['monitoring'] }] }));
    r = await start(data, { configFile: file });
    expect(r.broker.users.get('extra')?.tags).toEqual(['monitoring']);
  });

  it('a bad definitions file stops the start with an error naming the file', async () => {
    const work = dataDir();
    const data = join(work, 'data');
    const bad = join(work, 'bad.json');
    writeFileSync(bad, '{"users": [{"name": "x", "password_hash": "nope", "hashing_algorithm": "rabbit_password_hashing_sha256"}]}');
    const opts = { host: '127.0.0.1', port: 0, dataDir: data, logLevel: 'silent' as const };
    await expect(startBroker({ ...opts, configFile: conf(work, `load_definitions = ${bad}\n`) })).rejects.toThrow(`definitions file '${bad}': users[0] 'x': password_hash of user 'x' is not a valid`);
    writeFileSync(bad, '{"users": [');
    await expect(startBroker({ ...opts, configFile: conf(work, `load_definitions = ${bad}\n`) })).rejects.toThrow(`definitions file '${bad}' is not valid JSON`);
    writeFileSync(bad, '{"queues": {}}');
    await expect(startBroker({ ...opts, configFile: conf(work, `load_definitions = ${bad}\n`) })).rejects.toThrow(`definitions file '${bad}': 'queues' must be a list`);
    await expect(startBroker({ ...opts, configFile: conf(work, `load_definitions = ${join(work, 'missing.json')}\n`) })).rejects.toThrow(/cannot read definitions/);
    // The failed first start left no access state behind: without the file, the default user is created.
    const r = await start(data);
    expect(r.broker.users.get('guest')).toBeDefined();
  });

  it('default_user_tags and default_permissions shape the default user of the first start only', async () => {
    const work = dataDir();
    const data = join(work, 'data');
    const file = conf(work, 'default_user_tags.administrator = false\ndefault_user_tags.monitoring = true\ndefault_permissions.configure = ^app\\.\ndefault_permissions.write = ^app\\.\n');
    let r = await start(data, { configFile: file });
    expect(r.broker.users.get('guest')?.tags).toEqual(['monitoring']);
    expect(r.broker.permissions.get('guest', '/')).toEqual({ configure: '^app\\.', write: '^app\\.', read: '.*' });
    await r.broker.access.setPermissions('guest', '/', { configure: '', write: '', read: '' });
    await stop(r);
    r = await start(data, { configFile: file });
    expect(r.broker.permissions.get('guest', '/')).toEqual({ configure: '', write: '', read: '' });
  });
});
