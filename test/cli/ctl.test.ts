// warren ctl against a running warren: rabbitmqctl's commands change the broker through the
// management API, and their output is rabbitmqctl's for the same state (texts as 3.10.8 prints).

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { runCtl } from '../../src/cli/ctl/main.js';
import { useBroker } from '../helpers/broker.js';

const b = useBroker({ managementPort: 0 });

async function ctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  // The admin socket in the data dir, as warren ctl uses on the broker's host: an administrator
  // with access to every vhost (over --url, the HTTP API's rules apply, e.g. a vhost's creator is
  // granted permissions in it, as RabbitMQ's API does).
  const socket = join(b.running.broker.config.dataDir, 'ctl.sock');
  const code = await runCtl(['--socket', socket, ...args], { env: {}, cwd: '/nonexistent', stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe('warren ctl', () => {
  it('adds a user, tags it and lists users; a second add_user fails with 70', async () => {
    const add = await ctl('add_user', 'alice', 's3cret');
    expect(add).toMatchObject({ code: 0 });
    expect(add.out).toContain('Adding user "alice" ...');
    expect((await ctl('add_user', 'alice', 'x')).code).toBe(70);
    expect((await ctl('set_user_tags', 'alice', 'management', 'monitoring')).code).toBe(0);
    const list = await ctl('-q', 'list_users');
    expect(list.out.split('\n')).toContain('alice\t[management, monitoring]');
    expect(list.out.startsWith('user\ttags\n')).toBe(true);
    expect(list.out).not.toContain('s3cret');
  });

  it('creates a vhost and permissions that an AMQP client then uses; list_queues shows its queue', async () => {
    await ctl('add_user', 'bob', 'pw');
    expect((await ctl('add_vhost', 'team/a')).code).toBe(0);
    expect((await ctl('set_permissions', '-p', 'team/a', 'bob', '^bob\\.', '.*', '.*')).code).toBe(0);
    const perms = await ctl('list_permissions', '-p', 'team/a');
    expect(perms.out).toBe('Listing permissions for vhost "team/a" ...\nuser\tconfigure\twrite\tread\nbob\t^bob\\.\t.*\t.*\n');
    const c = await amqplib.connect(`amqp://bob:pw@127.0.0.1:${b.port}/${encodeURIComponent('team/a')}`);
    try {
      const ch = await c.createConfirmChannel();
      await ch.assertQueue('bob.jobs', { durable: true });
      for (let i = 0; i < 3; i++) ch.sendToQueue('bob.jobs', Buffer.from(`m${i}`), { persistent: true });
      await ch.waitForConfirms();
    } finally {
      await c.close();
    }
    const queues = await ctl('-q', '-p', 'team/a', 'list_queues', 'name', 'messages', 'durable');
    expect(queues.out).toBe('name\tmessages\tdurable\nbob.jobs\t3\ttrue\n');
    const json = await ctl('-q', '--formatter', 'json', '-p', 'team/a', 'list_queues', 'name', 'messages');
    expect(JSON.parse(json.out)).toEqual([{ name: 'bob.jobs', messages: 3 }]);
    const purge = await ctl('purge_queue', '-p', 'team/a', 'bob.jobs');
    expect(purge.out).toBe("Purging queue 'bob.jobs' in vhost 'team/a' ...\n");
    const del = await ctl('delete_queue', '-p', 'team/a', 'bob.jobs');
    expect(del.out).toContain('Queue was successfully deleted with 0 ready messages');
    expect((await ctl('-q', '-p', 'team/a', 'list_queues')).out).toBe('');
  });

  it('sets and lists policies, and clears them', async () => {
    expect((await ctl('set_policy', '--priority', '2', '--apply-to', 'queues', 'ttl', '^q', '{"message-ttl":1000}')).code).toBe(0);
    const list = await ctl('-q', 'list_policies');
    expect(list.out).toBe('vhost\tname\tpattern\tapply-to\tdefinition\tpriority\n/\tttl\t^q\tqueues\t{"message-ttl":1000}\t2\n');
    const bad = await ctl('set_policy', 'p2', '.*', '{"no-such-key":1}');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('not recognised');
    expect((await ctl('clear_policy', 'ttl')).code).toBe(0);
    expect((await ctl('-q', 'list_policies')).out).toBe('');
  });

  it('answers missing users and vhosts with rabbitmqctl exit codes', async () => {
    const u = await ctl('delete_user', 'nobody');
    expect(u.code).toBe(67);
    expect(u.err).toContain('User "nobody" does not exist');
    const v = await ctl('delete_vhost', 'nowhere');
    expect(v.code).toBe(65);
  });

  it('lists and closes connections with a reason the client sees', async () => {
    const c = await b.connect();
    const closed = new Promise<Error>((resolve) => c.once('close', (e: Error) => resolve(e)));
    const conns = await ctl('-q', 'list_connections', 'name', 'user', 'vhost', 'protocol');
    const line = conns.out.split('\n').find((l) => l.includes('\tguest\t/\t{0,9,1}'));
    expect(line).toBeDefined();
    const name = (line ?? '').split('\t')[0] ?? '';
    expect((await ctl('close_connection', name, 'maintenance window')).code).toBe(0);
    const err = await closed;
    expect(String(err)).toContain('maintenance window');
  });

  it('exports definitions that name the users it created, and checks the node', async () => {
    const exp = await ctl('export_definitions', '-');
    const doc = JSON.parse(exp.out) as { users: { name: string }[] };
    expect(doc.users.map((u) => u.name)).toContain('alice');
    expect((await ctl('ping')).out).toContain('Ping succeeded');
    expect((await ctl('await_startup')).code).toBe(0);
    expect((await ctl('check_local_alarms')).code).toBe(0);
    const status = await ctl('status');
    expect(status.out).toContain('Listeners');
    expect(status.out).toContain(`port: ${b.port}, protocol: amqp`);
  });

  it('authenticates users with their password only', async () => {
    expect((await ctl('authenticate_user', 'alice', 's3cret')).out).toContain('Success');
    const bad = await ctl('authenticate_user', 'alice', 'wrong');
    expect(bad.code).toBe(65);
    expect(bad.err).toContain("user 'alice' - invalid credentials");
  });
});
