// basic.publish permissions: write on the exchange (the default exchange as amq.default), topic
// write on the routing key for topic exchanges, topic read on binding keys, {username}/{vhost}
// expansion, user-id and the impersonator tag, transactions and confirms; RabbitMQ 3.10.8's texts.

import { describe, expect, it, vi } from 'vitest';
import { Connection as RmqConnection } from 'rabbitmq-client';
import { Message } from '../../src/broker/message.js';
import { PermissionStore } from '../../src/broker/auth/permissions.js';
import { PublishResult } from '../../src/broker/publish/publish-result.js';
import { VHost } from '../../src/broker/vhost.js';
import { encodeContentHeaderPayload } from '../../src/protocol/frame-writer.js';
import { ManualClock } from '../../src/util/clock.js';
import * as M from '../../src/protocol/generated/amqp.js';
import { channel, channelClosed, confirmChannel, expectAmqpError } from '../helpers/amqp.js';
import { RawClient } from '../helpers/raw-client.js';
import {
  adminChannel,
  connectionSurvives,
  expectRefused,
  PASSWORD,
  publishAndSync,
  refusedText,
  topicRefusedText,
  userChannel,
  userUrl,
  usePermissionBroker,
  VHOST,
} from './permissions-fixture.js';

const b = usePermissionBroker({
  pu: { configure: '^c-', write: '^w-', read: '^r-' },
  // Write on the default exchange, nothing else.
  pdef: { configure: '', write: '^amq\\.default$', read: '' },
  // Topic permissions on amq.topic: write keys start with the user name, read keys with the vhost.
  tu: {
    configure: '.*',
    write: '.*',
    read: '.*',
    topics: { 'amq.topic': { write: '^{username}\\.', read: '^{vhost}\\.' } },
  },
  imp: { configure: '.*', write: '.*', read: '.*', tags: ['impersonator'] },
  plain: { configure: '.*', write: '.*', read: '.*' },
});

describe('basic.publish: write on the exchange', () => {
  it('allowed / refused (channel closed, connection kept)', async () => {
    const admin = await adminChannel(b);
    await admin.assertExchange('w-px', 'fanout', { durable: false });
    await admin.assertExchange('c-px', 'fanout', { durable: false });
    await admin.assertQueue('r-pq', { durable: false });
    await admin.bindQueue('r-pq', 'w-px', '');
    const { conn, ch } = await userChannel(b, 'pu');
    await publishAndSync(ch, 'w-px', 'k');
    expect(await admin.checkQueue('r-pq')).toMatchObject({ messageCount: 1 });
    await expectRefused(publishAndSync(ch, 'c-px', 'k'), 'exchange', 'c-px', 'pu');
    await connectionSurvives(conn);
  });

  it('the default exchange is checked as amq.default', async () => {
    const admin = await adminChannel(b);
    await admin.assertQueue('c-defq', { durable: false });
    const { ch } = await userChannel(b, 'pu');
    await expectRefused(publishAndSync(ch, '', 'c-defq'), 'exchange', 'amq.default', 'pu');
    const { ch: ok } = await userChannel(b, 'pdef');
    await publishAndSync(ok, '', 'c-defq');
    expect(await admin.checkQueue('c-defq')).toMatchObject({ messageCount: 1 });
  });

  it('403 before 404: a missing exchange without write is refused, with write not found', async () => {
    const { ch } = await userChannel(b, 'pu');
    await expectRefused(publishAndSync(ch, 'c-nowhere', 'k'), 'exchange', 'c-nowhere', 'pu');
    const { ch: ch2 } = await userChannel(b, 'pu');
    await expectAmqpError(publishAndSync(ch2, 'w-nowhere', 'k'), 404, `NOT_FOUND - no exchange 'w-nowhere' in vhost '${VHOST}'`);
  });

  it('in a transaction the publish is refused at once, not at commit (raw frames)', async () => {
    const c = await RawClient.open(b.port, { user: 'pu', password: PASSWORD, vhost: VHOST });
    try {
      await c.openChannel(1);
      await c.call(1, { id: M.TX_SELECT }, M.TX_SELECT_OK);
      c.publish(1, 'c-txx', 'k', Buffer.from('x'));
      const close = await c.expectChannelClose(1);
      expect(close).toMatchObject({ replyCode: 403, replyText: refusedText('exchange', 'c-txx', 'pu'), classId: 60, methodId: 40 });
    } finally {
      c.destroy();
    }
  });

  it('with confirms: the refusal closes the channel, no ack', async () => {
    const conn = await b.connect(userUrl(b, 'pu'));
    const cc = await confirmChannel(conn);
    const closed = channelClosed(cc);
    const settled = new Promise<unknown>((resolve) => cc.publish('c-px2', 'k', Buffer.from('x'), {}, (err) => resolve(err)));
    const err = await closed;
    expect(err.code).toBe(403);
    expect(err.message).toContain(`"${refusedText('exchange', 'c-px2', 'pu')}"`);
    // amqplib fails the pending confirm when the channel closes: it was never acked.
    expect(await settled).toBeTruthy();
  });

  it('rabbitmq-client sees the same refusal', async () => {
    const rmq = new RmqConnection({ url: userUrl(b, 'pu'), retryLow: 50, retryHigh: 50, connectionTimeout: 3000 });
    try {
      const pub = rmq.createPublisher({ confirm: true, maxAttempts: 1 });
      const err = await pub.send({ exchange: 'c-rmq', routingKey: 'k' }, 'x').then(
        () => null,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(err?.code).toBe('ACCESS_REFUSED');
      // rabbitmq-client names the failed method from the close's class and method ids.
      expect(err?.message).toBe(`BasicPublish: ${refusedText('exchange', 'c-rmq', 'pu')}`);
      await pub.close();
    } finally {
      await rmq.close();
    }
  });
});

describe('topic permissions', () => {
  it('publish: topic write on the routing key, {username} expanded', async () => {
    const admin = await adminChannel(b);
    await admin.assertQueue('r-tq', { durable: false });
    await admin.bindQueue('r-tq', 'amq.topic', '#');
    const { conn, ch } = await userChannel(b, 'tu');
    await publishAndSync(ch, 'amq.topic', 'tu.orders');
    expect(await admin.checkQueue('r-tq')).toMatchObject({ messageCount: 1 });
    await expectAmqpError(publishAndSync(ch, 'amq.topic', 'other.orders'), 403, topicRefusedText('other.orders', 'amq.topic', 'tu'));
    expect(await admin.checkQueue('r-tq')).toMatchObject({ messageCount: 1 });
    await connectionSurvives(conn);
  });

  it('bind and unbind: topic read on the binding key, {vhost} expanded', async () => {
    const admin = await adminChannel(b);
    await admin.assertQueue('tq-bind', { durable: false });
    const { conn, ch } = await userChannel(b, 'tu');
    await ch.bindQueue('tq-bind', 'amq.topic', `${VHOST}.news`);
    await ch.unbindQueue('tq-bind', 'amq.topic', `${VHOST}.news`);
    await expectAmqpError(ch.bindQueue('tq-bind', 'amq.topic', 'elsewhere.news'), 403, topicRefusedText('elsewhere.news', 'amq.topic', 'tu'));
    const ch2 = await channel(conn);
    await expectAmqpError(ch2.unbindQueue('tq-bind', 'amq.topic', 'elsewhere.news'), 403, topicRefusedText('elsewhere.news', 'amq.topic', 'tu'));
  });

  it('exchange-to-exchange binding from a topic exchange checks the key too', async () => {
    const admin = await adminChannel(b);
    await admin.assertExchange('tx-dst', 'topic', { durable: false });
    const { ch } = await userChannel(b, 'tu');
    await ch.bindExchange('tx-dst', 'amq.topic', `${VHOST}.a`);
    await expectAmqpError(ch.bindExchange('tx-dst', 'amq.topic', 'zzz'), 403, topicRefusedText('zzz', 'amq.topic', 'tu'));
  });

  it('no topic permission for an exchange: allowed; non-topic exchanges are never topic-checked', async () => {
    const admin = await adminChannel(b);
    await admin.assertExchange('t-free', 'topic', { durable: false });
    const { ch } = await userChannel(b, 'tu');
    await publishAndSync(ch, 't-free', 'anything.at.all');
    await publishAndSync(ch, 'amq.direct', 'other.orders');
    await admin.assertQueue('tq-free', { durable: false });
    await ch.bindQueue('tq-free', 't-free', 'whatever');
    await ch.bindQueue('tq-free', 'amq.direct', 'other.orders');
  });

  it('a change to topic permissions applies to open connections', async () => {
    const { ch } = await userChannel(b, 'tu');
    await publishAndSync(ch, 'amq.topic', 'tu.before');
    b.broker().permissions.setTopic('tu', VHOST, 'amq.topic', { write: '^never$', read: '^{vhost}\\.' });
    try {
      await expectAmqpError(publishAndSync(ch, 'amq.topic', 'tu.after'), 403, topicRefusedText('tu.after', 'amq.topic', 'tu'));
    } finally {
      b.broker().permissions.setTopic('tu', VHOST, 'amq.topic', { write: '^{username}\\.', read: '^{vhost}\\.' });
    }
  });
});

describe('user-id', () => {
  it('must name the publisher: 406 with RabbitMQ text; equal is fine', async () => {
    const admin = await adminChannel(b);
    await admin.assertQueue('uid-q', { durable: false });
    const { ch } = await userChannel(b, 'plain');
    await publishAndSync(ch, '', 'uid-q', { userId: 'plain' });
    await expectAmqpError(publishAndSync(ch, '', 'uid-q', { userId: 'someone' }), 406, "PRECONDITION_FAILED - user_id property set to 'someone' but authenticated user was 'plain'");
    expect(await admin.checkQueue('uid-q')).toMatchObject({ messageCount: 1 });
  });

  it('an impersonator may set any user-id, and it is delivered as set', async () => {
    const admin = await adminChannel(b);
    await admin.assertQueue('uid-imp', { durable: false });
    const { ch } = await userChannel(b, 'imp');
    await publishAndSync(ch, '', 'uid-imp', { userId: 'someone-else' });
    const m = await admin.get('uid-imp', { noAck: true });
    expect(m && m.properties.userId).toBe('someone-else');
  });
});

describe('the hot path', () => {
  it('after the first publish, a publish runs no regular expression (cached answers)', () => {
    const store = new PermissionStore();
    store.set('u', 'v', { configure: '', write: '^w-', read: '' });
    store.setTopic('u', 'v', 'w-topic', { write: '^u\\.', read: '' });
    const v = new VHost('v', new ManualClock());
    v.declareExchange('w-topic', 'topic', { passive: false, durable: false, autoDelete: false, internal: false, args: {} });
    const access = store.access('u', 'v');
    const options = { mandatory: false, user: 'u', authUser: null, access, replyToken: null };
    const header = encodeContentHeaderPayload(M.CLASS_BASIC, 1, {});
    const out = new PublishResult();
    const publish = (): void => {
      v.publish(new Message('w-topic', 'u.k', header, [Buffer.from('x')], 1), options, out);
    };
    publish();
    const spy = vi.spyOn(RegExp.prototype, 'test');
    const exec = vi.spyOn(RegExp.prototype, 'exec');
    let calls: number;
    try {
      for (let i = 0; i < 1000; i++) publish();
    } finally {
      calls = spy.mock.calls.length + exec.mock.calls.length;
      spy.mockRestore();
      exec.mockRestore();
    }
    expect(calls).toBe(0);
    expect(out.routed).toBe(0); // ran to the end: routed nowhere (no binding), no error
    // The cache is a cache: a refused key stays refused, and the check is really made.
    expect(() => v.publish(new Message('w-topic', 'x.k', header, [Buffer.from('x')], 1), options, out)).toThrow(/access to topic 'x.k'/);
  });
});
