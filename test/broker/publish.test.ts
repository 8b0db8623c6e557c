// basic.publish semantics in the broker, without a socket: VHost.publish and its PublishResult
// (routing, CC/BCC, deduplication, delays, direct reply-to, user-id, alternate exchanges,
// mandatory returns) and the durability handle a confirm waits on.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Message } from '../../src/broker/message.js';
import { Persistence } from '../../src/broker/persistence.js';
import { recoverVhost } from '../../src/broker/vhost-recovery.js';
import { PublishResult, type PublishOptions } from '../../src/broker/publish/publish-result.js';
import type { Queue } from '../../src/broker/queue/queue.js';
import { VHost } from '../../src/broker/vhost.js';
import { AmqpError, ChannelError } from '../../src/protocol/errors.js';
import type { FieldTable } from '../../src/protocol/field-table.js';
import { encodeContentHeaderPayload } from '../../src/protocol/frame-writer.js';
import { CLASS_BASIC, type BasicProperties } from '../../src/protocol/generated/amqp.js';
import { ManualClock } from '../../src/util/clock.js';

const OWNER = {};

function vhost(name = 'test-vhost'): { v: VHost; clock: ManualClock } {
  const clock = new ManualClock();
  return { v: new VHost(name, clock), clock };
}

function message(exchange: string, routingKey: string, props: BasicProperties = {}, body = 'hello'): Message {
  const b = Buffer.from(body);
  return new Message(exchange, routingKey, encodeContentHeaderPayload(CLASS_BASIC, b.length, props), [b], b.length);
}

function opts(o: Partial<PublishOptions> = {}): PublishOptions {
  return { mandatory: false, user: 'guest', authUser: null, access: null, replyToken: null, ...o };
}

function queue(v: VHost, name: string, args: FieldTable = {}, durable = false): Queue {
  return v.declareQueue(name, { passive: false, durable, exclusive: false, autoDelete: false, args }, OWNER).queue;
}

function exchange(v: VHost, name: string, type: string, args: FieldTable = {}, durable = false): void {
  v.declareExchange(name, type, { passive: false, durable, autoDelete: false, internal: false, args });
}

/** The messages ready in a queue, oldest first (taken out). */
function drain(q: Queue): Message[] {
  const out: Message[] = [];
  for (let e = q.take(); e !== undefined; e = q.take()) out.push(e.message);
  return out;
}

/** The channel error a publish throws. */
function publishError(v: VHost, m: Message, o: PublishOptions = opts()): AmqpError {
  try {
    v.publish(m, o);
  } catch (err) {
    if (err instanceof AmqpError) return err;
    throw err;
  }
  throw new Error('publish did not throw');
}

describe('VHost.publish: routing and mandatory', () => {
  it('routes through the default exchange by queue name; the result counts the queues', () => {
    const { v } = vhost();
    const q = queue(v, 'q1');
    const r = v.publish(message('', 'q1'), opts());
    expect(r).toMatchObject({ routed: 1, returned: false, deduplicated: false, delayed: false, rejected: false, durability: null });
    expect(drain(q).map((m) => m.bodyBuffer().toString())).toEqual(['hello']);
  });

  it('a mandatory message routed nowhere is returned; without mandatory it is dropped silently', () => {
    const { v } = vhost();
    expect(v.publish(message('', 'nowhere'), opts({ mandatory: true }))).toMatchObject({ routed: 0, returned: true });
    expect(v.publish(message('', 'nowhere'), opts({ mandatory: false }))).toMatchObject({ routed: 0, returned: false });
  });

  it('a reused result is reset by every publish', () => {
    const { v } = vhost();
    queue(v, 'q1');
    const r = new PublishResult();
    expect(v.publish(message('', 'nowhere'), opts({ mandatory: true }), r)).toBe(r);
    expect(r.returned).toBe(true);
    v.publish(message('', 'q1'), opts({ mandatory: true }), r);
    expect(r).toMatchObject({ routed: 1, returned: false });
  });

  it('an alternate exchange takes what its exchange cannot route, and then it is not returned', () => {
    const { v } = vhost();
    exchange(v, 'ae', 'fanout');
    exchange(v, 'main', 'direct', { 'alternate-exchange': 'ae' });
    const bound = queue(v, 'bound');
    const unrouted = queue(v, 'unrouted');
    v.bindQueue('bound', 'main', 'k', {}, OWNER);
    v.bindQueue('unrouted', 'ae', '', {}, OWNER);
    expect(v.publish(message('main', 'k'), opts({ mandatory: true }))).toMatchObject({ routed: 1, returned: false });
    expect(v.publish(message('main', 'other'), opts({ mandatory: true }))).toMatchObject({ routed: 1, returned: false });
    expect(drain(bound)).toHaveLength(1);
    expect(drain(unrouted).map((m) => m.routingKey)).toEqual(['other']);
  });

  it('an alternate exchange with no route for the message leaves it unroutable (returned if mandatory)', () => {
    const { v } = vhost();
    exchange(v, 'ae', 'direct');
    exchange(v, 'main', 'direct', { 'alternate-exchange': 'ae' });
    queue(v, 'q');
    v.bindQueue('q', 'ae', 'only-this', {}, OWNER);
    expect(v.publish(message('main', 'k'), opts({ mandatory: true }))).toMatchObject({ routed: 0, returned: true });
  });

  it('a missing exchange is 404 and an internal one 403, both naming the vhost, for basic.publish', () => {
    const { v } = vhost('sales');
    const missing = publishError(v, message('absent', 'k'));
    expect(missing).toBeInstanceOf(ChannelError);
    expect(missing).toMatchObject({ replyCode: 404, replyText: "NOT_FOUND - no exchange 'absent' in vhost 'sales'", classId: 60, methodId: 40 });
    v.declareExchange('int', 'fanout', { passive: false, durable: false, autoDelete: false, internal: true, args: {} });
    expect(publishError(v, message('int', 'k'))).toMatchObject({
      replyCode: 403,
      replyText: "ACCESS_REFUSED - cannot publish to internal exchange 'int' in vhost 'sales'",
    });
  });

  it('x-overflow reject-publish refuses the message: the result says rejected (the confirm is a nack)', () => {
    const { v } = vhost();
    queue(v, 'small', { 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    expect(v.publish(message('', 'small'), opts()).rejected).toBe(false);
    expect(v.publish(message('', 'small'), opts())).toMatchObject({ routed: 1, rejected: true });
  });
});

describe('VHost.publish: CC and BCC', () => {
  it('CC and BCC add routing keys; BCC is removed before the message reaches a queue, CC kept', () => {
    const { v } = vhost();
    const [main, cc1, cc2, bcc] = ['main', 'cc1', 'cc2', 'bcc'].map((n) => queue(v, n)) as [Queue, Queue, Queue, Queue];
    const r = v.publish(message('', 'main', { headers: { CC: ['cc1', 'cc2'], BCC: ['bcc'], other: 'x' } }), opts());
    expect(r.routed).toBe(4);
    for (const q of [main, cc1, cc2, bcc]) {
      const [m] = drain(q);
      expect(m?.properties.headers).toEqual({ CC: ['cc1', 'cc2'], other: 'x' });
    }
  });

  it('a key named twice reaches its queue once', () => {
    const { v } = vhost();
    const q = queue(v, 'q');
    expect(v.publish(message('', 'q', { headers: { CC: ['q', 'q'], BCC: ['q'] } }), opts()).routed).toBe(1);
    expect(drain(q)).toHaveLength(1);
  });

  it('a CC header that is not an array is refused with 406, as RabbitMQ does', () => {
    const { v } = vhost();
    queue(v, 'q');
    expect(publishError(v, message('', 'q', { headers: { CC: 'q' } }))).toMatchObject({
      replyCode: 406,
      replyText: 'PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}',
      classId: 60,
      methodId: 40,
    });
  });
});

describe('VHost.publish: user-id', () => {
  it('a user-id naming the authenticated user is accepted; another is 406', () => {
    const { v } = vhost();
    const q = queue(v, 'q');
    expect(v.publish(message('', 'q', { userId: 'alice' }), opts({ user: 'alice' })).routed).toBe(1);
    expect(publishError(v, message('', 'q', { userId: 'mallory' }), opts({ user: 'alice' }))).toMatchObject({
      replyCode: 406,
      replyText: "PRECONDITION_FAILED - user_id property set to 'mallory' but authenticated user was 'alice'",
    });
    expect(drain(q)).toHaveLength(1);
  });
});

describe('VHost.publish: direct reply-to', () => {
  it('reply-to amq.rabbitmq.reply-to is rewritten to the publisher\'s own address', () => {
    const { v } = vhost();
    const q = queue(v, 'rpc');
    v.publish(message('', 'rpc', { replyTo: 'amq.rabbitmq.reply-to' }), opts({ replyToken: 'tok123' }));
    expect(drain(q)[0]?.properties.replyTo).toBe('amq.rabbitmq.reply-to.tok123');
  });

  it('without a reply consumer on the publishing channel it is 406', () => {
    const { v } = vhost();
    queue(v, 'rpc');
    expect(publishError(v, message('', 'rpc', { replyTo: 'amq.rabbitmq.reply-to' }))).toMatchObject({
      replyCode: 406,
      replyText: 'PRECONDITION_FAILED - fast reply consumer does not exist',
    });
  });

  it('a reply to a live address goes straight to the requester; to a dead one it is unroutable', () => {
    const { v } = vhost();
    const got: string[] = [];
    const token = v.replyTo.register({ deliverReply: (m) => (got.push(m.bodyBuffer().toString()), true) });
    expect(v.publish(message('', `amq.rabbitmq.reply-to.${token}`, {}, 'answer'), opts({ mandatory: true }))).toMatchObject({ routed: 1, returned: false });
    expect(got).toEqual(['answer']);
    v.replyTo.unregister(token);
    expect(v.publish(message('', `amq.rabbitmq.reply-to.${token}`), opts({ mandatory: true }))).toMatchObject({ routed: 0, returned: true });
  });

  it('a requester that is closing refuses the reply: unroutable', () => {
    const { v } = vhost();
    const token = v.replyTo.register({ deliverReply: () => false });
    expect(v.publish(message('', `amq.rabbitmq.reply-to.${token}`), opts({ mandatory: true }))).toMatchObject({ routed: 0, returned: true });
  });
});

describe('VHost.publish: x-message-deduplication', () => {
  it('a repeated key is accepted but routed nowhere (returned if mandatory); a new key goes through', () => {
    const { v } = vhost();
    exchange(v, 'dedup', 'x-message-deduplication', { 'x-cache-size': 10 });
    const q = queue(v, 'q');
    v.bindQueue('q', 'dedup', '', {}, OWNER);
    const key = (k: string): BasicProperties => ({ headers: { 'x-deduplication-header': k } });
    expect(v.publish(message('dedup', '', key('a')), opts({ mandatory: true }))).toMatchObject({ routed: 1, deduplicated: false, returned: false });
    expect(v.publish(message('dedup', '', key('a')), opts({ mandatory: true }))).toMatchObject({ routed: 0, deduplicated: true, returned: true });
    expect(v.publish(message('dedup', '', key('a')), opts())).toMatchObject({ deduplicated: true, returned: false });
    expect(v.publish(message('dedup', '', key('b')), opts()).deduplicated).toBe(false);
    expect(drain(q)).toHaveLength(2);
  });

  it('x-cache-ttl on the message lets the key count again once it passed (on the vhost clock)', () => {
    const { v, clock } = vhost();
    exchange(v, 'dedup', 'x-message-deduplication', { 'x-cache-size': 10 });
    queue(v, 'q');
    v.bindQueue('q', 'dedup', '', {}, OWNER);
    const props: BasicProperties = { headers: { 'x-deduplication-header': 'k', 'x-cache-ttl': 1000 } };
    v.publish(message('dedup', '', props), opts());
    clock.advance(999);
    expect(v.publish(message('dedup', '', props), opts()).deduplicated).toBe(true);
    clock.advance(2);
    expect(v.publish(message('dedup', '', props), opts()).deduplicated).toBe(false);
  });
});

describe('VHost.publish: x-delayed-message', () => {
  it('a message with x-delay is held (returned if mandatory) and routed once the delay has passed', () => {
    const { v, clock } = vhost();
    exchange(v, 'later', 'x-delayed-message', { 'x-delayed-type': 'direct' });
    const q = queue(v, 'q');
    v.bindQueue('q', 'later', 'k', {}, OWNER);
    const r = v.publish(message('later', 'k', { headers: { 'x-delay': 5000 } }), opts({ mandatory: true }));
    expect(r).toMatchObject({ delayed: true, routed: 0, returned: true, durability: null });
    expect(q.messageCount).toBe(0);
    clock.advance(4999);
    v.delayed.releaseDue();
    expect(q.messageCount).toBe(0);
    clock.advance(1);
    v.delayed.releaseDue();
    expect(drain(q)).toHaveLength(1);
    v.dispose();
  });

  it('without x-delay (or with 0) the message is routed at once', () => {
    const { v } = vhost();
    exchange(v, 'later', 'x-delayed-message', { 'x-delayed-type': 'direct' });
    queue(v, 'q');
    v.bindQueue('q', 'later', 'k', {}, OWNER);
    expect(v.publish(message('later', 'k'), opts())).toMatchObject({ delayed: false, routed: 1 });
    expect(v.publish(message('later', 'k', { headers: { 'x-delay': 0 } }), opts())).toMatchObject({ delayed: false, routed: 1 });
  });

  it('CC keys are kept for the delayed routing', () => {
    const { v, clock } = vhost();
    exchange(v, 'later', 'x-delayed-message', { 'x-delayed-type': 'direct' });
    const a = queue(v, 'a');
    const b = queue(v, 'b');
    v.bindQueue('a', 'later', 'a', {}, OWNER);
    v.bindQueue('b', 'later', 'b', {}, OWNER);
    v.publish(message('later', 'a', { headers: { 'x-delay': 10, CC: ['b'] } }), opts());
    clock.advance(10);
    v.delayed.releaseDue();
    expect([a.messageCount, b.messageCount]).toEqual([1, 1]);
    v.dispose();
  });
});

describe('VHost.publish: the durability handle', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function withStore(): Promise<{ v: VHost; clock: ManualClock; p: Persistence }> {
    const dir = mkdtempSync(join(tmpdir(), 'warren-publish-'));
    dirs.push(dir);
    const { v, clock } = vhost();
    const p = new Persistence(dir, 'always', 10, clock, pino({ level: 'silent' }));
    await recoverVhost(p, v);
    p.attach(v);
    return { v, clock, p };
  }

  it('a persistent message in a durable queue carries (store, mark); the mark is durable after the group commit', async () => {
    const { v, p } = await withStore();
    queue(v, 'dq', {}, true);
    const r = v.publish(message('', 'dq', { deliveryMode: 2 }), opts());
    expect(r.durability).toBe(p.durability);
    expect(r.durableMark).toBe(1);
    expect(r.waitsForDisk).toBe(true);
    const mark = r.durableMark;
    await new Promise<void>((resolve) => p.durability.wait({ onDurable: () => (resolve(), false) }, mark));
    expect(p.durability.durable).toBeGreaterThanOrEqual(mark);
    await p.close();
  });

  it('marks grow with each append; a message in two durable queues waits for its last append', async () => {
    const { v, p } = await withStore();
    queue(v, 'd1', {}, true);
    queue(v, 'd2', {}, true);
    exchange(v, 'fan', 'fanout', {}, true);
    v.bindQueue('d1', 'fan', '', {}, OWNER);
    v.bindQueue('d2', 'fan', '', {}, OWNER);
    expect(v.publish(message('', 'd1', { deliveryMode: 2 }), opts()).durableMark).toBe(1);
    expect(v.publish(message('fan', '', { deliveryMode: 2 }), opts()).durableMark).toBe(3);
    await p.close();
  });

  it('transient messages, and persistent ones in transient queues, carry no handle', async () => {
    const { v, p } = await withStore();
    queue(v, 'dq', {}, true);
    queue(v, 'tq');
    expect(v.publish(message('', 'dq'), opts()).durability).toBeNull();
    expect(v.publish(message('', 'tq', { deliveryMode: 2 }), opts()).durability).toBeNull();
    await p.close();
  });

  it('a persistent delayed message on a durable exchange carries a handle', async () => {
    const { v, p } = await withStore();
    exchange(v, 'later', 'x-delayed-message', { 'x-delayed-type': 'direct' }, true);
    const r = v.publish(message('later', 'k', { deliveryMode: 2, headers: { 'x-delay': 1000 } }), opts());
    expect(r).toMatchObject({ delayed: true, durability: p.durability, durableMark: 1 });
    v.dispose();
    await p.close();
  });

  it('after the store failed, a persistent publish is rejected (a nack, never a false confirm)', async () => {
    const { v, p } = await withStore();
    queue(v, 'dq', {}, true);
    await p.close(); // appends now throw
    const r = v.publish(message('', 'dq', { deliveryMode: 2 }), opts());
    expect(r).toMatchObject({ routed: 1, rejected: true, durability: null });
  });
});
