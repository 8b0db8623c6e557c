// rabbitmqadmin v1 (RabbitMQ 3.10's Python CLI, run with python3) against warren's management API:
// the operator commands scripts use, and that what they change shows over AMQP.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { useApi } from './api.js';
import { rabbitmqadmin, runAdmin } from './rabbitmqadmin.js';

const api = useApi();
let script = '';
const admin = (...args: string[]): ReturnType<typeof runAdmin> => runAdmin(script, api.running.managementPort as number, args);
const json = async (...args: string[]): Promise<unknown> => {
  const r = await admin('-f', 'raw_json', ...args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as unknown;
};

beforeAll(async () => {
  script = await rabbitmqadmin();
}, 600_000);

describe('rabbitmqadmin v1', () => {
  it('show overview', async () => {
    const o = (await json('show', 'overview')) as Record<string, unknown>[];
    expect(o[0]).toMatchObject({ rabbitmq_version: '3.10.8', product_name: 'warren' });
    const table = await admin('show', 'overview');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('rabbitmq_version');
  });

  it('declare and list users, vhosts and permissions; the user then logs in over AMQP', async () => {
    expect((await admin('declare', 'vhost', 'name=ops')).stdout).toContain('vhost declared');
    expect((await admin('declare', 'user', 'name=ops-user', 'password=s3cret', 'tags=management')).stdout).toContain('user declared');
    expect((await admin('declare', 'permission', 'vhost=ops', 'user=ops-user', 'configure=.*', 'write=.*', 'read=.*')).stdout).toContain('permission declared');
    expect(await json('list', 'users')).toContainEqual(expect.objectContaining({ name: 'ops-user', tags: ['management'] }));
    expect(await json('list', 'vhosts')).toContainEqual(expect.objectContaining({ name: 'ops' }));
    expect(await json('list', 'permissions')).toContainEqual({ user: 'ops-user', vhost: 'ops', configure: '.*', write: '.*', read: '.*' });
    const tsv = await admin('-f', 'tsv', '-q', 'list', 'users', 'name');
    expect(tsv.stdout.split('\n')).toContain('ops-user');
    const c = await amqplib.connect(`amqp://ops-user:s3cret@127.0.0.1:${api.port}/ops`);
    await c.close();
  });

  it('policies, vhost limits and nodes', async () => {
    expect((await admin('declare', 'policy', 'name=cap', 'pattern=^cap', 'definition={"max-length":2}', 'apply-to=queues')).code).toBe(0);
    expect(await json('list', 'policies')).toContainEqual(expect.objectContaining({ name: 'cap', pattern: '^cap', 'apply-to': 'queues', definition: { 'max-length': 2 } }));
    expect((await admin('declare', 'vhost_limit', 'vhost=ops', 'name=max-connections', 'value=10')).code).toBe(0);
    expect(await json('list', 'vhost_limits')).toContainEqual({ vhost: 'ops', value: { 'max-connections': 10 } });
    const nodes = (await json('list', 'nodes')) as { name: string }[];
    expect(nodes).toHaveLength(1);
  });

  it('export and import definitions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-rmqadmin-'));
    const file = join(dir, 'defs.json');
    const exported = await admin('export', file);
    expect(exported.code, exported.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { users: { name: string }[] };
    expect(doc.users.map((u) => u.name)).toContain('ops-user');
    expect((await admin('delete', 'user', 'name=ops-user')).code).toBe(0);
    expect(await json('list', 'users')).not.toContainEqual(expect.objectContaining({ name: 'ops-user' }));
    const imported = await admin('import', file);
    expect(imported.code, imported.stderr).toBe(0);
    expect(await json('list', 'users')).toContainEqual(expect.objectContaining({ name: 'ops-user' }));
  });

  it('errors: a wrong password is "Access refused", an unknown object "Not found"', async () => {
    const denied = await runAdmin(script, api.running.managementPort as number, ['list', 'users'], 'guest', 'wrong');
    expect(denied.code).not.toBe(0);
    expect(denied.stdout + denied.stderr).toMatch(/Access refused/);
    const missing = await admin('delete', 'user', 'name=nobody');
    expect(missing.code).not.toBe(0);
    expect(missing.stdout + missing.stderr).toMatch(/Not found/);
  });
});
