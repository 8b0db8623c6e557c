// Queue length limits: x-max-length, x-max-length-bytes and the three x-overflow behaviours.

import { describe, it, expect } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { channel, channelClosed, confirmChannel, drain, messageCount, publishConfirmed, replyText, sleep, uniq, waitFor, xDeath } from './helpers.js';

const b = useBroker();

describe('x-overflow drop-head (default)', () => {
  it('x-max-length keeps the newest messages', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('maxlen');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length': 3 } });
    for (let i = 1; i <= 5; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await ch.checkQueue(q);
    expect(await messageCount(ch, q)).toBe(3);
    expect(await drain(ch, q)).toEqual(['m3', 'm4', 'm5']);
  });

  it('x-max-length-bytes counts body bytes only', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('maxbytes');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length-bytes': 10 } });
    for (const body of ['aaaa', 'bbbb', 'cccc', 'dd']) ch.sendToQueue(q, Buffer.from(body), { headers: { pad: 'x'.repeat(100) } });
    await ch.checkQueue(q);
    // 14 bytes > 10: the oldest goes; 'bbbb'+'cccc'+'dd' = 10 fits.
    expect(await drain(ch, q)).toEqual(['bbbb', 'cccc', 'dd']);
  });

  it('x-max-length-bytes: a single message larger than the limit is dropped', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('maxbytes-big');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length-bytes': 10 } });
    ch.sendToQueue(q, Buffer.from('small'));
    ch.sendToQueue(q, Buffer.from('x'.repeat(11)));
    await ch.checkQueue(q);
    expect(await drain(ch, q)).toEqual([]);
  });

  it('dropped heads are dead-lettered with reason maxlen', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('maxlen-dlx');
    const dlq = uniq('maxlen-dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, {
      exclusive: true,
      arguments: { 'x-max-length': 2, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq },
    });
    for (let i = 1; i <= 4; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await waitFor(async () => (await messageCount(ch, dlq)) === 2);
    const first = await ch.get(dlq, { noAck: true });
    if (first === false) throw new Error('no dead-lettered message');
    expect(first.content.toString()).toBe('m1');
    const d = xDeath(first);
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ reason: 'maxlen', queue: q, count: 1, exchange: '', 'routing-keys': [q] });
    expect(first.properties.headers?.['x-first-death-reason']).toBe('maxlen');
    expect(await drain(ch, dlq)).toEqual(['m2']);
    expect(await drain(ch, q)).toEqual(['m3', 'm4']);
  });

  it('unacknowledged messages do not count towards the limit', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('maxlen-unacked');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length': 1 } });
    ch.sendToQueue(q, Buffer.from('1'));
    const held = await ch.get(q);
    expect(held).not.toBe(false);
    ch.sendToQueue(q, Buffer.from('2'));
    await ch.checkQueue(q);
    expect(await messageCount(ch, q)).toBe(1);
    ch.ack(held as never);
    expect(await drain(ch, q)).toEqual(['2']);
  });

  it('a requeue that pushes the queue over x-max-length drops the head (as RabbitMQ does)', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('maxlen-requeue');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length': 1 } });
    ch.sendToQueue(q, Buffer.from('1'));
    const held = await ch.get(q);
    if (held === false) throw new Error('empty');
    ch.sendToQueue(q, Buffer.from('2'));
    await ch.checkQueue(q);
    ch.nack(held, false, true); // '1' goes back to the head: two ready, limit one
    await ch.checkQueue(q);
    // RabbitMQ 3.10 (observed): the requeued head is dropped, only '2' remains.
    expect(await drain(ch, q)).toEqual(['2']);
  });

  it('an unknown x-overflow value is refused with 406', async () => {
    const ch = await (await b.connect()).createChannel();
    const closed = channelClosed(ch);
    const q = uniq('overflow-bad');
    await ch.assertQueue(q, { arguments: { 'x-overflow': 'drop-tail' } }).catch(() => undefined);
    const c = await closed;
    expect(c.code).toBe(406);
    expect(replyText(c.message)).toMatch(/^PRECONDITION_FAILED - invalid arg 'x-overflow'/);
  });
});

describe('x-overflow reject-publish', () => {
  it('a publish beyond x-max-length is nacked; the queue keeps its old messages', async () => {
    const conn = await b.connect();
    const ch = await confirmChannel(conn);
    const q = uniq('reject');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length': 2, 'x-overflow': 'reject-publish' } });
    const results = await Promise.all([1, 2, 3, 4].map((i) => publishConfirmed(ch, '', q, `m${i}`)));
    expect(results).toEqual(['ack', 'ack', 'nack', 'nack']);
    expect(await drain(ch, q)).toEqual(['m1', 'm2']);
    // Room again: accepted.
    expect(await publishConfirmed(ch, '', q, 'm5')).toBe('ack');
    expect(await drain(ch, q)).toEqual(['m5']);
  });

  it('x-max-length-bytes with reject-publish nacks the message that would not fit', async () => {
    const ch = await confirmChannel(await b.connect());
    const q = uniq('reject-bytes');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length-bytes': 8, 'x-overflow': 'reject-publish' } });
    expect(await publishConfirmed(ch, '', q, 'aaaa')).toBe('ack');
    expect(await publishConfirmed(ch, '', q, 'bbbbb')).toBe('nack');
    expect(await publishConfirmed(ch, '', q, 'cccc')).toBe('ack');
    expect(await drain(ch, q)).toEqual(['aaaa', 'cccc']);
  });

  it('a rejected message is not dead-lettered (reject-publish, DLX set)', async () => {
    const ch = await confirmChannel(await b.connect());
    const q = uniq('reject-nodlx');
    const dlq = uniq('reject-nodlx-dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, {
      exclusive: true,
      arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish', 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq },
    });
    expect(await publishConfirmed(ch, '', q, 'a')).toBe('ack');
    expect(await publishConfirmed(ch, '', q, 'b')).toBe('nack');
    await sleep(10);
    expect(await messageCount(ch, dlq)).toBe(0);
  });

  it('without confirm mode the refused message is silently dropped', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('reject-noconfirm');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    ch.sendToQueue(q, Buffer.from('a'));
    ch.sendToQueue(q, Buffer.from('b'));
    await ch.checkQueue(q);
    expect(await drain(ch, q)).toEqual(['a']);
  });

  it('a message routed to two queues, one full: nacked, but the other queue still gets it', async () => {
    const ch = await confirmChannel(await b.connect());
    const ex = uniq('fan');
    const full = uniq('full');
    const open = uniq('open');
    await ch.assertExchange(ex, 'fanout', { autoDelete: true });
    await ch.assertQueue(full, { exclusive: true, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
    await ch.assertQueue(open, { exclusive: true });
    await ch.bindQueue(full, ex, '');
    await ch.bindQueue(open, ex, '');
    expect(await publishConfirmed(ch, ex, '', 'x')).toBe('nack');
    expect(await drain(ch, open)).toEqual(['x']);
    expect(await drain(ch, full)).toEqual([]);
  });
});

describe('x-overflow reject-publish-dlx', () => {
  it('the publisher gets a nack and the refused message is dead-lettered with reason maxlen', async () => {
    const ch = await confirmChannel(await b.connect());
    const q = uniq('rdlx');
    const dlq = uniq('rdlx-dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.assertQueue(q, {
      exclusive: true,
      arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx', 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq },
    });
    expect(await publishConfirmed(ch, '', q, 'kept')).toBe('ack');
    expect(await publishConfirmed(ch, '', q, 'refused', { messageId: 'r1' })).toBe('nack');
    const dl = await waitFor(() => ch.get(dlq, { noAck: true }));
    expect(dl.content.toString()).toBe('refused');
    expect(dl.properties.messageId).toBe('r1');
    expect(xDeath(dl)[0]).toMatchObject({ reason: 'maxlen', queue: q, count: 1, 'routing-keys': [q] });
    expect(await drain(ch, q)).toEqual(['kept']);
  });
});
