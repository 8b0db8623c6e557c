// What clients in other languages (pika, kombu, Bunny, the Java client, php-amqplib,
// amqp091-go) rely on: reply-to declares, argument equivalence across integer widths,
// argument and property checks, broker-sent nacks, CC items, failed logins, unknown methods
// and quorum queues with global qos. Mostly raw frames, so exact types and bits are visible.
import { encodeFrame, FRAME, summarize } from '../raw-client.mjs';

const RT = 'amq.rabbitmq.reply-to';

/** Sends a method on channel 1 and returns the next frame, summarised. */
async function call(c, name, args, ch = 1) {
  c.sendMethod(ch, name, args);
  return summarize(await c.next(1500));
}

/** Declares `first`, then redeclares with `second` on a fresh channel; returns the second outcome. */
async function redeclare(ctx, first, second, flags = {}) {
  const c = await ctx.rawOpen();
  const q = ctx.q();
  const a = await call(c, 'queue.declare', { queue: q, 'auto-delete': true, arguments: first, ...flags });
  const b = await call(c, 'queue.declare', { queue: q, 'auto-delete': true, arguments: second, ...flags });
  return { first: a, second: b };
}

async function declareArgs(ctx, args, flags = {}) {
  const c = await ctx.rawOpen();
  return call(c, 'queue.declare', { queue: ctx.q(), 'auto-delete': true, arguments: args, ...flags });
}

async function publishExpiration(ctx, expiration) {
  const c = await ctx.rawOpen();
  const q = ctx.q();
  await call(c, 'queue.declare', { queue: q, 'auto-delete': true });
  await call(c, 'confirm.select', {});
  c.publish(1, '', q, 'x', { expiration });
  return summarize(await c.next(1500));
}

async function consumeWithPriority(ctx, priority) {
  const c = await ctx.rawOpen();
  const q = ctx.q();
  await call(c, 'queue.declare', { queue: q, 'auto-delete': true });
  return call(c, 'basic.consume', { queue: q, 'consumer-tag': 'ct', arguments: { 'x-priority': priority } });
}

/** Events until the socket closes or nothing arrives for quietMs (timing left out). */
async function untilQuietOrClosed(c, quietMs) {
  return (await c.collect(quietMs)).map((e) => summarize(e));
}

export const options = {
  'failed-login-silent-close-delay': { timeout: 10000 },
};

export default {
  // ---------------------------------------------------------------- direct reply-to declares

  async 'reply-to-declare-before-consuming'(ctx) {
    const c = await ctx.rawOpen();
    return {
      passive: await call(c, 'queue.declare', { queue: RT, passive: true }),
      plain: await call(c, 'queue.declare', { queue: RT }),
      durable: await call(c, 'queue.declare', { queue: RT, durable: true }),
      exclusiveWithArgs: await call(c, 'queue.declare', { queue: RT, exclusive: true, 'auto-delete': true, arguments: { 'x-max-length': 5 } }),
    };
  },

  async 'reply-to-declare-while-consuming'(ctx) {
    const c = await ctx.rawOpen();
    const consumed = (await call(c, 'basic.consume', { queue: RT, 'no-ack': true })).method;
    return {
      consumed,
      passive: await call(c, 'queue.declare', { queue: RT, passive: true }),
      plain: await call(c, 'queue.declare', { queue: RT }),
    };
  },

  async 'reply-to-declare-other-name-under-prefix'(ctx) {
    const a = await ctx.rawOpen();
    const b = await ctx.rawOpen();
    return {
      sub: await call(a, 'queue.declare', { queue: `${RT}.foo` }),
      longer: await call(b, 'queue.declare', { queue: 'amq.rabbitmq.reply-tox' }),
    };
  },

  // ---------------------------------------------------------------- argument equivalence

  async 'equivalence-int32-vs-int64'(ctx) {
    return redeclare(ctx, { 'x-max-length': { type: 'I', value: 10 } }, { 'x-max-length': { type: 'l', value: 10 } });
  },

  async 'equivalence-int64-vs-int32'(ctx) {
    return redeclare(ctx, { 'x-max-length': { type: 'l', value: 10 } }, { 'x-max-length': { type: 'I', value: 10 } });
  },

  async 'equivalence-byte-vs-unsigned-int'(ctx) {
    return redeclare(ctx, { 'x-message-ttl': { type: 'b', value: 10 } }, { 'x-message-ttl': { type: 'i', value: 10 } });
  },

  async 'equivalence-short-vs-long'(ctx) {
    return redeclare(ctx, { 'x-expires': { type: 's', value: 1000 } }, { 'x-expires': { type: 'l', value: 1000 } });
  },

  async 'equivalence-different-number-other-width'(ctx) {
    return redeclare(ctx, { 'x-max-length': { type: 'I', value: 10 } }, { 'x-max-length': { type: 'l', value: 11 } });
  },

  async 'equivalence-int-vs-double'(ctx) {
    return redeclare(ctx, { 'x-max-length': { type: 'I', value: 10 } }, { 'x-max-length': { type: 'd', value: 10 } });
  },

  async 'equivalence-int-vs-double-exponent'(ctx) {
    return redeclare(ctx, { 'x-message-ttl': { type: 'I', value: 1000 } }, { 'x-message-ttl': { type: 'd', value: 1000 } });
  },

  async 'equivalence-int-vs-string'(ctx) {
    return redeclare(ctx, { 'x-max-length': { type: 'I', value: 10 } }, { 'x-max-length': { type: 'S', value: '10' } });
  },

  async 'equivalence-longstr-vs-bytes'(ctx) {
    return redeclare(ctx, { 'x-dead-letter-exchange': 'a' }, { 'x-dead-letter-exchange': { type: 'x', value: 'a' } });
  },

  async 'equivalence-no-type-vs-classic'(ctx) {
    return redeclare(ctx, {}, { 'x-queue-type': 'classic' });
  },

  async 'equivalence-classic-vs-no-type'(ctx) {
    return redeclare(ctx, { 'x-queue-type': 'classic' }, {});
  },

  async 'equivalence-no-type-vs-quorum'(ctx) {
    return redeclare(ctx, {}, { 'x-queue-type': 'quorum' }, { durable: true, 'auto-delete': false });
  },

  // ---------------------------------------------------------------- argument checks

  async 'queue-mode-bogus'(ctx) {
    return declareArgs(ctx, { 'x-queue-mode': 'bogus' });
  },

  async 'queue-mode-bytes'(ctx) {
    return declareArgs(ctx, { 'x-queue-mode': { type: 'x', value: 'lazy' } });
  },

  async 'queue-mode-int'(ctx) {
    return declareArgs(ctx, { 'x-queue-mode': { type: 'I', value: 5 } });
  },

  async 'queue-mode-lazy'(ctx) {
    return declareArgs(ctx, { 'x-queue-mode': 'lazy' });
  },

  async 'queue-mode-on-quorum'(ctx) {
    return declareArgs(ctx, { 'x-queue-mode': 'lazy', 'x-queue-type': 'quorum' }, { durable: true, 'auto-delete': false });
  },

  async 'message-ttl-whole-double'(ctx) {
    return declareArgs(ctx, { 'x-message-ttl': { type: 'd', value: 1000 } });
  },

  async 'consumer-priority-string'(ctx) {
    return consumeWithPriority(ctx, '5');
  },

  async 'consumer-priority-double'(ctx) {
    return consumeWithPriority(ctx, { type: 'd', value: 1.5 });
  },

  async 'consumer-priority-bool'(ctx) {
    return consumeWithPriority(ctx, true);
  },

  async 'consumer-priority-negative-long'(ctx) {
    return consumeWithPriority(ctx, { type: 'l', value: -5 });
  },

  // ---------------------------------------------------------------- publishing

  async 'expiration-ten-years'(ctx) {
    return publishExpiration(ctx, '315360000000');
  },

  async 'expiration-over-ten-years'(ctx) {
    return publishExpiration(ctx, '315360000001');
  },

  async 'expiration-over-ten-years-long-text'(ctx) {
    return publishExpiration(ctx, '9223372036854775808');
  },

  async 'reject-publish-nack-requeue-bit'(ctx) {
    const c = await ctx.rawOpen();
    const q = ctx.q();
    await call(c, 'queue.declare', { queue: q, 'auto-delete': true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    await call(c, 'confirm.select', {});
    c.publish(1, '', q, 'a');
    await c.next(1500); // basic.ack 1
    c.publish(1, '', q, 'b');
    const nack = summarize(await c.next(1500));
    // `multiple` depends on how RabbitMQ coalesces; the requeue bit is what differed.
    return { method: nack.method, deliveryTag: nack.args['delivery-tag'], requeue: nack.args.requeue };
  },

  async 'cc-with-non-string-items'(ctx) {
    const c = await ctx.rawOpen();
    const qs = [ctx.q('k1'), ctx.q('k2'), ctx.q('k3'), ctx.q('k4')];
    for (let i = 0; i < qs.length; i++) {
      await call(c, 'queue.declare', { queue: qs[i] });
      await call(c, 'queue.bind', { queue: qs[i], exchange: 'amq.direct', 'routing-key': `K${i + 1}` });
    }
    await call(c, 'confirm.select', {});
    const cc = [{ type: 'x', value: 'K2' }, 'K3', { type: 'I', value: 7 }, { type: 'A', value: ['K4'] }];
    c.publish(1, 'amq.direct', 'K1', 'x', { headers: { CC: { type: 'A', value: cc } } });
    const confirm = summarize(await c.next(1500));
    const counts = [];
    for (const q of qs) counts.push((await call(c, 'queue.declare', { queue: q, passive: true })).args['message-count']);
    return { confirm: confirm.method, counts };
  },

  // ---------------------------------------------------------------- connection

  async 'failed-login-silent-close-delay'(ctx) {
    const c = await ctx.raw();
    c.sendProtocolHeader();
    await c.expect('connection.start');
    c.sendMethod(0, 'connection.start-ok', {
      'client-properties': { product: 'interop', capabilities: {} },
      mechanism: 'PLAIN',
      response: Buffer.from('\0guest\0wrong'),
      locale: 'en_US',
    });
    const early = await untilQuietOrClosed(c, 1500);
    const later = early.includes('socket-closed') ? [] : await untilQuietOrClosed(c, 3500);
    return { withinOneAndAHalfSeconds: early, withinFiveSeconds: later };
  },

  async 'failed-login-with-close-capability'(ctx) {
    const c = await ctx.raw();
    c.sendProtocolHeader();
    await c.expect('connection.start');
    c.sendMethod(0, 'connection.start-ok', {
      'client-properties': { product: 'interop', capabilities: { authentication_failure_close: true } },
      mechanism: 'PLAIN',
      response: Buffer.from('\0guest\0wrong'),
      locale: 'en_US',
    });
    return summarize(await c.next(500));
  },

  async 'unknown-class-on-channel-zero'(ctx) {
    const c = await ctx.rawOpen();
    c.write(encodeFrame(FRAME.method, 0, Buffer.from([0x03, 0xe7, 0, 10])));
    return untilQuietOrClosed(c, 1000);
  },

  // ---------------------------------------------------------------- quorum queues

  async 'quorum-consume-after-global-qos'(ctx) {
    const c = await ctx.rawOpen();
    const q = ctx.q();
    await call(c, 'queue.declare', { queue: q, durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const qos = await call(c, 'basic.qos', { 'prefetch-count': 5, global: true });
    const consume = await call(c, 'basic.consume', { queue: q, 'consumer-tag': 't' });
    if (consume.method === 'connection.close') c.sendMethod(0, 'connection.close-ok', {});
    return { qos, consume };
  },

  async 'quorum-global-qos-zero-or-after-consume'(ctx) {
    const c = await ctx.rawOpen();
    const q = ctx.q();
    await call(c, 'queue.declare', { queue: q, durable: true, arguments: { 'x-queue-type': 'quorum' } });
    return {
      qosZero: await call(c, 'basic.qos', { 'prefetch-count': 0, global: true }),
      consume: await call(c, 'basic.consume', { queue: q, 'consumer-tag': 't' }),
      qosAfter: await call(c, 'basic.qos', { 'prefetch-count': 5, global: true }),
    };
  },

  async 'quorum-nack-requeue-goes-to-back'(ctx) {
    const c = await ctx.rawOpen();
    const q = ctx.q();
    await call(c, 'queue.declare', { queue: q, durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await call(c, 'confirm.select', {});
    for (const body of ['a', 'b', 'c']) c.publish(1, '', q, body);
    await c.collect(200); // the confirms
    c.sendMethod(1, 'basic.get', { queue: q });
    await c.next(1500); // get-ok, then its content
    await c.next(1500);
    await c.next(1500);
    c.sendMethod(1, 'basic.nack', { 'delivery-tag': 1, requeue: true });
    const order = [];
    for (let i = 0; i < 3; i++) {
      c.sendMethod(1, 'basic.get', { queue: q, 'no-ack': true });
      const ok = summarize(await c.next(1500));
      await c.next(1500);
      const body = summarize(await c.next(1500));
      order.push({ body: body.body, redelivered: ok.args.redelivered });
    }
    return order;
  },

  // Closed channels, basic.recover and x-delivery-limit: where each returned message goes, and its x-delivery-count.
  async 'quorum-requeue-placement'(ctx) {
    const conn = await ctx.conn();
    const fill = async (args, bodies) => {
      const ch = await ctx.confirmChannel(conn);
      const q = ctx.q();
      await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum', ...args } });
      for (const b of bodies) ch.sendToQueue(q, Buffer.from(b));
      await ch.waitForConfirms();
      return { ch, q };
    };
    const read = async (ch, q) => {
      const out = [];
      for (;;) {
        const m = await ch.get(q, { noAck: true });
        if (!m) return out;
        out.push(`${m.content}${m.fields.redelivered ? '*' : ''}(${m.properties.headers?.['x-delivery-count'] ?? '-'})`);
      }
    };
    const result = {};
    {
      // Two channels close in turn: the later-delivered message returned first is read first.
      const { ch, q } = await fill({}, ['a', 'b', 'c', 'd']);
      const one = await ctx.channel(conn);
      const two = await ctx.channel(conn);
      await one.get(q);
      await two.get(q);
      await one.get(q);
      await two.close();
      await one.close();
      result.closes = await read(ch, q);
    }
    {
      // basic.recover of two gets, then a nack with multiple.
      const { ch, q } = await fill({}, ['a', 'b', 'c']);
      await ch.get(q);
      await ch.get(q);
      await ch.recover();
      const a = await ch.get(q);
      ch.nack(a, true, true);
      result.recoverThenNack = await read(ch, q);
    }
    {
      // Under a delivery limit a nack goes ahead, in the order returned.
      const { ch, q } = await fill({ 'x-delivery-limit': 10 }, ['a', 'b', 'c']);
      const a = await ch.get(q);
      const b = await ch.get(q);
      ch.nack(b, false, true);
      ch.nack(a, false, true);
      result.limited = await read(ch, q);
    }
    return result;
  },
};
