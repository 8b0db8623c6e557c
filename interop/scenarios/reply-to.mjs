// Direct reply-to: the pseudo-queue amq.rabbitmq.reply-to.
const RT = 'amq.rabbitmq.reply-to';

export default {
  async 'roundtrip'(ctx) {
    const ch = await ctx.channel();
    const q = ctx.q('server');
    await ch.assertQueue(q, { durable: false });
    const replies = await ctx.collect(ch, RT, { noAck: true });
    const requests = [];
    const server = await ctx.channel();
    await server.consume(q, (m) => {
      requests.push({ replyTo: m.properties.replyTo, startsWith: m.properties.replyTo.startsWith(`${RT}.`) });
      server.sendToQueue(m.properties.replyTo, Buffer.from(`re:${m.content}`), { correlationId: m.properties.correlationId });
    }, { noAck: true });
    ch.sendToQueue(q, Buffer.from('ping'), { replyTo: RT, correlationId: 'c1' });
    await ctx.until(() => replies.length >= 1);
    return { replies, requests, tag: replies.tag };
  },

  async 'consume-ok-tag'(ctx) {
    const ch = await ctx.channel();
    return ch.consume(RT, () => {}, { noAck: true });
  },

  async 'publish-without-consumer'(ctx) {
    const ch = await ctx.channel();
    ch.sendToQueue('whatever', Buffer.from('x'), { replyTo: RT });
    await ctx.until(() => ch.events.length >= 2, 1000);
    return ch.events;
  },

  async 'consume-with-ack-mode'(ctx) {
    const ch = await ctx.channel();
    return { r: await ctx.attempt(ch.consume(RT, () => {}, { noAck: false })), events: ch.events };
  },

  async 'passive-declare'(ctx) {
    const ch = await ctx.channel();
    return ctx.attempt(ch.checkQueue(RT));
  },

  async 'reply-to-stale-token-dropped'(ctx) {
    const ch = await ctx.confirmChannel();
    ch.sendToQueue(`${RT}.bogus-token`, Buffer.from('x'), { mandatory: true });
    const r = await ctx.attempt(ch.waitForConfirms());
    return { r, events: ch.events };
  },

  async 'second-consumer-on-same-channel'(ctx) {
    const ch = await ctx.channel();
    await ch.consume(RT, () => {}, { noAck: true });
    return { r: await ctx.attempt(ch.consume(RT, () => {}, { noAck: true })), events: ch.events };
  },
};
