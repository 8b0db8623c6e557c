// AccessAdmin in process: validation before anything changes, restart restores every kind of
// access state, deletions close connections with RabbitMQ's 320 texts.

import { describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { AccessAdminError } from '../../src/broker/auth/access-admin.js';
import { useDataDirBrokers } from '../lifecycle/data-dir-brokers.js';

const brokers = useDataDirBrokers('warren-access-admin');
const { dataDir, start, stop } = brokers;

async function login(port: number, user: string, pass: string, vhost = '/'): Promise<amqplib.ChannelModel> {
  // The object form: amqplib unescapes URL credentials as latin1, which would mangle a non-ASCII name.
  const c = await amqplib.connect({ protocol: 'amqp', hostname: '127.0.0.1', port, username: user, password: pass, vhost });
  c.on('error', () => undefined);
  return c;
}

function closedWith(c: amqplib.ChannelModel): Promise<string> {
  return new Promise((resolve) => c.once('close', (err?: Error) => resolve(err?.message ?? 'closed without error')));
}

describe('AccessAdmin', () => {
  it('keeps users, vhosts, permissions, topic permissions, limits and cluster name over a restart', async () => {
    const dir = dataDir();
    let r = await start(dir);
    const a = r.broker.access;
    expect(await a.putVhost('team/%x', { description: 'the team', tags: ['prod', 'eu'], defaultQueueType: 'quorum' })).toBe('created');
    expect(await a.putVhost('team/%x', { description: 'renamed' })).toBe('updated');
    expect(await a.putUser({ name: 'zoë', password: 's3cret', tags: 'management, policymaker' })).toBe('created');
    await a.setPermissions('zoë', 'team/%x', { configure: '^z\\.', write: '.*', read: '.*' });
    await a.setTopicPermissions('zoë', 'team/%x', 'amq.topic', { write: '^a\\.', read: '.*' });
    await a.setVhostLimits('team/%x', { 'max-queues': 7 });
    await a.setUserLimits('zoë', { 'max-channels': 3 });
    await a.setClusterName('rabbit@here');
    await stop(r);

    r = await start(dir);
    const b = r.broker.access;
    expect(b.vhostMetadata('team/%x')).toEqual({ description: 'renamed', tags: ['prod', 'eu'], defaultQueueType: 'quorum' });
    expect(r.broker.vhost('team/%x')).toBeDefined();
    expect(r.broker.users.get('zoë')?.tags).toEqual(['management', 'policymaker']);
    expect(r.broker.permissions.get('zoë', 'team/%x')).toEqual({ configure: '^z\\.', write: '.*', read: '.*' });
    expect(r.broker.permissions.getTopic('zoë', 'team/%x', 'amq.topic')).toEqual({ write: '^a\\.', read: '.*' });
    expect(r.broker.limits.vhost('team/%x')).toEqual({ 'max-queues': 7 });
    expect(r.broker.limits.user('zoë')).toEqual({ 'max-channels': 3 });
    expect(b.clusterName).toBe('rabbit@here');
    // The password survived as its hash: the user logs in over AMQP.
    const c = await login(r.port, 'zoë', 's3cret', 'team/%x');
    await c.close();
  });

  it('validates first: a bad pattern, hash, limit or unknown grantee changes nothing', async () => {
    const r = await start(dataDir());
    const a = r.broker.access;
    await a.putUser({ name: 'u', password: 'p' });
    const fails = async (p: Promise<unknown>, kind: string, text: RegExp): Promise<void> => {
      const err = await p.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AccessAdminError);
      expect((err as AccessAdminError).kind).toBe(kind);
      expect((err as Error).message).toMatch(text);
    };
    await fails(a.setPermissions('u', '/', { configure: '(', write: '.*', read: '.*' }), 'bad_request', /invalid regular expression '\('/);
    await fails(a.setPermissions('nobody', '/', { configure: '.*', write: '.*', read: '.*' }), 'bad_request', /vhost_or_user_not_found/);
    await fails(a.setPermissions('u', 'nowhere', { configure: '.*', write: '.*', read: '.*' }), 'bad_request', /vhost_or_user_not_found/);
    await fails(a.putUser({ name: 'v', passwordHash: 'not-base64!', hashingAlgorithm: 'rabbit_password_hashing_sha256' }), 'bad_request', /not a valid/);
    await fails(a.putUser({ name: 'v', password: 'x', hashingAlgorithm: 'rabbit_password_hashing_sha1' }), 'bad_request', /unknown password hashing algorithm/);
    await fails(a.setVhostLimits('/', { 'max-queues': 1.5 }), 'bad_request', /must be an integer/);
    await fails(a.setVhostLimits('nowhere', { 'max-queues': 1 }), 'not_found', /vhost_not_found/);
    await fails(a.setUserLimits('nobody', { 'max-channels': 1 }), 'not_found', /user_not_found/);
    await fails(a.putVhost('q', { defaultQueueType: 'lazy' }), 'bad_request', /default queue type/);
    expect(r.broker.permissions.get('u', '/')).toBeUndefined();
    expect(r.broker.users.get('v')).toBeUndefined();
    expect(r.broker.vhost('q')).toBeUndefined();
    expect(r.broker.limits.vhost('/')).toEqual({});
  });

  it("deleting a user closes its connections with 320 user 'u' is deleted", async () => {
    const r = await start(dataDir());
    const a = r.broker.access;
    await a.putUser({ name: 'gone', password: 'pw' });
    await a.setPermissions('gone', '/', { configure: '.*', write: '.*', read: '.*' });
    const c = await login(r.port, 'gone', 'pw');
    const closed = closedWith(c);
    expect(await a.deleteUser('gone')).toBe(true);
    expect(await closed).toMatch(/CONNECTION_FORCED - user 'gone' is deleted/);
    expect(await a.deleteUser('gone')).toBe(false);
    expect(r.broker.permissions.get('gone', '/')).toBeUndefined();
    await expect(login(r.port, 'gone', 'pw')).rejects.toThrow();
  });

  it("deleting a vhost closes its connections with 320 vhost 'v' is deleted and stays deleted", async () => {
    const dir = dataDir();
    let r = await start(dir);
    const a = r.broker.access;
    await a.putVhost('doomed');
    await a.setPermissions('guest', 'doomed', { configure: '.*', write: '.*', read: '.*' });
    const c = await login(r.port, 'guest', 'guest', 'doomed');
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('q', { durable: true });
    ch.sendToQueue('q', Buffer.from('x'), { persistent: true });
    await ch.waitForConfirms();
    const closed = closedWith(c);
    expect(await a.deleteVhost('doomed')).toBe(true);
    expect(await closed).toMatch(/CONNECTION_FORCED - vhost 'doomed' is deleted/);
    expect(r.broker.vhost('doomed')).toBeUndefined();
    expect(a.vhostMetadata('doomed')).toBeUndefined();
    expect(r.broker.permissions.get('guest', 'doomed')).toBeUndefined();
    await stop(r);
    r = await start(dir);
    expect(r.broker.vhost('doomed')).toBeUndefined();
    // Created again, it is empty.
    await r.broker.access.putVhost('doomed');
    expect(r.broker.vhost('doomed')?.queues.has('q')).toBe(false);
  });

  it("a vhost's default queue type makes plain durable declares quorum queues, before and after a restart", async () => {
    const dir = dataDir();
    let r = await start(dir);
    await r.broker.access.putVhost('qq', { defaultQueueType: 'quorum' });
    await r.broker.access.setPermissions('guest', 'qq', { configure: '.*', write: '.*', read: '.*' });
    const declare = async (name: string, opts: amqplib.Options.AssertQueue): Promise<string | undefined> => {
      const c = await login(r.port, 'guest', 'guest', 'qq');
      await (await c.createChannel()).assertQueue(name, opts);
      // Redeclared without the argument: equivalent, as in RabbitMQ (the argument is added each time).
      await (await c.createChannel()).assertQueue(name, opts);
      await c.close();
      return r.broker.vhost('qq')?.queues.get(name)?.policy.type;
    };
    expect(await declare('durable', { durable: true })).toBe('quorum');
    expect(await declare('transient', { durable: false })).toBe('classic');
    expect(await declare('explicit', { durable: true, arguments: { 'x-queue-type': 'classic' } })).toBe('classic');
    await stop(r);
    r = await start(dir);
    expect(await declare('after-restart', { durable: true })).toBe('quorum');
  });

  it('announces the cluster name set through it in connection.start', async () => {
    const r = await start(dataDir());
    await r.broker.access.setClusterName('rabbit@ops');
    const c = await login(r.port, 'guest', 'guest');
    const props = (c as unknown as { connection: { serverProperties: Record<string, unknown> } }).connection.serverProperties;
    expect(props['cluster_name']).toBe('rabbit@ops');
    await c.close();
    await expect(r.broker.access.setClusterName('  ')).rejects.toThrow(/must not be empty/);
  });

  it('creates the default user and vhost only on the first start', async () => {
    const dir = dataDir();
    let r = await start(dir);
    await r.broker.access.deleteUser('guest');
    await r.broker.access.deleteVhost('/');
    await stop(r);
    r = await start(dir);
    expect(r.broker.users.get('guest')).toBeUndefined();
    expect(r.broker.vhost('/')).toBeUndefined();
    expect(r.broker.access.vhostNames()).toEqual([]);
  });
});
