// Message and queue lifecycle arguments: TTLs, queue expiry, length limits with overflow
// modes, dead-lettering (x-death contents), priorities, single active consumer, and the
// quorum-only x-delivery-limit. Delays are tens of milliseconds.

/** A confirm channel, a fresh queue with `args`, and a helper to publish and confirm. */
async function setup(ctx, args = {}, name = 'q') {
  const ch = await ctx.confirmChannel();
  const q = ctx.q(name);
  await ch.assertQueue(q, { durable: false, arguments: args });
  const pub = async (bodies, opts = {}) => {
    for (const b of bodies) ch.sendToQueue(q, Buffer.from(b), opts);
    await ch.waitForConfirms();
  };
  return { ch, q, pub };
}

/** A dead-letter exchange (fanout) with a bound queue collecting dead letters. */
async function dlx(ctx, ch) {
  const x = ctx.x('dlx');
  const dq = ctx.q('dead');
  await ch.assertExchange(x, 'fanout', { durable: false });
  await ch.assertQueue(dq, { durable: false });
  await ch.bindQueue(dq, x, '');
  return { x, dq };
}

const getAll = async (ctx, ch, q, n = 10) => {
  const out = [];
  for (let i = 0; i < n; i++) {
    const m = await ch.get(q, { noAck: true });
    if (!m) break;
    out.push(ctx.msg(m));
  }
  return out;
};

/** Polls the dead-letter queue until `n` messages arrived or time runs out. */
async function deadLetters(ctx, ch, dq, n, ms = 1000) {
  const out = [];
  await ctx.until(async () => {
    const m = await ch.get(dq, { noAck: true });
    if (m) out.push(ctx.msg(m));
    return out.length >= n;
  }, ms, 10);
  return out;
}

export default {
  async 'message-ttl-expires'(ctx) {
    const { ch, q, pub } = await setup(ctx, { 'x-message-ttl': 20 });
    await pub(['a', 'b']);
    const before = (await ch.checkQueue(q)).messageCount;
    await ctx.sleep(60);
    return { before, after: await ctx.drain(ch, q) };
  },

  async 'message-ttl-zero-without-consumer-drops'(ctx) {
    const { ch, q, pub } = await setup(ctx, { 'x-message-ttl': 0 });
    await pub(['a']);
    await ctx.sleep(10);
    return ctx.drain(ch, q);
  },

  async 'message-ttl-zero-with-consumer-delivers'(ctx) {
    const { ch, q, pub } = await setup(ctx, { 'x-message-ttl': 0 });
    const got = await ctx.collect(ch, q, { noAck: true });
    await pub(['a']);
    await ctx.until(() => got.length >= 1, 500);
    return got.map((m) => m.body);
  },

  async 'per-message-expiration'(ctx) {
    const { ch, q } = await setup(ctx);
    ch.sendToQueue(q, Buffer.from('short'), { expiration: '20' });
    ch.sendToQueue(q, Buffer.from('long'), { expiration: '60000' });
    ch.sendToQueue(q, Buffer.from('none'));
    await ch.waitForConfirms();
    await ctx.sleep(60);
    return getAll(ctx, ch, q);
  },

  async 'per-message-expiration-head-blocks'(ctx) {
    // Expiry happens at the head: a short-lived message behind a long one stays counted.
    const { ch, q } = await setup(ctx);
    ch.sendToQueue(q, Buffer.from('long'), { expiration: '60000' });
    ch.sendToQueue(q, Buffer.from('short'), { expiration: '10' });
    await ch.waitForConfirms();
    await ctx.sleep(40);
    const count = (await ch.checkQueue(q)).messageCount;
    return { count, got: await ctx.drain(ch, q) };
  },

  async 'per-message-expiration-invalid'(ctx) {
    const ch = await ctx.channel();
    ch.sendToQueue(ctx.q('any'), Buffer.from('x'), { expiration: 'soon' });
    await ctx.until(() => ch.events.length >= 2, 1000);
    return ch.events;
  },

  async 'per-message-expiration-negative'(ctx) {
    const ch = await ctx.channel();
    ch.sendToQueue(ctx.q('any'), Buffer.from('x'), { expiration: '-5' });
    await ctx.until(() => ch.events.length >= 2, 1000);
    return ch.events;
  },

  async 'queue-and-message-ttl-minimum-wins'(ctx) {
    const { ch, q } = await setup(ctx, { 'x-message-ttl': 20 });
    ch.sendToQueue(q, Buffer.from('msg-ttl-longer'), { expiration: '60000' });
    await ch.waitForConfirms();
    await ctx.sleep(60);
    return ctx.drain(ch, q);
  },

  async 'expiration-property-kept-on-delivery'(ctx) {
    const { ch, q } = await setup(ctx);
    ch.sendToQueue(q, Buffer.from('x'), { expiration: '60000' });
    await ch.waitForConfirms();
    return ctx.msg(await ch.get(q, { noAck: true }));
  },

  async 'queue-expires-when-unused'(ctx) {
    const { ch, q } = await setup(ctx, { 'x-expires': 30 });
    // A passive declare counts as use and restarts the timer: look only once, after it ran out.
    await ctx.sleep(150);
    return ctx.attempt(ch.checkQueue(q));
  },

  async 'queue-expires-not-while-consumed'(ctx) {
    const { ch, q } = await setup(ctx, { 'x-expires': 30 });
    await ch.consume(q, () => {});
    await ctx.sleep(80);
    return ctx.attempt(ch.checkQueue(q));
  },

  async 'max-length-drop-head'(ctx) {
    const { ch, q, pub } = await setup(ctx, { 'x-max-length': 3 });
    await pub(['a', 'b', 'c', 'd', 'e']);
    return ctx.drain(ch, q);
  },

  async 'max-length-zero'(ctx) {
    const { ch, q, pub } = await setup(ctx, { 'x-max-length': 0 });
    await pub(['a', 'b']);
    return ctx.drain(ch, q);
  },

  async 'max-length-bytes-drop-head'(ctx) {
    const { ch, q, pub } = await setup(ctx, { 'x-max-length-bytes': 10 });
    await pub(['1234', '5678', 'abcd', 'efgh']);
    return ctx.drain(ch, q);
  },

  async 'max-length-reject-publish'(ctx) {
    const { ch, q } = await setup(ctx, { 'x-max-length': 2, 'x-overflow': 'reject-publish' });
    const res = [];
    for (const b of ['a', 'b', 'c']) ch.sendToQueue(q, Buffer.from(b), {}, (err) => res.push(`${b}:${err ? 'nack' : 'ack'}`));
    await ch.waitForConfirms().catch(() => {});
    return { confirms: res.sort(), left: await ctx.drain(ch, q) };
  },

  async 'max-length-reject-publish-dlx'(ctx) {
    const ch0 = await ctx.channel();
    const { x, dq } = await dlx(ctx, ch0);
    const { ch, q } = await setup(ctx, { 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx', 'x-dead-letter-exchange': x });
    const res = [];
    for (const b of ['a', 'b']) ch.sendToQueue(q, Buffer.from(b), {}, (err) => res.push(`${b}:${err ? 'nack' : 'ack'}`));
    await ch.waitForConfirms().catch(() => {});
    return { confirms: res.sort(), left: await ctx.drain(ch, q), dead: await deadLetters(ctx, ch0, dq, 1) };
  },

  async 'max-length-drop-head-dead-letters'(ctx) {
    const ch0 = await ctx.channel();
    const { x, dq } = await dlx(ctx, ch0);
    const { pub } = await setup(ctx, { 'x-max-length': 1, 'x-dead-letter-exchange': x });
    await pub(['first', 'second']);
    return deadLetters(ctx, ch0, dq, 1);
  },

  async 'dead-letter-on-reject'(ctx) {
    const ch0 = await ctx.channel();
    const { x, dq } = await dlx(ctx, ch0);
    const { ch, q, pub } = await setup(ctx, { 'x-dead-letter-exchange': x });
    await pub(['r1'], { headers: { orig: 'yes' } });
    const m = await ch.get(q);
    ch.reject(m, false);
    return deadLetters(ctx, ch0, dq, 1);
  },

  async 'dead-letter-on-nack-multiple'(ctx) {
    const ch0 = await ctx.channel();
    const { x, dq } = await dlx(ctx, ch0);
    const { ch, q, pub } = await setup(ctx, { 'x-dead-letter-exchange': x });
    await pub(['n1', 'n2']);
    await ch.get(q);
    const m2 = await ch.get(q);
    ch.nack(m2, true, false);
    const dead = await deadLetters(ctx, ch0, dq, 2);
    return dead.map((d) => ({ body: d.body, reason: d.props?.headers?.['x-death']?.[0]?.reason }));
  },

  async 'dead-letter-on-expiry'(ctx) {
    const ch0 = await ctx.channel();
    const { x, dq } = await dlx(ctx, ch0);
    const { pub } = await setup(ctx, { 'x-dead-letter-exchange': x, 'x-message-ttl': 10 });
    await pub(['e1']);
    return deadLetters(ctx, ch0, dq, 1);
  },

  async 'dead-letter-per-message-expiration-original-expiration'(ctx) {
    const ch0 = await ctx.channel();
    const { x, dq } = await dlx(ctx, ch0);
    const { pub } = await setup(ctx, { 'x-dead-letter-exchange': x });
    await pub(['e2'], { expiration: '10' });
    return deadLetters(ctx, ch0, dq, 1);
  },

  async 'dead-letter-routing-key-override'(ctx) {
    const ch0 = await ctx.confirmChannel();
    const x = ctx.x('dlx');
    const dq = ctx.q('dead');
    await ch0.assertExchange(x, 'direct', { durable: false });
    await ch0.assertQueue(dq, { durable: false });
    await ch0.bindQueue(dq, x, 'dead-key');
    const { ch, q, pub } = await setup(ctx, { 'x-dead-letter-exchange': x, 'x-dead-letter-routing-key': 'dead-key' });
    await pub(['k1']);
    ch.reject(await ch.get(q), false);
    return deadLetters(ctx, ch0, dq, 1);
  },

  async 'dead-letter-default-exchange-to-queue'(ctx) {
    const ch0 = await ctx.channel();
    const dq = ctx.q('dead');
    await ch0.assertQueue(dq, { durable: false });
    const { ch, q, pub } = await setup(ctx, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dq });
    await pub(['d1']);
    ch.reject(await ch.get(q), false);
    return deadLetters(ctx, ch0, dq, 1);
  },

  async 'dead-letter-twice-counts'(ctx) {
    // Reject from q1 -> q2, reject from q2 -> back to q1, reject again -> q2: x-death
    // holds one entry per (queue, reason) with counts, newest first.
    const ch = await ctx.confirmChannel();
    const q1 = ctx.q('one');
    const q2 = ctx.q('two');
    await ch.assertQueue(q1, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q2 } });
    await ch.assertQueue(q2, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q1 } });
    ch.sendToQueue(q1, Buffer.from('cycle'));
    await ch.waitForConfirms();
    const hop = async (q) => {
      const m = await ctx.until(() => ch.get(q), 1000, 10);
      ch.reject(m, false);
    };
    await hop(q1);
    await hop(q2);
    await hop(q1);
    const last = await ctx.until(() => ch.get(q2, { noAck: true }), 1000, 10);
    return ctx.msg(last);
  },

  async 'dead-letter-to-absent-exchange-drops'(ctx) {
    const { ch, q, pub } = await setup(ctx, { 'x-dead-letter-exchange': ctx.x('absent') });
    await pub(['gone']);
    ch.reject(await ch.get(q), false);
    await ctx.sleep(30);
    return { left: await ctx.drain(ch, q), events: ch.events };
  },

  async 'dead-letter-requeue-true-does-not'(ctx) {
    const ch0 = await ctx.channel();
    const { x, dq } = await dlx(ctx, ch0);
    const { ch, q, pub } = await setup(ctx, { 'x-dead-letter-exchange': x });
    await pub(['stay']);
    ch.reject(await ch.get(q), true);
    await ctx.sleep(30);
    return { q: await ctx.drain(ch, q), dead: await ctx.drain(ch0, dq) };
  },

  async 'dead-letter-cc-bcc-stripped'(ctx) {
    const ch0 = await ctx.channel();
    const { x, dq } = await dlx(ctx, ch0);
    const { ch, q } = await setup(ctx, { 'x-dead-letter-exchange': x });
    ch.publish('', q, Buffer.from('cc'), { CC: ['nowhere-cc'] });
    await ch.waitForConfirms();
    ch.reject(await ch.get(q), false);
    return deadLetters(ctx, ch0, dq, 1);
  },

  async 'max-priority-order'(ctx) {
    const { ch, q } = await setup(ctx, { 'x-max-priority': 5 });
    const list = [['p0', 0], ['p5', 5], ['p1', 1], ['none', undefined], ['p9', 9], ['p3', 3]];
    for (const [b, p] of list) ch.sendToQueue(q, Buffer.from(b), p === undefined ? {} : { priority: p });
    await ch.waitForConfirms();
    return ctx.drain(ch, q);
  },

  async 'priority-ignored-without-max-priority'(ctx) {
    const { ch, q } = await setup(ctx);
    for (const [b, p] of [['low', 1], ['high', 9]]) ch.sendToQueue(q, Buffer.from(b), { priority: p });
    await ch.waitForConfirms();
    return ctx.drain(ch, q);
  },

  async 'single-active-consumer'(ctx) {
    const { ch, q, pub } = await setup(ctx, { 'x-single-active-consumer': true });
    const a = await ctx.collect(ch, q, { noAck: true });
    const b = await ctx.collect(ch, q, { noAck: true });
    await pub(['m1', 'm2', 'm3']);
    await ctx.until(() => a.length + b.length >= 3);
    await ch.cancel(a.tag);
    await pub(['m4']);
    await ctx.until(() => b.length >= 1);
    return { a: a.map((m) => m.body), b: b.map((m) => m.body), declare: await ch.checkQueue(q) };
  },

  async 'single-active-consumer-exclusive-consume-conflict'(ctx) {
    const { ch, q } = await setup(ctx, { 'x-single-active-consumer': true });
    return { r: await ctx.attempt(ch.consume(q, () => {}, { exclusive: true })), events: ch.events };
  },

  async 'delivery-limit-on-classic-queue'(ctx) {
    // x-delivery-limit belongs to quorum queues in RabbitMQ 3.10; a classic queue refuses it.
    const ch = await ctx.channel();
    const q = ctx.q();
    return { r: await ctx.attempt(ch.assertQueue(q, { durable: false, arguments: { 'x-delivery-limit': 1 } })), events: ch.events };
  },

  async 'quorum-queue-delivery-limit'(ctx) {
    // Quorum queues: after more than x-delivery-limit returns the message is dead-lettered
    // (reason delivery_limit) and carries x-delivery-count on the way.
    const ch0 = await ctx.channel();
    const { x, dq } = await dlx(ctx, ch0);
    const ch = await ctx.confirmChannel();
    const q = ctx.q('quorum');
    const declared = await ctx.attempt(ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 1, 'x-dead-letter-exchange': x } }));
    if (declared.error) return { declared };
    ch.sendToQueue(q, Buffer.from('limited'));
    await ch.waitForConfirms();
    const seen = [];
    for (let i = 0; i < 4; i++) {
      const m = await ctx.until(() => ch.get(q), 300, 10);
      if (!m) break;
      seen.push({ body: String(m.content), redelivered: m.fields.redelivered, count: m.properties.headers?.['x-delivery-count'] ?? null });
      ch.nack(m, false, true);
    }
    const dead = await deadLetters(ctx, ch0, dq, 1);
    return { declared, seen, dead: dead.map((d) => ({ body: d.body, death: d.props?.headers?.['x-death']?.map((e) => e.reason) })) };
  },

  async 'quorum-queue-exclusive-refused'(ctx) {
    const ch = await ctx.channel();
    const q = ctx.q('quorum');
    return { r: await ctx.attempt(ch.assertQueue(q, { exclusive: true, arguments: { 'x-queue-type': 'quorum' } })), events: ch.events };
  },

  async 'quorum-queue-non-durable-refused'(ctx) {
    const ch = await ctx.channel();
    const q = ctx.q('quorum');
    return { r: await ctx.attempt(ch.assertQueue(q, { durable: false, arguments: { 'x-queue-type': 'quorum' } })), events: ch.events };
  },
};
