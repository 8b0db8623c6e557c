// Queues: declaration (server-named, exclusive, auto-delete, passive), equivalence and
// argument validation errors, purge, delete with if-unused/if-empty, and the counts the
// -ok methods carry.

async function redeclare(ctx, opts1, opts2) {
  const ch = await ctx.channel();
  const q = ctx.q();
  const first = await ctx.attempt(ch.assertQueue(q, opts1));
  const second = await ctx.attempt(ch.assertQueue(q, opts2));
  return { first, second, events: ch.events };
}

/** Declares a queue with the given arguments and reports the outcome. */
async function declareArgs(ctx, args, opts = {}) {
  const ch = await ctx.channel();
  const q = ctx.q();
  return { r: await ctx.attempt(ch.assertQueue(q, { durable: false, ...opts, arguments: args })), events: ch.events };
}

/** An exclusive queue owned by one connection, touched from another. */
async function fromOtherConnection(ctx, op) {
  const owner = await ctx.channel(await ctx.amqp());
  const q = ctx.q();
  await owner.assertQueue(q, { exclusive: true });
  const other = await ctx.channel(await ctx.amqp());
  const r = await ctx.attempt(op(other, q));
  return { r, events: other.events };
}

async function fill(ch, q, n) {
  for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
  if (ch.waitForConfirms) await ch.waitForConfirms();
}

export default {
  async 'server-named'(ctx) {
    const ch = await ctx.channel();
    const r = await ch.assertQueue('', { exclusive: true });
    return { r, matches: /^amq\.gen-[A-Za-z0-9_-]{22}$/.test(r.queue) };
  },

  async 'server-named-twice-differ'(ctx) {
    const ch = await ctx.channel();
    const a = await ch.assertQueue('', { exclusive: true });
    const b = await ch.assertQueue('', { exclusive: true });
    return a.queue !== b.queue;
  },

  async 'declare-ok-counts'(ctx) {
    const ch = await ctx.confirmChannel();
    const q = ctx.q();
    const empty = await ch.assertQueue(q, { durable: false });
    await fill(ch, q, 3);
    const withMessages = await ch.assertQueue(q, { durable: false });
    await ch.consume(q, () => {}, { noAck: false });
    await ch.prefetch(0);
    const ch2 = await ctx.channel();
    const withConsumer = await ch2.checkQueue(q);
    return { empty, withMessages, withConsumer };
  },

  async 'passive-absent'(ctx) {
    const ch = await ctx.channel();
    return { r: await ctx.attempt(ch.checkQueue(ctx.q('absent'))), events: ch.events };
  },

  async 'passive-present-counts'(ctx) {
    const ch = await ctx.confirmChannel();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    await fill(ch, q, 2);
    return ch.checkQueue(q);
  },

  async 'redeclare-same'(ctx) {
    return redeclare(ctx, { durable: false, arguments: { 'x-max-length': 10 } }, { durable: false, arguments: { 'x-max-length': 10 } });
  },

  async 'redeclare-different-durable'(ctx) {
    return redeclare(ctx, { durable: false }, { durable: true });
  },

  async 'redeclare-different-auto-delete'(ctx) {
    return redeclare(ctx, { durable: false }, { durable: false, autoDelete: true });
  },

  async 'redeclare-different-exclusive'(ctx) {
    return redeclare(ctx, { durable: false }, { durable: false, exclusive: true });
  },

  async 'redeclare-different-message-ttl'(ctx) {
    return redeclare(ctx, { durable: false, arguments: { 'x-message-ttl': 1000 } }, { durable: false, arguments: { 'x-message-ttl': 2000 } });
  },

  async 'redeclare-adding-argument'(ctx) {
    return redeclare(ctx, { durable: false }, { durable: false, arguments: { 'x-max-length': 5 } });
  },

  async 'redeclare-dropping-argument'(ctx) {
    return redeclare(ctx, { durable: false, arguments: { 'x-max-length': 5 } }, { durable: false });
  },

  async 'redeclare-different-unknown-argument'(ctx) {
    // Arguments RabbitMQ does not know are not checked for equivalence.
    return redeclare(ctx, { durable: false, arguments: { 'x-custom': 'a' } }, { durable: false, arguments: { 'x-custom': 'b' } });
  },

  async 'redeclare-dead-letter-exchange-changed'(ctx) {
    return redeclare(ctx, { durable: false, deadLetterExchange: 'dlx1' }, { durable: false, deadLetterExchange: 'dlx2' });
  },

  async 'redeclare-exclusive-passive-from-owner'(ctx) {
    const ch = await ctx.channel();
    const q = ctx.q();
    await ch.assertQueue(q, { exclusive: true });
    return ctx.attempt(ch.checkQueue(q));
  },

  async 'declare-amq-prefix'(ctx) {
    const ch = await ctx.channel();
    return { r: await ctx.attempt(ch.assertQueue(`amq.${ctx.name('q')}`)), events: ch.events };
  },

  async 'passive-amq-prefix-absent'(ctx) {
    const ch = await ctx.channel();
    return { r: await ctx.attempt(ch.checkQueue(`amq.${ctx.name('q')}`)), events: ch.events };
  },

  async 'exclusive-declare-from-other-connection'(ctx) {
    return fromOtherConnection(ctx, (ch, q) => ch.assertQueue(q, { exclusive: true }));
  },

  async 'exclusive-nonexclusive-declare-from-other-connection'(ctx) {
    return fromOtherConnection(ctx, (ch, q) => ch.assertQueue(q, { durable: false }));
  },

  async 'exclusive-passive-from-other-connection'(ctx) {
    return fromOtherConnection(ctx, (ch, q) => ch.checkQueue(q));
  },

  async 'exclusive-consume-from-other-connection'(ctx) {
    return fromOtherConnection(ctx, (ch, q) => ch.consume(q, () => {}));
  },

  async 'exclusive-get-from-other-connection'(ctx) {
    return fromOtherConnection(ctx, (ch, q) => ch.get(q));
  },

  async 'exclusive-purge-from-other-connection'(ctx) {
    return fromOtherConnection(ctx, (ch, q) => ch.purgeQueue(q));
  },

  async 'exclusive-delete-from-other-connection'(ctx) {
    return fromOtherConnection(ctx, (ch, q) => ch.deleteQueue(q));
  },

  async 'exclusive-bind-from-other-connection'(ctx) {
    return fromOtherConnection(ctx, (ch, q) => ch.bindQueue(q, 'amq.direct', 'k'));
  },

  async 'exclusive-publish-from-other-connection'(ctx) {
    // Publishing into someone else's exclusive queue is allowed.
    const owner = await ctx.channel(await ctx.amqp());
    const q = ctx.q();
    await owner.assertQueue(q, { exclusive: true });
    const other = await ctx.confirmChannel(await ctx.amqp());
    other.sendToQueue(q, Buffer.from('hello'));
    await other.waitForConfirms();
    return ctx.msg(await owner.get(q, { noAck: true }));
  },

  async 'exclusive-removed-when-connection-closes'(ctx) {
    const conn = await ctx.amqp();
    const ch = await ctx.channel(conn);
    const q = ctx.q();
    await ch.assertQueue(q, { exclusive: true });
    await conn.close();
    const other = await ctx.channel();
    const r = await ctx.until(async () => {
      const c = await ctx.channel();
      const x = await ctx.attempt(c.checkQueue(q));
      return x.error ? x : null;
    }, 1000);
    return { r: r ?? 'still-there', events: other.events };
  },

  async 'exclusive-removed-when-channel-closes-not'(ctx) {
    // Exclusivity belongs to the connection: closing the declaring channel keeps the queue.
    const conn = await ctx.amqp();
    const ch = await ctx.channel(conn);
    const q = ctx.q();
    await ch.assertQueue(q, { exclusive: true });
    await ch.close();
    const ch2 = await ctx.channel(conn);
    return ctx.attempt(ch2.checkQueue(q));
  },

  async 'auto-delete-after-last-consumer-cancels'(ctx) {
    const ch = await ctx.channel();
    const q = ctx.q();
    await ch.assertQueue(q, { autoDelete: true, durable: false });
    const a = await ch.consume(q, () => {});
    const b = await ch.consume(q, () => {});
    await ch.cancel(a.consumerTag);
    const afterFirst = await ctx.attempt(ch.checkQueue(q));
    await ch.cancel(b.consumerTag);
    const r = await ctx.until(async () => {
      const c = await ctx.channel();
      const x = await ctx.attempt(c.checkQueue(q));
      return x.error ? x : null;
    }, 1000);
    return { afterFirst, afterLast: r ?? 'still-there' };
  },

  async 'auto-delete-without-consumer-survives'(ctx) {
    const ch = await ctx.channel();
    const q = ctx.q();
    await ch.assertQueue(q, { autoDelete: true, durable: false });
    await ctx.sleep(30);
    return ctx.attempt(ch.checkQueue(q));
  },

  async 'auto-delete-after-consumer-channel-closes'(ctx) {
    const ch = await ctx.channel();
    const q = ctx.q();
    await ch.assertQueue(q, { autoDelete: true, durable: false });
    await ch.consume(q, () => {});
    await ch.close();
    const r = await ctx.until(async () => {
      const c = await ctx.channel();
      const x = await ctx.attempt(c.checkQueue(q));
      return x.error ? x : null;
    }, 1000);
    return r ?? 'still-there';
  },

  async 'purge-counts'(ctx) {
    const ch = await ctx.confirmChannel();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    await fill(ch, q, 4);
    const first = await ch.purgeQueue(q);
    const second = await ch.purgeQueue(q);
    return { first, second, left: await ch.checkQueue(q) };
  },

  async 'purge-keeps-unacked'(ctx) {
    const ch = await ctx.confirmChannel();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    await fill(ch, q, 3);
    const m = await ch.get(q, { noAck: false });
    const purged = await ch.purgeQueue(q);
    ch.nack(m, false, true);
    await ctx.sleep(20);
    return { purged, after: await ctx.drain(ch, q) };
  },

  async 'purge-absent'(ctx) {
    const ch = await ctx.channel();
    return { r: await ctx.attempt(ch.purgeQueue(ctx.q('absent'))), events: ch.events };
  },

  async 'delete-counts'(ctx) {
    const ch = await ctx.confirmChannel();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    await fill(ch, q, 5);
    return ch.deleteQueue(q);
  },

  async 'delete-absent'(ctx) {
    const ch = await ctx.channel();
    return { r: await ctx.attempt(ch.deleteQueue(ctx.q('absent'))), events: ch.events };
  },

  async 'delete-if-unused-with-consumer'(ctx) {
    const ch = await ctx.channel();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    await ch.consume(q, () => {});
    const ch2 = await ctx.channel();
    return { r: await ctx.attempt(ch2.deleteQueue(q, { ifUnused: true })), events: ch2.events };
  },

  async 'delete-if-unused-without-consumer'(ctx) {
    const ch = await ctx.confirmChannel();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    await fill(ch, q, 1);
    return ctx.attempt(ch.deleteQueue(q, { ifUnused: true }));
  },

  async 'delete-if-empty-with-messages'(ctx) {
    const ch = await ctx.confirmChannel();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    await fill(ch, q, 2);
    return { r: await ctx.attempt(ch.deleteQueue(q, { ifEmpty: true })), events: ch.events };
  },

  async 'delete-if-empty-when-empty'(ctx) {
    const ch = await ctx.channel();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    return ctx.attempt(ch.deleteQueue(q, { ifEmpty: true }));
  },

  async 'delete-if-empty-with-only-unacked'(ctx) {
    const ch = await ctx.confirmChannel();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    await fill(ch, q, 1);
    await ch.get(q, { noAck: false });
    const ch2 = await ctx.channel();
    return { r: await ctx.attempt(ch2.deleteQueue(q, { ifEmpty: true })), events: ch2.events };
  },

  async 'delete-then-redeclare-is-empty'(ctx) {
    const ch = await ctx.confirmChannel();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    await fill(ch, q, 2);
    await ch.deleteQueue(q);
    return ch.assertQueue(q, { durable: false });
  },

  async 'delete-removes-bindings'(ctx) {
    const ch = await ctx.confirmChannel();
    const x = ctx.x();
    const q = ctx.q();
    await ch.assertExchange(x, 'fanout', { durable: false });
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, x, '');
    await ch.deleteQueue(q);
    await ch.assertQueue(q, { durable: false });
    ch.publish(x, '', Buffer.from('unbound'));
    await ch.waitForConfirms();
    return ch.checkQueue(q);
  },

  async 'default-exchange-routes-by-queue-name'(ctx) {
    const ch = await ctx.confirmChannel();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    ch.publish('', q, Buffer.from('direct'));
    ch.publish('', `${q}-other`, Buffer.from('nowhere'));
    await ch.waitForConfirms();
    return ctx.drain(ch, q);
  },

  async 'arg-message-ttl-negative'(ctx) {
    return declareArgs(ctx, { 'x-message-ttl': -1 });
  },

  async 'arg-message-ttl-string'(ctx) {
    return declareArgs(ctx, { 'x-message-ttl': 'soon' });
  },

  async 'arg-expires-zero'(ctx) {
    return declareArgs(ctx, { 'x-expires': 0 });
  },

  async 'arg-max-length-negative'(ctx) {
    return declareArgs(ctx, { 'x-max-length': -1 });
  },

  async 'arg-max-length-bytes-string'(ctx) {
    return declareArgs(ctx, { 'x-max-length-bytes': 'big' });
  },

  async 'arg-overflow-invalid'(ctx) {
    return declareArgs(ctx, { 'x-overflow': 'explode' });
  },

  async 'arg-dead-letter-routing-key-without-exchange'(ctx) {
    return declareArgs(ctx, { 'x-dead-letter-routing-key': 'rk' });
  },

  async 'arg-dead-letter-exchange-int'(ctx) {
    return declareArgs(ctx, { 'x-dead-letter-exchange': 5 });
  },

  async 'arg-max-priority-too-high'(ctx) {
    return declareArgs(ctx, { 'x-max-priority': 256 });
  },

  async 'arg-max-priority-negative'(ctx) {
    return declareArgs(ctx, { 'x-max-priority': -1 });
  },

  async 'arg-queue-type-invalid'(ctx) {
    return declareArgs(ctx, { 'x-queue-type': 'fancy' });
  },

  async 'arg-queue-type-classic-explicit'(ctx) {
    return declareArgs(ctx, { 'x-queue-type': 'classic' });
  },

  async 'arg-single-active-consumer-string'(ctx) {
    return declareArgs(ctx, { 'x-single-active-consumer': 'yes' });
  },

  async 'arg-unknown-x-argument-accepted'(ctx) {
    return declareArgs(ctx, { 'x-made-up': 42, plain: 'value' });
  },

  async 'rabbitmq-client-queue-lifecycle'(ctx) {
    const rc = await ctx.rmq();
    const q = ctx.q();
    const out = {};
    out.declare = await rc.queueDeclare({ queue: q, durable: false });
    const ch = await rc.acquire();
    await ch.basicPublish({ routingKey: q }, 'one');
    await ch.basicPublish({ routingKey: q }, 'two');
    await ch.close();
    out.passive = await ctx.until(async () => {
      const r = await rc.queueDeclare({ queue: q, passive: true });
      return r.messageCount === 2 ? r : null;
    }, 1000);
    out.purge = await rc.queuePurge({ queue: q });
    out.delete = await rc.queueDelete({ queue: q });
    out.passiveAfter = await ctx.attempt(rc.queueDeclare({ queue: q, passive: true }));
    return out;
  },
};
