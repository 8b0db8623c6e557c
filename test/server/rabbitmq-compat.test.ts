// What off-the-shelf clients in other languages rely on, matched to RabbitMQ 3.10 as observed live
// (every expected text below was read from a RabbitMQ 3.10 node with the same frames).

import { afterEach, describe, expect, it, vi } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { RawClient, DEFAULT_CAPABILITIES, plainResponse, rawFrame } from '../helpers/raw-client.js';
import { TypedValue, type FieldTable } from '../../src/protocol/field-table.js';
import * as M from '../../src/protocol/generated/amqp.js';
import { SILENT_CLOSE_DELAY_MS } from '../../src/server/login-delay.js';
import { ManualClock } from '../../src/util/clock.js';

const b = useBroker();
const RT = 'amq.rabbitmq.reply-to';
let n = 0;
const uniq = (p: string): string => `compat-${p}-${process.pid}-${n++}`;

async function open(): Promise<RawClient> {
  const c = await RawClient.open(b.port);
  await c.openChannel(1);
  return c;
}

function declare(queue: string, args: FieldTable = {}, flags: Partial<M.QueueDeclare> = {}): M.QueueDeclare {
  return { id: M.QUEUE_DECLARE, ticket: 0, queue, passive: false, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: args, ...flags };
}

function consume(queue: string, args: FieldTable = {}, noAck = false): M.BasicConsume {
  return { id: M.BASIC_CONSUME, ticket: 0, queue, consumerTag: '', noLocal: false, noAck, exclusive: false, nowait: false, arguments: args };
}

const clients: RawClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
  vi.restoreAllMocks();
});
async function client(): Promise<RawClient> {
  const c = await open();
  clients.push(c);
  return c;
}

describe('direct reply-to declares (pika, Bunny, Java, PHP, Go RPC examples)', () => {
  it('declare-ok with 0 messages and 1 consumer for every declare of amq.rabbitmq.reply-to, before and while consuming', async () => {
    const c = await client();
    const variants: M.QueueDeclare[] = [
      declare(RT, {}, { passive: true }),
      declare(RT),
      declare(RT, {}, { durable: true }),
      declare(RT, { 'x-max-length': 5 }, { exclusive: true, autoDelete: true }),
    ];
    for (const d of variants) {
      expect(await c.call(1, d, M.QUEUE_DECLARE_OK)).toMatchObject({ queue: RT, messageCount: 0, consumerCount: 1 });
    }
    await c.call(1, consume(RT, {}, true), M.BASIC_CONSUME_OK);
    for (const d of variants) {
      expect(await c.call(1, d, M.QUEUE_DECLARE_OK)).toMatchObject({ queue: RT, messageCount: 0, consumerCount: 1 });
    }
  });

  it('other names under the prefix are looked up: 404, not 403', async () => {
    for (const name of [`${RT}.foo`, 'amq.rabbitmq.reply-tox']) {
      const c = await client();
      c.sendMethod(1, declare(name));
      const close = await c.expectChannelClose(1);
      expect(close).toMatchObject({ replyCode: 404, replyText: `NOT_FOUND - no queue '${name}' in vhost '/'`, classId: 50, methodId: 10 });
    }
  });
});

describe('argument equivalence compares numbers, not wire types', () => {
  async function redeclare(first: FieldTable, second: FieldTable, flags: Partial<M.QueueDeclare> = {}): Promise<string | null> {
    const c = await client();
    const q = uniq('eq');
    await c.call(1, declare(q, first, { autoDelete: true, ...flags }), M.QUEUE_DECLARE_OK);
    c.sendMethod(1, declare(q, second, { autoDelete: true, ...flags }));
    const { method } = await c.nextMethod();
    if (method.id === M.QUEUE_DECLARE_OK) return null;
    if (method.id !== M.CHANNEL_CLOSE) throw new Error(`unexpected reply ${method.id}`);
    expect(method.replyCode).toBe(406);
    return method.replyText.replace(`for queue '${q}'`, "for queue 'Q'");
  }
  const pre = "PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue 'Q' in vhost '/': ";

  it('x-max-length as a signed 32-bit int equals the same number as a long, byte, short or unsigned int', async () => {
    expect(await redeclare({ 'x-max-length': 10 }, { 'x-max-length': new TypedValue('l', 10) })).toBeNull();
    expect(await redeclare({ 'x-max-length': new TypedValue('l', 10) }, { 'x-max-length': 10 })).toBeNull();
    expect(await redeclare({ 'x-max-length': new TypedValue('b', 10) }, { 'x-max-length': new TypedValue('i', 10) })).toBeNull();
    expect(await redeclare({ 'x-expires': new TypedValue('s', 1000) }, { 'x-expires': new TypedValue('l', 1000) })).toBeNull();
  });

  it("refusals show only the values when both sides have one (RabbitMQ's texts)", async () => {
    expect(await redeclare({ 'x-max-length': 10 }, { 'x-max-length': new TypedValue('l', 11) })).toBe(`${pre}received '11' but current is '10'`);
    expect(await redeclare({ 'x-max-length': 10 }, { 'x-max-length': new TypedValue('d', 10) })).toBe(`${pre}received '10.0' but current is '10'`);
    expect(await redeclare({ 'x-max-length': 10 }, { 'x-max-length': '10' })).toBe(`${pre}received '10' but current is '10'`);
    expect(await redeclare({ 'x-max-length': 10 }, {})).toBe(`${pre}received none but current is the value '10' of type 'signedint'`);
  });

  it('a longstr equals a byte array with the same bytes', async () => {
    expect(await redeclare({ 'x-dead-letter-exchange': 'a' }, { 'x-dead-letter-exchange': Buffer.from('a') })).toBeNull();
  });

  it('x-queue-type classic equals no x-queue-type, both ways; quorum does not', async () => {
    expect(await redeclare({}, { 'x-queue-type': 'classic' })).toBeNull();
    expect(await redeclare({ 'x-queue-type': 'classic' }, {})).toBeNull();
    expect(await redeclare({}, { 'x-queue-type': 'quorum' }, { durable: true, autoDelete: false })).toBe(
      "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'Q' in vhost '/': received the value 'quorum' of type 'longstr' but current is none",
    );
  });
});

describe('argument validation', () => {
  async function declareError(args: FieldTable, flags: Partial<M.QueueDeclare> = {}): Promise<[number, string, number, number]> {
    const c = await client();
    const q = 'Q';
    c.sendMethod(1, declare(q, args, { autoDelete: true, ...flags }));
    const close = await c.expectChannelClose(1);
    return [close.replyCode, close.replyText, close.classId, close.methodId];
  }
  const inv = (arg: string, why: string): [number, string, number, number] => [406, `PRECONDITION_FAILED - invalid arg '${arg}' for queue 'Q' in vhost '/': ${why}`, 50, 10];

  it('x-queue-mode must be default or lazy, as a longstr, on a classic queue', async () => {
    expect(await declareError({ 'x-queue-mode': 'bogus' })).toEqual(inv('x-queue-mode', `"unsupported queue mode 'bogus'"`));
    expect(await declareError({ 'x-queue-mode': '' })).toEqual(inv('x-queue-mode', `"unsupported queue mode ''"`));
    expect(await declareError({ 'x-queue-mode': Buffer.from('lazy') })).toEqual(inv('x-queue-mode', '{unacceptable_type,binary}'));
    expect(await declareError({ 'x-queue-mode': 5 })).toEqual(inv('x-queue-mode', '{unacceptable_type,signedint}'));
    expect(await declareError({ 'x-queue-mode': 'lazy', 'x-queue-type': 'quorum' }, { durable: true, autoDelete: false })).toEqual([
      406,
      "PRECONDITION_FAILED - invalid arg 'x-queue-mode' for queue 'Q' in vhost '/' of queue type rabbit_quorum_queue",
      50,
      10,
    ]);
  });

  it('a whole number sent as a double is not an integer argument', async () => {
    expect(await declareError({ 'x-message-ttl': new TypedValue('d', 1000) })).toEqual(inv('x-message-ttl', '"expected integer, got double"'));
  });

  it('consumer x-priority must be an integer type (string, double and bool are refused)', async () => {
    for (const [v, type] of [['5', 'longstr'], [new TypedValue('d', 1.5), 'double'], [true, 'bool']] as const) {
      const c = await client();
      const q = uniq('prio');
      await c.call(1, declare(q, {}, { autoDelete: true }), M.QUEUE_DECLARE_OK);
      c.sendMethod(1, consume(q, { 'x-priority': v }));
      expect(await c.expectChannelClose(1)).toMatchObject({
        replyCode: 406,
        replyText: `PRECONDITION_FAILED - invalid arg 'x-priority' for queue '${q}' in vhost '/': "expected integer, got ${type}"`,
        classId: 60,
        methodId: 20,
      });
    }
    const c = await client();
    const q = uniq('prio');
    await c.call(1, declare(q, {}, { autoDelete: true }), M.QUEUE_DECLARE_OK);
    await c.call(1, consume(q, { 'x-priority': new TypedValue('l', -5) }), M.BASIC_CONSUME_OK);
  });
});

describe('publishing', () => {
  async function confirmed(c: RawClient): Promise<void> {
    await c.call(1, { id: M.CONFIRM_SELECT, nowait: false }, M.CONFIRM_SELECT_OK);
  }

  it('expiration up to 10 years is accepted; beyond, 406 with the Erlang-formatted reason', async () => {
    const c = await client();
    const q = uniq('exp');
    await c.call(1, declare(q, {}, { autoDelete: true }), M.QUEUE_DECLARE_OK);
    await confirmed(c);
    // A TTL past setTimeout's 2^31-1 ms must not turn the queue's expiry timer into a 1 ms busy loop.
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    c.publish(1, '', q, Buffer.from('x'), { expiration: '315360000000' });
    expect(await c.expect(M.BASIC_ACK)).toMatchObject({ deliveryTag: 1 });
    await new Promise((r) => setTimeout(r, 50));
    process.off('warning', onWarning);
    expect(warnings).not.toContain('TimeoutOverflowWarning');
    expect((await c.call(1, declare(q, {}, { passive: true }), M.QUEUE_DECLARE_OK)).messageCount).toBe(1);
    const cases: [string, string][] = [
      ['315360000001', '{value_too_large,315360000001}'],
      ['0999999999999999999', '{value_too_large,999999999999999999}'],
      // Past column 78 Erlang's ~p breaks the tuple and indents under its first element.
      ['9223372036854775808', `{value_too_large,\n${' '.repeat(43)}9223372036854775808}`],
    ];
    for (const [e, why] of cases) {
      const d = await client();
      d.publish(1, '', q, Buffer.from('x'), { expiration: e });
      expect(await d.expectChannelClose(1)).toMatchObject({ replyCode: 406, replyText: `PRECONDITION_FAILED - invalid expiration '${e}': ${why}`, classId: 60, methodId: 40 });
    }
  });

  it('the nack for x-overflow reject-publish has the requeue bit set, as RabbitMQ sends it', async () => {
    const c = await client();
    const q = uniq('rp');
    await c.call(1, declare(q, { 'x-max-length': 1, 'x-overflow': 'reject-publish' }, { autoDelete: true }), M.QUEUE_DECLARE_OK);
    await confirmed(c);
    c.publish(1, '', q, Buffer.from('a'));
    c.publish(1, '', q, Buffer.from('b'));
    expect(await c.expect(M.BASIC_ACK)).toMatchObject({ deliveryTag: 1 });
    expect(await c.expect(M.BASIC_NACK)).toMatchObject({ deliveryTag: 2, requeue: true });
  });

  it('CC routes its longstr items only: a byte-array item is ignored', async () => {
    const c = await client();
    const [q1, q2, q3] = [uniq('cc'), uniq('cc'), uniq('cc')];
    for (const [q, key] of [[q1, 'K1'], [q2, 'K2'], [q3, 'K3']] as const) {
      await c.call(1, declare(q, {}, { autoDelete: false }), M.QUEUE_DECLARE_OK);
      await c.call(1, { id: M.QUEUE_BIND, ticket: 0, queue: q, exchange: 'amq.direct', routingKey: key, nowait: false, arguments: {} }, M.QUEUE_BIND_OK);
    }
    await confirmed(c);
    c.publish(1, 'amq.direct', 'K1', Buffer.from('x'), { headers: { CC: [Buffer.from('K2'), 'K3', 7] } });
    await c.expect(M.BASIC_ACK);
    const counts: number[] = [];
    for (const q of [q1, q2, q3]) {
      counts.push((await c.call(1, { id: M.QUEUE_DELETE, ticket: 0, queue: q, ifUnused: false, ifEmpty: false, nowait: false }, M.QUEUE_DELETE_OK)).messageCount);
    }
    expect(counts).toEqual([1, 0, 1]);
  });
});

const clock = new ManualClock();
const manual = useBroker({ clock, heartbeat: 0 });

describe('connection-level behaviour', () => {
  it('a failed login without authentication_failure_close is dropped only after the silent-close delay (manual clock)', async () => {
    const c = await RawClient.connect(manual.port);
    clients.push(c);
    await c.handshake({ capabilities: {}, response: plainResponse('guest', 'wrong'), stopAfterStartOk: true });
    expect(await c.waitClosed(300)).toBe(false);
    clock.advance(SILENT_CLOSE_DELAY_MS - 1);
    expect(await c.waitClosed(300)).toBe(false);
    clock.advance(1);
    expect(await c.waitClosed(1500)).toBe(true);
    expect(c.pending()).toEqual([]);
  });

  it('with authentication_failure_close the 403 close is sent at once (no clock advance)', async () => {
    const c = await RawClient.connect(manual.port);
    clients.push(c);
    await c.handshake({ capabilities: DEFAULT_CAPABILITIES, response: plainResponse('guest', 'wrong'), stopAfterStartOk: true });
    expect((await c.expectConnectionClose()).replyCode).toBe(403);
  });

  it('an unknown class or method id drops the socket without connection.close', async () => {
    for (const [channel, classId, methodId] of [[1, 999, 10], [1, 50, 99], [0, 999, 10]] as const) {
      const c = await client();
      const payload = Buffer.alloc(4);
      payload.writeUInt16BE(classId, 0);
      payload.writeUInt16BE(methodId, 2);
      c.send(rawFrame(1, channel, payload));
      expect(await c.waitClosed(1500)).toBe(true);
      expect(c.pending()).toEqual([]);
    }
  });
});

describe('quorum queues and global qos', () => {
  it('basic.consume on a quorum queue with a channel-wide prefetch closes the connection with 540', async () => {
    const c = await client();
    const q = uniq('qq');
    await c.call(1, declare(q, { 'x-queue-type': 'quorum' }, { durable: true }), M.QUEUE_DECLARE_OK);
    await c.call(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 5, global: true }, M.BASIC_QOS_OK);
    c.sendMethod(1, consume(q));
    expect(await c.expectConnectionClose()).toMatchObject({
      replyCode: 540,
      replyText: `NOT_IMPLEMENTED - queue '${q}' in vhost '/' does not support global qos`,
      classId: 60,
      methodId: 20,
    });
    const d = await client();
    await d.call(1, { id: M.QUEUE_DELETE, ticket: 0, queue: q, ifUnused: false, ifEmpty: false, nowait: false }, M.QUEUE_DELETE_OK);
  });

  it('a global prefetch of 0, or one set after consuming, is accepted', async () => {
    const c = await client();
    const q = uniq('qq');
    await c.call(1, declare(q, { 'x-queue-type': 'quorum' }, { durable: true }), M.QUEUE_DECLARE_OK);
    await c.call(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 0, global: true }, M.BASIC_QOS_OK);
    await c.call(1, consume(q), M.BASIC_CONSUME_OK);
    await c.call(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 5, global: true }, M.BASIC_QOS_OK);
    await c.call(1, { id: M.QUEUE_DELETE, ticket: 0, queue: q, ifUnused: false, ifEmpty: false, nowait: false }, M.QUEUE_DELETE_OK);
  });
});
