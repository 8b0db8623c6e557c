// Users, vhosts, permissions, limits and cluster name through the API, with their effect on real
// AMQP clients (amqplib): a user created over HTTP logs in, a vhost limit refuses a queue, a
// deleted user's connection is closed.

import { describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { useApi } from './api.js';

const api = useApi();
const amqpUrl = (user: string, pass: string, vhost: string): string => `amqp://${user}:${pass}@127.0.0.1:${api.port}/${encodeURIComponent(vhost)}`;

describe('users', () => {
  it('PUT creates (201) then replaces (204); tags as a comma-separated string come back as a list', async () => {
    expect((await api.call('PUT', '/api/users/alice', { body: { password: 'wonder', tags: 'management, monitoring' } })).status).toBe(201);
    expect((await api.call('PUT', '/api/users/alice', { body: { password: 'wonder', tags: ['management', 'monitoring'] } })).status).toBe(204);
    const r = await api.get('/api/users/alice');
    expect(r.json).toMatchObject({ name: 'alice', hashing_algorithm: 'rabbit_password_hashing_sha256', tags: ['management', 'monitoring'], limits: {} });
    expect((r.json as { password_hash: string }).password_hash).toHaveLength(48);
  });

  it("RabbitMQ's refusals: no tags, both password and hash, a bad hash", async () => {
    expect((await api.call('PUT', '/api/users/x', { body: { password: 'p' } })).json).toEqual({ error: 'bad_request', reason: 'tags_not_present' });
    expect((await api.call('PUT', '/api/users/x', { body: { password: 'p', password_hash: '', tags: '' } })).json).toEqual({ error: 'bad_request', reason: 'both_password_and_password_hash_are_provided' });
    expect((await api.call('PUT', '/api/users/x', { body: { password_hash: 'zzz', tags: '' } })).status).toBe(400);
    expect((await api.get('/api/users/x')).status).toBe(404);
  });

  it('a user given a client-computed hash logs in over AMQP with the password', async () => {
    // The documented example: salt 908DC60A, password test12.
    await api.call('PUT', '/api/users/hashed', { body: { password_hash: 'kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR', tags: '' } });
    await api.call('PUT', '/api/permissions/%2F/hashed', { body: { configure: '.*', write: '.*', read: '.*' } });
    const c = await amqplib.connect(amqpUrl('hashed', 'test12', '/'));
    await c.close();
  });

  it('deleting a user closes its connections; without-permissions and bulk-delete', async () => {
    await api.call('PUT', '/api/users/bob', { body: { password: 'b', tags: '' } });
    await api.call('PUT', '/api/permissions/%2F/bob', { body: { configure: '.*', write: '.*', read: '.*' } });
    const c = await amqplib.connect(amqpUrl('bob', 'b', '/'));
    const closed = new Promise<unknown>((resolve) => c.on('close', resolve));
    c.on('error', () => undefined);
    expect((await api.call('DELETE', '/api/users/bob')).status).toBe(204);
    expect(String(await closed)).toMatch(/CONNECTION_FORCED - user 'bob' is deleted/);
    expect((await api.call('DELETE', '/api/users/bob')).status).toBe(404);

    await api.call('PUT', '/api/users/lonely1', { body: { password: 'x', tags: '' } });
    await api.call('PUT', '/api/users/lonely2', { body: { password: 'x', tags: '' } });
    const without = (await api.get('/api/users/without-permissions')).json as { name: string }[];
    expect(without.map((u) => u.name)).toEqual(expect.arrayContaining(['lonely1', 'lonely2']));
    expect(without.map((u) => u.name)).not.toContain('guest');
    expect((await api.call('POST', '/api/users/bulk-delete', { body: { users: ['lonely1', 'nosuch'] } })).json).toEqual({ error: 'bad_request', reason: ['no_such_user', 'nosuch'] });
    expect((await api.call('POST', '/api/users/bulk-delete', { body: { users: ['lonely1', 'lonely2'] } })).status).toBe(204);
    expect((await api.get('/api/users/lonely2')).status).toBe(404);
  });
});

describe('vhosts and permissions', () => {
  it('a vhost made over HTTP is reachable over AMQP once the user has permissions there', async () => {
    expect((await api.call('PUT', '/api/vhosts/team%2Fa', { body: { description: 'team a', tags: 'prod,eu' } })).status).toBe(201);
    const v = (await api.get('/api/vhosts/team%2Fa')).json;
    expect(v).toMatchObject({ name: 'team/a', description: 'team a', tags: ['prod', 'eu'], metadata: { description: 'team a', tags: ['prod', 'eu'] }, tracing: false, messages: 0 });
    // The creator (guest) was given full permissions, as RabbitMQ does.
    expect((await api.get('/api/permissions/team%2Fa/guest')).json).toEqual({ user: 'guest', vhost: 'team/a', configure: '.*', write: '.*', read: '.*' });
    await api.call('PUT', '/api/users/carol', { body: { password: 'c', tags: 'management' } });
    await expect(amqplib.connect(amqpUrl('carol', 'c', 'team/a'))).rejects.toThrow();
    expect((await api.call('PUT', '/api/permissions/team%2Fa/carol', { body: { configure: '^carol', write: '.*', read: '.*' } })).status).toBe(201);
    expect((await api.call('PUT', '/api/permissions/team%2Fa/carol', { body: { configure: '^c', write: '.*', read: '.*' } })).status).toBe(204);
    const c = await amqplib.connect(amqpUrl('carol', 'c', 'team/a'));
    const ch = await c.createChannel();
    await ch.assertQueue('c-q');
    ch.sendToQueue('c-q', Buffer.from('x'));
    await ch.close();
    // The vhost's connections show carol's; her own management login sees it too.
    const conns = (await api.get('/api/vhosts/team%2Fa/connections', ['carol', 'c'])).json as { user: string; vhost: string }[];
    expect(conns).toEqual([expect.objectContaining({ user: 'carol', vhost: 'team/a', protocol: 'AMQP 0-9-1' })]);
    const totals = (await api.get('/api/vhosts/team%2Fa')).json as { messages: number };
    expect(totals.messages).toBe(1);
    await c.close();
    expect((await api.get('/api/vhosts/team%2Fa/permissions')).json).toHaveLength(2);
    expect((await api.get('/api/users/carol/permissions')).json).toEqual([{ user: 'carol', vhost: 'team/a', configure: '^c', write: '.*', read: '.*' }]);
  });

  it('permission errors as RabbitMQ words them', async () => {
    expect((await api.call('PUT', '/api/permissions/%2F/carol', { body: { configure: '.*', write: '.*' } })).json).toEqual({ error: 'bad_request', reason: '[{key_missing,read}]' });
    expect((await api.call('PUT', '/api/permissions/nosuch/carol', { body: { configure: '.*', write: '.*', read: '.*' } })).json).toEqual({ error: 'bad_request', reason: 'vhost_or_user_not_found' });
    expect((await api.call('PUT', '/api/permissions/%2F/carol', { body: { configure: '(', write: '.*', read: '.*' } })).status).toBe(400);
    expect((await api.call('DELETE', '/api/permissions/%2F/nobody')).status).toBe(404);
  });

  it('topic permissions: PUT, GET as a list, DELETE', async () => {
    expect((await api.call('PUT', '/api/topic-permissions/%2F/carol', { body: { exchange: 'amq.topic', write: '^a', read: '.*' } })).status).toBe(201);
    expect((await api.call('PUT', '/api/topic-permissions/%2F/carol', { body: { write: '^a', read: '.*' } })).json).toEqual({ error: 'bad_request', reason: '[{key_missing,exchange}]' });
    expect((await api.get('/api/topic-permissions/%2F/carol')).json).toEqual([{ user: 'carol', vhost: '/', exchange: 'amq.topic', write: '^a', read: '.*' }]);
    expect((await api.get('/api/users/carol/topic-permissions')).json).toHaveLength(1);
    expect((await api.call('DELETE', '/api/topic-permissions/%2F/carol')).status).toBe(204);
    expect((await api.get('/api/topic-permissions/%2F/carol')).status).toBe(404);
  });

  it('deleting a vhost closes its connections (320) and removes it', async () => {
    await api.call('PUT', '/api/vhosts/doomed');
    const c = await amqplib.connect(amqpUrl('guest', 'guest', 'doomed'));
    const closed = new Promise<unknown>((resolve) => c.on('close', resolve));
    c.on('error', () => undefined);
    expect((await api.call('DELETE', '/api/vhosts/doomed')).status).toBe(204);
    expect(String(await closed)).toMatch(/vhost 'doomed' is deleted/);
    expect((await api.get('/api/vhosts/doomed')).status).toBe(404);
    expect((await api.call('DELETE', '/api/vhosts/doomed')).status).toBe(404);
  });
});

describe('limits and parameters', () => {
  it('a vhost limit set over HTTP refuses the next connection over AMQP', async () => {
    await api.call('PUT', '/api/vhosts/lim');
    expect((await api.call('PUT', '/api/vhost-limits/lim/max-connections', { body: { value: '1' } })).status).toBe(204);
    expect((await api.call('PUT', '/api/vhost-limits/lim/max-queues', { body: { value: 5 } })).status).toBe(204);
    expect((await api.get('/api/vhost-limits/lim')).json).toEqual([{ vhost: 'lim', value: { 'max-connections': 1, 'max-queues': 5 } }]);
    expect((await api.get('/api/parameters/vhost-limits/lim/limits')).json).toEqual({ value: { 'max-connections': 1, 'max-queues': 5 }, vhost: 'lim', component: 'vhost-limits', name: 'limits' });
    const c = await amqplib.connect(amqpUrl('guest', 'guest', 'lim'));
    await expect(amqplib.connect(amqpUrl('guest', 'guest', 'lim'))).rejects.toThrow(/ConnectionClose/);
    await c.close();
    expect((await api.call('DELETE', '/api/vhost-limits/lim/max-connections')).status).toBe(204);
    expect((await api.call('PUT', '/api/vhost-limits/lim/max-queues', { body: {} })).json).toEqual({ error: 'bad_request', reason: '[{key_missing,value}]' });
    expect((await api.call('DELETE', '/api/vhost-limits/lim/max-queues')).status).toBe(204);
    expect((await api.get('/api/vhost-limits/lim')).json).toEqual([]);
    await (await amqplib.connect(amqpUrl('guest', 'guest', 'lim'))).close();
  });

  it('user limits; parameters of unknown components are refused as RabbitMQ does', async () => {
    await api.call('PUT', '/api/users/dave', { body: { password: 'd', tags: '' } });
    expect((await api.call('PUT', '/api/user-limits/dave/max-channels', { body: { value: 3 } })).status).toBe(204);
    expect((await api.get('/api/user-limits')).json).toContainEqual({ user: 'dave', value: { 'max-channels': 3 } });
    expect((await api.call('PUT', '/api/parameters/federation-upstream/%2F/up', { body: { value: { uri: 'amqp://' } } })).json).toEqual({
      error: 'bad_request',
      reason: 'Validation failed\n\ncomponent federation-upstream not found\n',
    });
    expect((await api.get('/api/parameters/federation-upstream')).json).toEqual([]);
  });

  it('operator policies through the parameters routes and their own', async () => {
    expect((await api.call('PUT', '/api/operator-policies/%2F/cap', { body: { pattern: '^big', definition: { 'max-length': 10 }, 'apply-to': 'queues' } })).status).toBe(201);
    expect((await api.get('/api/parameters/operator_policy/%2F/cap')).json).toEqual({
      value: { pattern: '^big', 'apply-to': 'queues', definition: { 'max-length': 10 }, priority: 0 },
      vhost: '/',
      component: 'operator_policy',
      name: 'cap',
    });
    expect((await api.call('PUT', '/api/parameters/operator_policy/%2F/cap2', { body: { value: { pattern: '^x', definition: { 'max-length': 5 } } } })).json).toEqual({
      error: 'bad_request',
      reason: 'Validation failed\n\nKey "priority" not found in cap2\n',
    });
    expect((await api.call('DELETE', '/api/parameters/operator_policy/%2F/cap')).status).toBe(204);
    expect((await api.get('/api/operator-policies')).json).toEqual([]);
  });

  it('cluster name: PUT then GET, also as a global parameter', async () => {
    expect((await api.call('PUT', '/api/cluster-name', { body: { name: 'rabbit-hole' } })).status).toBe(204);
    expect((await api.get('/api/cluster-name')).json).toEqual({ name: 'rabbit-hole' });
    expect((await api.get('/api/global-parameters/cluster_name')).json).toEqual({ value: 'rabbit-hole', name: 'cluster_name' });
    expect(((await api.get('/api/overview')).json as { cluster_name: string }).cluster_name).toBe('rabbit-hole');
    expect((await api.call('PUT', '/api/cluster-name', { body: {} })).json).toEqual({ error: 'bad_request', reason: '[{key_missing,name}]' });
  });
});

describe('tag rules', () => {
  it('management users: no admin routes, no vhost they lack permissions in; monitoring sees nodes', async () => {
    await api.call('PUT', '/api/users/mgr', { body: { password: 'm', tags: 'management' } });
    await api.call('PUT', '/api/users/mon', { body: { password: 'm', tags: 'monitoring' } });
    expect((await api.get('/api/users', ['mgr', 'm'])).json).toEqual({ error: 'not_authorised', reason: 'Not administrator user' });
    expect((await api.get('/api/nodes', ['mgr', 'm'])).json).toEqual({ error: 'not_authorised', reason: 'Not monitor user' });
    expect((await api.get('/api/vhosts/%2F/connections', ['mgr', 'm'])).json).toEqual({ error: 'not_authorised', reason: 'User not authorised to access virtual host' });
    expect((await api.get('/api/parameters', ['mgr', 'm'])).json).toEqual({ error: 'not_authorised', reason: 'User not authorised to access object' });
    expect((await api.get('/api/vhosts', ['mgr', 'm'])).json).toEqual([]);
    expect((await api.get('/api/nodes', ['mon', 'm'])).status).toBe(200);
    expect(((await api.get('/api/vhosts', ['mon', 'm'])).json as unknown[]).length).toBeGreaterThan(0);
  });

  it('a policymaker sets and lists vhost limits only in the vhosts it may access', async () => {
    await api.call('PUT', '/api/vhosts/pm-own');
    await api.call('PUT', '/api/vhosts/pm-other');
    await api.call('PUT', '/api/users/pm', { body: { password: 'p', tags: 'policymaker' } });
    await api.call('PUT', '/api/permissions/pm-own/pm', { body: { configure: '.*', write: '.*', read: '.*' } });
    await api.call('PUT', '/api/vhost-limits/pm-other/max-queues', { body: { value: 7 } });
    const own = await api.call('PUT', '/api/parameters/vhost-limits/pm-own/limits', { body: { value: { 'max-queues': 3 } }, auth: ['pm', 'p'] });
    expect(own.status).toBe(201);
    const other = await api.call('PUT', '/api/parameters/vhost-limits/pm-other/limits', { body: { value: { 'max-connections': 0 } }, auth: ['pm', 'p'] });
    expect(other.status).toBe(401);
    expect(other.json).toEqual({ error: 'not_authorised', reason: 'User not authorised to access virtual host' });
    const listed = (await api.get('/api/parameters/vhost-limits', ['pm', 'p'])).json as { vhost: string }[];
    expect(listed.map((p) => p.vhost)).toEqual(['pm-own']);
    expect((await api.get('/api/vhost-limits/pm-other')).json).toEqual([{ vhost: 'pm-other', value: { 'max-queues': 7 } }]);
  });
});
