// Message priorities (x-max-priority), consumer priorities (x-priority) and
// single active consumer (x-single-active-consumer).

import { describe, it, expect } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { channel, channelClosed, collect, drain, messageCount, replyText, sleep, uniq, waitFor } from './helpers.js';

const b = useBroker();

describe('x-max-priority', () => {
  it('higher priority first, FIFO within a priority, no priority = 0', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('prio');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-priority': 10 } });
    const sends: [string, number | undefined][] = [['p1', 1], ['p5a', 5], ['p0', 0], ['p9', 9], ['none', undefined], ['p5b', 5]];
    for (const [body, priority] of sends) ch.sendToQueue(q, Buffer.from(body), priority === undefined ? {} : { priority });
    await ch.checkQueue(q);
    expect(await drain(ch, q)).toEqual(['p9', 'p5a', 'p5b', 'p1', 'p0', 'none']);
  });

  it('a priority above x-max-priority is treated as the maximum', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('prio-cap');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-priority': 5 } });
    ch.sendToQueue(q, Buffer.from('p3'), { priority: 3 });
    ch.sendToQueue(q, Buffer.from('p9'), { priority: 9 });
    ch.sendToQueue(q, Buffer.from('p5'), { priority: 5 });
    ch.sendToQueue(q, Buffer.from('p200'), { priority: 200 });
    await ch.checkQueue(q);
    expect(await drain(ch, q)).toEqual(['p9', 'p5', 'p200', 'p3']);
  });

  it('the priority property is delivered unchanged', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('prio-prop');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-priority': 2 } });
    ch.sendToQueue(q, Buffer.from('x'), { priority: 7 });
    const m = await waitFor(() => ch.get(q, { noAck: true }));
    expect(m.properties.priority).toBe(7);
  });

  it('requeued messages go back in priority order, at their original place', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('prio-requeue');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-priority': 9 } });
    ch.sendToQueue(q, Buffer.from('low'), { priority: 1 });
    ch.sendToQueue(q, Buffer.from('a'), { priority: 5 });
    ch.sendToQueue(q, Buffer.from('b'), { priority: 5 });
    ch.sendToQueue(q, Buffer.from('c'), { priority: 5 });
    ch.sendToQueue(q, Buffer.from('high'), { priority: 9 });
    await ch.checkQueue(q);
    const taken = [];
    for (let i = 0; i < 3; i++) {
      const m = await ch.get(q);
      if (m === false) throw new Error('empty');
      taken.push(m);
    }
    expect(taken.map((m) => m.content.toString())).toEqual(['high', 'a', 'b']);
    ch.nack(taken[2]!, false, true); // b
    ch.nack(taken[0]!, false, true); // high
    ch.nack(taken[1]!, false, true); // a
    await ch.checkQueue(q);
    const again = [];
    for (;;) {
      const m = await ch.get(q, { noAck: true });
      if (m === false) break;
      again.push([m.content.toString(), m.fields.redelivered]);
    }
    expect(again).toEqual([
      ['high', true],
      ['a', true],
      ['b', true],
      ['c', false],
      ['low', false],
    ]);
  });

  it('a backlog is delivered to a new consumer in priority order', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('prio-consume');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-priority': 3 } });
    for (const p of [0, 1, 2, 3, 0, 3]) ch.sendToQueue(q, Buffer.from(`p${p}`), { priority: p });
    await ch.checkQueue(q);
    const { got } = await collect(ch, q, { noAck: true });
    await waitFor(() => got.length === 6);
    expect(got.map((g) => g.body)).toEqual(['p3', 'p3', 'p2', 'p1', 'p0', 'p0']);
  });

  it('without x-max-priority the priority property is ignored', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('no-prio');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, Buffer.from('p1'), { priority: 1 });
    ch.sendToQueue(q, Buffer.from('p9'), { priority: 9 });
    await ch.checkQueue(q);
    expect(await drain(ch, q)).toEqual(['p1', 'p9']);
  });

  it('x-max-priority above 255 is refused with 406', async () => {
    const ch = await (await b.connect()).createChannel();
    const closed = channelClosed(ch);
    await ch.assertQueue(uniq('prio-bad'), { arguments: { 'x-max-priority': 256 } }).catch(() => undefined);
    const c = await closed;
    expect(c.code).toBe(406);
    expect(replyText(c.message)).toMatch(/^PRECONDITION_FAILED - invalid arg 'x-max-priority'/);
  });
});

describe('consumer priorities (x-priority)', () => {
  it('the higher-priority consumer gets everything while it has capacity', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const q = uniq('cprio');
    await ch.assertQueue(q, { exclusive: true });
    const low = await collect(ch, q, { noAck: true, arguments: { 'x-priority': 1 } });
    const high = await collect(ch, q, { noAck: true, arguments: { 'x-priority': 10 } });
    for (let i = 0; i < 6; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await waitFor(() => high.got.length === 6);
    await sleep(10);
    expect(low.got).toHaveLength(0);
  });

  it('when the high-priority consumer is at its prefetch limit the lower one is served', async () => {
    const conn = await b.connect();
    const hiCh = await channel(conn);
    const loCh = await channel(conn);
    const q = uniq('cprio-prefetch');
    await hiCh.assertQueue(q, { exclusive: true });
    await hiCh.prefetch(2);
    const high = await collect(hiCh, q, { arguments: { 'x-priority': 5 } });
    const low = await collect(loCh, q, { noAck: true });
    for (let i = 0; i < 5; i++) hiCh.sendToQueue(q, Buffer.from(`m${i}`));
    await waitFor(() => high.got.length + low.got.length === 5);
    expect(high.got.map((g) => g.body)).toEqual(['m0', 'm1']);
    expect(low.got.map((g) => g.body)).toEqual(['m2', 'm3', 'm4']);
    // Capacity again: the next message goes to the high-priority consumer.
    hiCh.ack(high.got[0]!.msg);
    await hiCh.checkQueue(q);
    hiCh.sendToQueue(q, Buffer.from('m5'));
    await waitFor(() => high.got.length === 3);
    expect(high.got[2]?.body).toBe('m5');
    expect(low.got).toHaveLength(3);
  });

  it('consumers of equal priority share round robin', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const q = uniq('cprio-rr');
    await ch.assertQueue(q, { exclusive: true });
    const a = await collect(ch, q, { noAck: true, arguments: { 'x-priority': 3 } });
    const c = await collect(ch, q, { noAck: true, arguments: { 'x-priority': 3 } });
    const low = await collect(ch, q, { noAck: true });
    for (let i = 0; i < 6; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await waitFor(() => a.got.length + c.got.length === 6);
    expect(a.got).toHaveLength(3);
    expect(c.got).toHaveLength(3);
    expect(low.got).toHaveLength(0);
  });
});

describe('x-single-active-consumer', () => {
  it('only the first consumer receives messages', async () => {
    const conn = await b.connect();
    const ch1 = await channel(conn);
    const ch2 = await channel(conn);
    const q = uniq('sac');
    await ch1.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': true } });
    const first = await collect(ch1, q, { noAck: true });
    const second = await collect(ch2, q, { noAck: true });
    for (let i = 0; i < 5; i++) ch1.sendToQueue(q, Buffer.from(`m${i}`));
    await waitFor(() => first.got.length === 5);
    await sleep(10);
    expect(second.got).toHaveLength(0);
  });

  it('even with prefetch exhausted, the waiting consumer gets nothing', async () => {
    const conn = await b.connect();
    const ch1 = await channel(conn);
    const ch2 = await channel(conn);
    const q = uniq('sac-prefetch');
    await ch1.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': true } });
    await ch1.prefetch(1);
    const active = await collect(ch1, q);
    const waiting = await collect(ch2, q, { noAck: true });
    for (let i = 0; i < 3; i++) ch1.sendToQueue(q, Buffer.from(`m${i}`));
    await waitFor(() => active.got.length === 1);
    await sleep(20);
    expect(waiting.got).toHaveLength(0);
    expect(await messageCount(ch1, q)).toBe(2);
  });

  it('when the active consumer cancels, the next one takes over (its unacked messages stay with it until settled)', async () => {
    const conn = await b.connect();
    const ch1 = await channel(conn);
    const ch2 = await channel(conn);
    const q = uniq('sac-cancel');
    await ch1.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': true } });
    const first = await collect(ch1, q, { noAck: true });
    const second = await collect(ch2, q, { noAck: true });
    ch1.sendToQueue(q, Buffer.from('a'));
    await waitFor(() => first.got.length === 1);
    await ch1.cancel(first.tag);
    ch1.sendToQueue(q, Buffer.from('b'));
    ch1.sendToQueue(q, Buffer.from('c'));
    await waitFor(() => second.got.length === 2);
    expect(second.got.map((g) => g.body)).toEqual(['b', 'c']);
    expect(first.got).toHaveLength(1);
  });

  it('when the active consumer channel closes, its unacked messages go to the next consumer, redelivered', async () => {
    const conn = await b.connect();
    const owner = await channel(conn);
    const ch1 = await channel(conn);
    const ch2 = await channel(conn);
    const q = uniq('sac-close');
    await owner.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': true } });
    const first = await collect(ch1, q);
    const second = await collect(ch2, q);
    for (const s of ['a', 'b', 'c']) owner.sendToQueue(q, Buffer.from(s));
    await waitFor(() => first.got.length === 3);
    ch1.ack(first.got[0]!.msg);
    await ch1.close();
    await waitFor(() => second.got.length === 2);
    expect(second.got.map((g) => [g.body, g.msg.fields.redelivered])).toEqual([
      ['b', true],
      ['c', true],
    ]);
  });

  it('takeover follows registration order', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const q = uniq('sac-order');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': true } });
    const c1 = await collect(ch, q, { noAck: true });
    const c2 = await collect(ch, q, { noAck: true });
    const c3 = await collect(ch, q, { noAck: true });
    await ch.cancel(c1.tag);
    ch.sendToQueue(q, Buffer.from('x'));
    await waitFor(() => c2.got.length === 1);
    await ch.cancel(c2.tag);
    ch.sendToQueue(q, Buffer.from('y'));
    await waitFor(() => c3.got.length === 1);
    expect(c3.got[0]?.body).toBe('y');
  });

  it('x-single-active-consumer must be a boolean', async () => {
    const ch = await (await b.connect()).createChannel();
    const closed = channelClosed(ch);
    await ch.assertQueue(uniq('sac-bad'), { arguments: { 'x-single-active-consumer': 'yes' } }).catch(() => undefined);
    const c = await closed;
    expect(c.code).toBe(406);
    expect(replyText(c.message)).toMatch(/^PRECONDITION_FAILED - invalid arg 'x-single-active-consumer'/);
  });
});
