// basic.*: publishing (properties, mandatory, immediate, CC/BCC, user-id), consuming
// (exclusive, cancel, server-sent cancel, priorities), get, ack/nack/reject with requeue and
// redelivery order, delivery-tag errors, qos and recover.
import { summarize } from '../raw-client.mjs';

/** A channel (confirm mode) and a fresh queue holding `n` messages m0..m(n-1). */
async function queueWith(ctx, n, opts = {}) {
  const ch = await ctx.confirmChannel();
  const q = ctx.q();
  await ch.assertQueue(q, { durable: false, ...opts });
  for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
  await ch.waitForConfirms();
  return { ch, q };
}

const bodies = (list) => list.map((m) => (typeof m === 'string' ? m : `${m.body}${m.redelivered ? '*' : ''}`));

/** Publishes with an error expected on the channel; returns channel + connection events. */
async function channelEvents(ctx, ch, n = 2) {
  await ctx.until(() => ch.events.length >= n, 1000);
  return ch.events;
}

export default {
  async 'publish-get-all-properties'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    ch.sendToQueue(q, Buffer.from('props'), {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      headers: { s: 'str', i: 42, neg: -7, big: 2 ** 40, f: 1.5, t: true, nested: { a: [1, 'two', false] }, arr: ['x', 3] },
      deliveryMode: 2,
      priority: 3,
      correlationId: 'corr-1',
      replyTo: 'reply-q',
      expiration: '60000',
      messageId: 'mid-1',
      timestamp: 1700000000,
      type: 'kind',
      userId: 'guest',
      appId: 'interop',
      clusterId: 'cid',
    });
    await ch.waitForConfirms();
    return ctx.msg(await ch.get(q, { noAck: true }));
  },

  async 'header-field-types-raw'(ctx) {
    // Exact field-table tags after a round trip through the broker.
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q });
    await c.expect('queue.declare-ok');
    const headers = {
      bool: { type: 't', value: true },
      i8: { type: 'b', value: -5 },
      u8: { type: 'B', value: 200 },
      i16: { type: 's', value: -300 },
      u16: { type: 'u', value: 60000 },
      i32: { type: 'I', value: -70000 },
      u32: { type: 'i', value: 4000000000 },
      i64: { type: 'l', value: 1234567890123 },
      f32: { type: 'f', value: 1.5 },
      f64: { type: 'd', value: 2.25 },
      dec: { type: 'D', value: { scale: 2, digits: 12345 } },
      str: { type: 'S', value: 'text' },
      bytes: { type: 'x', value: Buffer.from([1, 2, 3]) },
      ts: { type: 'T', value: 1700000000 },
      void: { type: 'V', value: null },
      table: { type: 'F', value: { k: { type: 'I', value: 1 } } },
      array: { type: 'A', value: [{ type: 'S', value: 'a' }, { type: 'I', value: 2 }] },
    };
    c.publish(1, '', q, 'typed', { headers });
    c.sendMethod(1, 'basic.get', { queue: q, 'no-ack': true });
    await c.expect('basic.get-ok');
    const h = await c.next();
    return h.header?.props ?? summarize(h);
  },

  async 'get-empty'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    return ch.get(q);
  },

  async 'get-message-count-decreases'(ctx) {
    const { ch, q } = await queueWith(ctx, 3);
    const out = [];
    for (let i = 0; i < 4; i++) out.push(ctx.msg(await ch.get(q, { noAck: true })));
    return out;
  },

  async 'get-absent-queue'(ctx) {
    const ch = await ctx.channel();
    return { r: await ctx.attempt(ch.get(ctx.q('absent'))), events: ch.events };
  },

  async 'mandatory-unroutable-returns'(ctx) {
    const ch = await ctx.channel();
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false });
    ch.publish(x, 'nowhere', Buffer.from('bounce'), { mandatory: true, messageId: 'm1', headers: { h: 1 } });
    return channelEvents(ctx, ch, 1);
  },

  async 'mandatory-default-exchange-absent-queue'(ctx) {
    const ch = await ctx.channel();
    ch.sendToQueue(ctx.q('absent'), Buffer.from('bounce'), { mandatory: true });
    return channelEvents(ctx, ch, 1);
  },

  async 'non-mandatory-unroutable-dropped'(ctx) {
    const ch = await ctx.confirmChannel();
    ch.sendToQueue(ctx.q('absent'), Buffer.from('dropped'));
    await ch.waitForConfirms();
    return ch.events;
  },

  async 'immediate-flag'(ctx) {
    const c = await ctx.rawOpen();
    c.publish(1, '', 'x', 'now', {}, { immediate: true });
    const evs = await c.collect(500);
    return evs.filter((e) => e.type !== 'socket-closed').map((e) => summarize(e));
  },

  async 'cc-and-bcc-routing'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    const cc = ctx.q('cc');
    const bcc = ctx.q('bcc');
    await ch.assertQueue(cc, { durable: false });
    await ch.assertQueue(bcc, { durable: false });
    ch.publish('', q, Buffer.from('sds'), { CC: [cc], BCC: [bcc], headers: { keep: 'yes' } });
    await ch.waitForConfirms();
    const get = async (name) => ctx.msg(await ch.get(name, { noAck: true }));
    return { main: await get(q), cc: await get(cc), bcc: await get(bcc) };
  },

  async 'cc-as-string-header'(ctx) {
    // CC must be an array of longstr; a plain string is ignored for routing.
    const { ch, q } = await queueWith(ctx, 0);
    const cc = ctx.q('cc');
    await ch.assertQueue(cc, { durable: false });
    ch.publish('', q, Buffer.from('x'), { headers: { CC: cc } });
    const confirmed = await ctx.attempt(ch.waitForConfirms());
    if (confirmed.error) return { confirmed, events: ch.events };
    return { main: await ctx.drain(ch, q), cc: await ctx.drain(ch, cc) };
  },

  async 'cc-duplicate-of-routing-key-delivers-once'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    ch.publish('', q, Buffer.from('once'), { CC: [q] });
    await ch.waitForConfirms();
    return ctx.drain(ch, q);
  },

  async 'user-id-matches'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    ch.sendToQueue(q, Buffer.from('ok'), { userId: 'guest' });
    await ch.waitForConfirms();
    return ctx.msg(await ch.get(q, { noAck: true }));
  },

  async 'user-id-mismatch'(ctx) {
    const ch = await ctx.channel();
    ch.sendToQueue(ctx.q('absent'), Buffer.from('spoof'), { userId: 'admin' });
    return channelEvents(ctx, ch);
  },

  async 'consume-deliver-fields'(ctx) {
    const { ch, q } = await queueWith(ctx, 2);
    const got = await ctx.collect(ch, q, { noAck: true });
    await ctx.until(() => got.length >= 2);
    return { tag: got.tag, got };
  },

  async 'consume-with-client-tag'(ctx) {
    const { ch, q } = await queueWith(ctx, 1);
    const r = await ch.consume(q, () => {}, { consumerTag: `${ctx.prefix}tag`, noAck: true });
    return r;
  },

  async 'consume-duplicate-tag-on-channel'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    await ch.consume(q, () => {}, { consumerTag: 'same-tag' });
    return { r: await ctx.attempt(ch.consume(q, () => {}, { consumerTag: 'same-tag' })), events: ch.events };
  },

  async 'consume-absent-queue'(ctx) {
    const ch = await ctx.channel();
    return { r: await ctx.attempt(ch.consume(ctx.q('absent'), () => {})), events: ch.events };
  },

  async 'consume-exclusive-then-other'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    await ch.consume(q, () => {}, { exclusive: true });
    const ch2 = await ctx.channel();
    return { r: await ctx.attempt(ch2.consume(q, () => {})), events: ch2.events };
  },

  async 'consume-other-then-exclusive'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    await ch.consume(q, () => {});
    const ch2 = await ctx.channel();
    return { r: await ctx.attempt(ch2.consume(q, () => {}, { exclusive: true })), events: ch2.events };
  },

  async 'cancel-stops-deliveries'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    const got = await ctx.collect(ch, q, { noAck: true });
    ch.sendToQueue(q, Buffer.from('before'));
    await ch.waitForConfirms();
    await ctx.until(() => got.length >= 1);
    const cancel = await ch.cancel(got.tag);
    ch.sendToQueue(q, Buffer.from('after'));
    await ch.waitForConfirms();
    await ctx.sleep(30);
    return { got: bodies(got), cancelTagMatches: cancel.consumerTag === got.tag, left: await ctx.drain(ch, q) };
  },

  async 'cancel-unknown-tag'(ctx) {
    const c = await ctx.rawOpen();
    c.sendMethod(1, 'basic.cancel', { 'consumer-tag': 'never-existed' });
    return summarize(await c.next());
  },

  async 'cancel-requeues-nothing-unacked-stays'(ctx) {
    // Unacked deliveries of a cancelled consumer stay unacked until ack or channel close.
    const { ch, q } = await queueWith(ctx, 2);
    const got = await ctx.collect(ch, q, { noAck: false });
    await ctx.until(() => got.length >= 2);
    await ch.cancel(got.tag);
    const count = await ch.checkQueue(q);
    ch.ack(got.raw[0]);
    await ch.close();
    const ch2 = await ctx.channel();
    return { count, after: await ctx.drain(ch2, q) };
  },

  async 'server-cancel-on-queue-delete'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    const got = await ctx.collect(ch, q);
    const ch2 = await ctx.channel();
    await ch2.deleteQueue(q);
    await ctx.until(() => got.length >= 1);
    return { got, events: ch.events };
  },

  async 'server-cancel-raw-frame'(ctx) {
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q });
    await c.expect('queue.declare-ok');
    c.sendMethod(1, 'basic.consume', { queue: q, 'consumer-tag': 'ctag-1' });
    await c.expect('basic.consume-ok');
    c.sendMethod(1, 'queue.delete', { queue: q });
    return [summarize(await c.next()), summarize(await c.next())];
  },

  async 'no-cancel-notify-without-capability'(ctx) {
    const c = await ctx.raw();
    await c.handshake({ capabilities: {} });
    await c.openChannel(1);
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q });
    await c.expect('queue.declare-ok');
    c.sendMethod(1, 'basic.consume', { queue: q, 'consumer-tag': 'ctag-1' });
    await c.expect('basic.consume-ok');
    c.sendMethod(1, 'queue.delete', { queue: q });
    return (await c.collect(200)).map((e) => summarize(e));
  },

  async 'round-robin-between-consumers'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    const a = await ctx.collect(ch, q, { noAck: true });
    const b = await ctx.collect(ch, q, { noAck: true });
    for (let i = 0; i < 6; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await ch.waitForConfirms();
    await ctx.until(() => a.length + b.length >= 6);
    return { a: bodies(a), b: bodies(b) };
  },

  async 'consumer-priority'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    const low = await ctx.collect(ch, q, { noAck: true, priority: 1 });
    const high = await ctx.collect(ch, q, { noAck: true, priority: 10 });
    for (let i = 0; i < 4; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await ch.waitForConfirms();
    await ctx.until(() => low.length + high.length >= 4);
    return { low: bodies(low), high: bodies(high) };
  },

  async 'consumer-priority-falls-back-when-high-is-full'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    await ch.prefetch(1);
    const high = await ctx.collect(ch, q, { noAck: false, priority: 10 });
    const low = await ctx.collect(ch, q, { noAck: false, priority: 1 });
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await ch.waitForConfirms();
    await ctx.until(() => low.length + high.length >= 2);
    await ctx.sleep(20);
    return { low: bodies(low), high: bodies(high) };
  },

  async 'ack-single'(ctx) {
    const { ch, q } = await queueWith(ctx, 2);
    const m = await ch.get(q);
    ch.ack(m);
    await ch.close();
    const ch2 = await ctx.channel();
    return ctx.drain(ch2, q);
  },

  async 'ack-multiple'(ctx) {
    const { ch, q } = await queueWith(ctx, 4);
    const got = await ctx.collect(ch, q);
    await ctx.until(() => got.length >= 4);
    ch.ack(got.raw[2], true);
    await ch.close();
    const ch2 = await ctx.channel();
    return { delivered: bodies(got), left: await ctx.drain(ch2, q) };
  },

  async 'ack-all-with-tag-zero'(ctx) {
    const { ch, q } = await queueWith(ctx, 3);
    const got = await ctx.collect(ch, q);
    await ctx.until(() => got.length >= 3);
    ch.ackAll();
    await ch.close();
    const ch2 = await ctx.channel();
    return { left: await ctx.drain(ch2, q), events: ch.events };
  },

  async 'ack-tag-zero-not-multiple'(ctx) {
    const c = await ctx.rawOpen();
    c.sendMethod(1, 'basic.ack', { 'delivery-tag': 0, multiple: false });
    c.sendMethod(1, 'basic.qos', { 'prefetch-count': 1 });
    return summarize(await c.next());
  },

  async 'ack-unknown-tag'(ctx) {
    const { ch } = await queueWith(ctx, 0);
    ch.ack({ fields: { deliveryTag: 42 } });
    return channelEvents(ctx, ch);
  },

  async 'ack-twice'(ctx) {
    const { ch, q } = await queueWith(ctx, 1);
    const m = await ch.get(q);
    ch.ack(m);
    ch.ack(m);
    return channelEvents(ctx, ch);
  },

  async 'ack-multiple-unknown-tag'(ctx) {
    const { ch, q } = await queueWith(ctx, 1);
    await ch.get(q);
    ch.ack({ fields: { deliveryTag: 9 } }, true);
    return channelEvents(ctx, ch);
  },

  async 'ack-on-no-ack-delivery'(ctx) {
    const { ch, q } = await queueWith(ctx, 1);
    const m = await ch.get(q, { noAck: true });
    ch.ack(m);
    return channelEvents(ctx, ch);
  },

  async 'nack-unknown-tag'(ctx) {
    const { ch } = await queueWith(ctx, 0);
    ch.nack({ fields: { deliveryTag: 7 } }, false, true);
    return channelEvents(ctx, ch);
  },

  async 'reject-unknown-tag'(ctx) {
    const { ch } = await queueWith(ctx, 0);
    ch.reject({ fields: { deliveryTag: 7 } }, true);
    return channelEvents(ctx, ch);
  },

  async 'ack-tag-from-other-channel'(ctx) {
    const { ch, q } = await queueWith(ctx, 1);
    const m = await ch.get(q);
    const ch2 = await ctx.channel();
    ch2.ack(m);
    return { other: await channelEvents(ctx, ch2), first: ch.events };
  },

  async 'reject-requeue-redelivered-first'(ctx) {
    const { ch, q } = await queueWith(ctx, 3);
    const m0 = await ch.get(q);
    ch.reject(m0, true);
    const out = [];
    for (let i = 0; i < 3; i++) out.push(ctx.msg(await ch.get(q, { noAck: true })));
    return out;
  },

  async 'reject-no-requeue-drops'(ctx) {
    const { ch, q } = await queueWith(ctx, 2);
    const m0 = await ch.get(q);
    ch.reject(m0, false);
    return ctx.drain(ch, q);
  },

  async 'nack-multiple-requeue-order'(ctx) {
    const { ch, q } = await queueWith(ctx, 5);
    const got = await ctx.collect(ch, q);
    await ctx.until(() => got.length >= 5);
    await ch.cancel(got.tag);
    // Requeue m1..m3 (m0 acked first), keep m4 unacked.
    ch.ack(got.raw[0]);
    ch.nack(got.raw[3], true, true);
    const ch2 = await ctx.channel();
    await ctx.sleep(20);
    const out = [];
    for (let i = 0; i < 5; i++) {
      const m = await ch2.get(q, { noAck: true });
      if (!m) break;
      out.push(`${m.content}${m.fields.redelivered ? '*' : ''}`);
    }
    return out;
  },

  async 'nack-multiple-no-requeue'(ctx) {
    const { ch, q } = await queueWith(ctx, 3);
    const got = await ctx.collect(ch, q);
    await ctx.until(() => got.length >= 3);
    ch.nack(got.raw[1], true, false);
    await ch.close();
    const ch2 = await ctx.channel();
    return ctx.drain(ch2, q);
  },

  async 'nack-all-requeue'(ctx) {
    const { ch, q } = await queueWith(ctx, 3);
    const got = await ctx.collect(ch, q);
    await ctx.until(() => got.length >= 3);
    await ch.cancel(got.tag);
    ch.nackAll(true);
    await ctx.sleep(20);
    return bodies(await Promise.all([0, 1, 2].map(async () => ctx.msg(await ch.get(q, { noAck: true })))));
  },

  async 'requeue-goes-back-to-original-position'(ctx) {
    const { ch, q } = await queueWith(ctx, 4);
    const a = await ch.get(q);
    const b = await ch.get(q);
    ch.nack(b, false, true);
    ch.nack(a, false, true);
    await ctx.sleep(20);
    const out = [];
    for (let i = 0; i < 4; i++) out.push(ctx.msg(await ch.get(q, { noAck: true })));
    return bodies(out);
  },

  async 'channel-close-requeues-unacked'(ctx) {
    const { ch, q } = await queueWith(ctx, 3);
    const got = await ctx.collect(ch, q);
    await ctx.until(() => got.length >= 3);
    ch.ack(got.raw[1]);
    await ch.close();
    const ch2 = await ctx.channel();
    const out = [];
    for (let i = 0; i < 3; i++) {
      const m = await ch2.get(q, { noAck: true });
      if (m) out.push(ctx.msg(m));
    }
    return out;
  },

  async 'connection-close-requeues-unacked'(ctx) {
    const conn = await ctx.amqp();
    const ch = await ctx.channel(conn);
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('a'));
    ch.sendToQueue(q, Buffer.from('b'));
    await ctx.until(async () => (await ch.checkQueue(q)).messageCount === 2);
    await ch.get(q);
    await conn.close();
    const ch2 = await ctx.channel();
    return bodies(await Promise.all([0, 1].map(async () => ctx.msg(await ch2.get(q, { noAck: true })))));
  },

  async 'delivery-tags-per-channel'(ctx) {
    const { ch, q } = await queueWith(ctx, 4);
    const ch2 = await ctx.channel();
    const tags = [];
    tags.push((await ch.get(q)).fields.deliveryTag);
    tags.push((await ch2.get(q)).fields.deliveryTag);
    tags.push((await ch.get(q)).fields.deliveryTag);
    tags.push((await ch2.get(q)).fields.deliveryTag);
    return tags;
  },

  async 'delivery-tags-shared-by-consumers-and-get'(ctx) {
    const { ch, q } = await queueWith(ctx, 3);
    const q2 = ctx.q('second');
    await ch.assertQueue(q2, { durable: false });
    ch.sendToQueue(q2, Buffer.from('other'));
    await ch.waitForConfirms();
    const g = await ch.get(q2);
    const got = await ctx.collect(ch, q);
    await ctx.until(() => got.length >= 3);
    return { get: g.fields.deliveryTag, consumed: got.map((m) => m.deliveryTag) };
  },

  async 'fifo-order'(ctx) {
    const { ch, q } = await queueWith(ctx, 50);
    const got = await ctx.collect(ch, q, { noAck: true });
    await ctx.until(() => got.length >= 50);
    const b = bodies(got);
    return { n: b.length, inOrder: b.every((x, i) => x === `m${i}`) };
  },

  async 'large-message-roundtrip'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    const body = Buffer.alloc(300000);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    ch.sendToQueue(q, body);
    await ch.waitForConfirms();
    const m = await ch.get(q, { noAck: true });
    return { length: m.content.length, equal: m.content.equals(body) };
  },

  async 'empty-body-roundtrip'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    ch.sendToQueue(q, Buffer.alloc(0), { type: 'empty' });
    await ch.waitForConfirms();
    return ctx.msg(await ch.get(q, { noAck: true }));
  },

  async 'qos-per-consumer-limit'(ctx) {
    const { ch, q } = await queueWith(ctx, 5);
    await ch.prefetch(2);
    const got = await ctx.collect(ch, q);
    await ctx.until(() => got.length >= 2);
    await ctx.sleep(30);
    const first = bodies(got);
    ch.ack(got.raw[0]);
    await ctx.until(() => got.length >= 3);
    await ctx.sleep(30);
    return { first, afterAck: bodies(got) };
  },

  async 'qos-per-consumer-two-consumers'(ctx) {
    const { ch, q } = await queueWith(ctx, 6);
    await ch.prefetch(2);
    const a = await ctx.collect(ch, q);
    const b = await ctx.collect(ch, q);
    await ctx.until(() => a.length + b.length >= 4);
    await ctx.sleep(30);
    return { a: a.length, b: b.length };
  },

  async 'qos-global-shared-by-consumers'(ctx) {
    const { ch, q } = await queueWith(ctx, 6);
    await ch.prefetch(3, true);
    const a = await ctx.collect(ch, q);
    const b = await ctx.collect(ch, q);
    await ctx.until(() => a.length + b.length >= 3);
    await ctx.sleep(30);
    return { total: a.length + b.length };
  },

  async 'qos-global-and-per-consumer-combined'(ctx) {
    const { ch, q } = await queueWith(ctx, 10);
    await ch.prefetch(3, true);
    await ch.prefetch(2, false);
    const a = await ctx.collect(ch, q);
    const b = await ctx.collect(ch, q);
    await ctx.until(() => a.length + b.length >= 3);
    await ctx.sleep(30);
    return { total: a.length + b.length, max: Math.max(a.length, b.length) };
  },

  async 'qos-change-applies-to-new-consumers'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    await ch.prefetch(1);
    const a = await ctx.collect(ch, q);
    await ch.prefetch(3);
    const q2 = ctx.q('second');
    await ch.assertQueue(q2, { durable: false });
    const b = await ctx.collect(ch, q2);
    for (let i = 0; i < 4; i++) {
      ch.sendToQueue(q, Buffer.from(`a${i}`));
      ch.sendToQueue(q2, Buffer.from(`b${i}`));
    }
    await ch.waitForConfirms();
    await ctx.until(() => a.length >= 1 && b.length >= 3);
    await ctx.sleep(30);
    return { a: a.length, b: b.length };
  },

  async 'qos-zero-is-unlimited'(ctx) {
    const { ch, q } = await queueWith(ctx, 20);
    await ch.prefetch(0);
    const got = await ctx.collect(ch, q);
    await ctx.until(() => got.length >= 20);
    return got.length;
  },

  async 'qos-does-not-limit-get'(ctx) {
    const { ch, q } = await queueWith(ctx, 3);
    await ch.prefetch(1, true);
    const out = [];
    for (let i = 0; i < 3; i++) out.push(Boolean(await ch.get(q)));
    return out;
  },

  async 'qos-no-ack-consumer-ignores-prefetch'(ctx) {
    const { ch, q } = await queueWith(ctx, 5);
    await ch.prefetch(1);
    const got = await ctx.collect(ch, q, { noAck: true });
    await ctx.until(() => got.length >= 5);
    return got.length;
  },

  async 'recover-redelivers-unacked'(ctx) {
    const { ch, q } = await queueWith(ctx, 2);
    const got = await ctx.collect(ch, q);
    await ctx.until(() => got.length >= 2);
    ch.ack(got.raw[0]);
    const r = await ch.recover();
    await ctx.until(() => got.length >= 3);
    return { r, got: got.map((m) => `${m.body}${m.redelivered ? '*' : ''}#${m.deliveryTag}`) };
  },

  async 'no-local-is-ignored'(ctx) {
    const { ch, q } = await queueWith(ctx, 0);
    const got = await ctx.collect(ch, q, { noAck: true, noLocal: true });
    ch.sendToQueue(q, Buffer.from('own'));
    await ch.waitForConfirms();
    await ctx.until(() => got.length >= 1, 300);
    return bodies(got);
  },

  async 'deliver-frame-order-raw'(ctx) {
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q });
    await c.expect('queue.declare-ok');
    c.sendMethod(1, 'basic.consume', { queue: q, 'consumer-tag': 'ct', 'no-ack': true });
    await c.expect('basic.consume-ok');
    c.publish(1, '', q, 'hello', { 'content-type': 'text/plain', 'delivery-mode': 1 });
    return [summarize(await c.next()), summarize(await c.next()), summarize(await c.next())];
  },

  async 'rabbitmq-client-consumer-and-publisher'(ctx) {
    const rc = await ctx.rmq();
    const q = ctx.q();
    const got = [];
    const consumer = rc.createConsumer({ queue: q, queueOptions: { durable: false }, qos: { prefetchCount: 2 } }, async (msg) => {
      got.push({ body: String(msg.body), redelivered: msg.redelivered, routingKey: msg.routingKey });
    });
    await new Promise((r) => consumer.once('ready', r));
    const pub = rc.createPublisher({ confirm: true });
    await pub.send(q, 'one');
    await pub.send({ routingKey: q, headers: { h: 1 } }, 'two');
    await ctx.until(() => got.length >= 2);
    await pub.close();
    await consumer.close();
    return got;
  },

  async 'rabbitmq-client-get-and-ack'(ctx) {
    const rc = await ctx.rmq();
    const q = ctx.q();
    await rc.queueDeclare({ queue: q, durable: false });
    const ch = await rc.acquire();
    await ch.confirmSelect();
    await ch.basicPublish({ routingKey: q }, 'x');
    const m = await ch.basicGet({ queue: q });
    const empty = await ch.basicGet({ queue: q });
    ch.basicAck({ deliveryTag: m.deliveryTag });
    const err = await ctx.attempt(async () => {
      ch.basicAck({ deliveryTag: m.deliveryTag });
      await ch.basicQos({ prefetchCount: 1 });
    });
    return { body: String(m.body), tag: m.deliveryTag, empty: empty ?? null, err };
  },
};
