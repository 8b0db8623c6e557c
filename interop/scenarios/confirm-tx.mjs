// Publisher confirms (sequence numbers, return-before-ack, nacks) and transactions
// (commit/rollback of publishes and acks), plus the rules that keep the two modes apart.
import { summarize } from '../raw-client.mjs';

/** Raw client with channel 1 in confirm mode and a fresh queue. */
async function rawConfirm(ctx, queueArgs = {}) {
  const c = await ctx.rawOpen();
  const q = ctx.q();
  c.sendMethod(1, 'queue.declare', { queue: q, arguments: queueArgs });
  await c.expect('queue.declare-ok');
  c.sendMethod(1, 'confirm.select', {});
  await c.expect('confirm.select-ok');
  return { c, q };
}

/** Confirms received (acks/nacks) until `upTo` is covered; returns per-tag outcome. */
async function confirmsUpTo(c, upTo, frames = []) {
  const outcome = {};
  while (Object.keys(outcome).length < upTo) {
    const ev = await c.next(2000);
    if (ev && (ev.header || ev.body)) continue; // content of a basic.return
    if (!ev || !ev.method) {
      frames.push(summarize(ev));
      break;
    }
    const m = ev.method;
    const tag = m.args['delivery-tag'];
    frames.push({ name: m.name, tag, multiple: m.args.multiple });
    if (m.name !== 'basic.ack' && m.name !== 'basic.nack') continue;
    const kind = m.name === 'basic.ack' ? 'ack' : 'nack';
    if (m.args.multiple) {
      for (let t = 1; t <= tag; t++) if (!outcome[t]) outcome[t] = kind;
    } else outcome[tag] = kind;
  }
  return outcome;
}

async function rawTx(ctx) {
  const c = await ctx.rawOpen();
  const q = ctx.q();
  c.sendMethod(1, 'queue.declare', { queue: q });
  await c.expect('queue.declare-ok');
  c.sendMethod(1, 'tx.select', {});
  await c.expect('tx.select-ok');
  return { c, q };
}

async function count(c, q) {
  c.sendMethod(1, 'queue.declare', { queue: q, passive: true });
  return (await c.expect('queue.declare-ok'))['message-count'];
}

export default {
  async 'select-ok'(ctx) {
    const c = await ctx.rawOpen();
    c.sendMethod(1, 'confirm.select', {});
    c.sendMethod(1, 'confirm.select', {}); // idempotent
    return [summarize(await c.next()), summarize(await c.next())];
  },

  async 'select-nowait'(ctx) {
    const c = await ctx.rawOpen();
    c.sendMethod(1, 'confirm.select', { nowait: true });
    c.sendMethod(1, 'basic.qos', { 'prefetch-count': 1 });
    return summarize(await c.next());
  },

  async 'sequence-numbers-cover-all-publishes'(ctx) {
    const { c, q } = await rawConfirm(ctx);
    for (let i = 0; i < 20; i++) c.publish(1, '', q, `m${i}`);
    return confirmsUpTo(c, 20);
  },

  async 'unroutable-is-acked'(ctx) {
    const { c } = await rawConfirm(ctx);
    c.publish(1, '', ctx.q('absent'), 'x');
    return summarize(await c.next());
  },

  async 'return-before-ack-raw'(ctx) {
    const { c } = await rawConfirm(ctx);
    c.publish(1, '', ctx.q('absent'), 'bounce', {}, { mandatory: true });
    return [summarize(await c.next()), summarize(await c.next()), summarize(await c.next()), summarize(await c.next())];
  },

  async 'return-then-ack-mixed-with-routed'(ctx) {
    const { c, q } = await rawConfirm(ctx);
    c.publish(1, '', q, 'a', {}, { mandatory: true });
    c.publish(1, '', ctx.q('absent'), 'b', {}, { mandatory: true });
    c.publish(1, '', q, 'c', {}, { mandatory: true });
    const frames = [];
    const outcome = await confirmsUpTo(c, 3, frames);
    // Only order matters (acks may be coalesced): the return precedes the confirm of tag 2.
    const returnAt = frames.findIndex((f) => f.name === 'basic.return');
    const confirm2At = frames.findIndex((f) => f.name === 'basic.ack' && (f.tag === 2 || (f.multiple && f.tag >= 2)));
    return { outcome, returnBeforeConfirmOfTag2: returnAt >= 0 && returnAt < confirm2At };
  },

  async 'confirm-publish-to-absent-exchange'(ctx) {
    const { c } = await rawConfirm(ctx);
    c.publish(1, ctx.x('absent'), 'k', 'x');
    return summarize(await c.next());
  },

  async 'confirm-multiple-queues-one-ack'(ctx) {
    const { c, q } = await rawConfirm(ctx);
    const q2 = ctx.q('second');
    c.sendMethod(1, 'queue.declare', { queue: q2 });
    await c.expect('queue.declare-ok');
    c.publish(1, '', q, 'x', { headers: { CC: [q2] } });
    const out = await confirmsUpTo(c, 1);
    return { out, extra: (await c.collect(100)).map((e) => summarize(e)) };
  },

  async 'reject-publish-overflow-nacks'(ctx) {
    const { c, q } = await rawConfirm(ctx, { 'x-max-length': 2, 'x-overflow': 'reject-publish' });
    for (let i = 0; i < 4; i++) c.publish(1, '', q, `m${i}`);
    const outcome = await confirmsUpTo(c, 4);
    return { outcome, count: await count(c, q) };
  },

  async 'amqplib-wait-for-confirms'(ctx) {
    const ch = await ctx.confirmChannel();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    const results = [];
    for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from(`m${i}`), {}, (err) => results.push(err ? 'nack' : 'ack'));
    await ch.waitForConfirms();
    return results;
  },

  async 'confirm-on-tx-channel'(ctx) {
    const ch = await ctx.channel();
    await ch.assertQueue('', { exclusive: true });
    const c = await ctx.rawOpen();
    c.sendMethod(1, 'tx.select', {});
    await c.expect('tx.select-ok');
    c.sendMethod(1, 'confirm.select', {});
    return summarize(await c.next());
  },

  async 'tx-on-confirm-channel'(ctx) {
    const c = await ctx.rawOpen();
    c.sendMethod(1, 'confirm.select', {});
    await c.expect('confirm.select-ok');
    c.sendMethod(1, 'tx.select', {});
    return summarize(await c.next());
  },

  async 'tx-commit-publishes'(ctx) {
    const { c, q } = await rawTx(ctx);
    c.publish(1, '', q, 'a');
    c.publish(1, '', q, 'b');
    const before = await count(c, q);
    c.sendMethod(1, 'tx.commit', {});
    await c.expect('tx.commit-ok');
    return { before, after: await count(c, q) };
  },

  async 'tx-rollback-publishes'(ctx) {
    const { c, q } = await rawTx(ctx);
    c.publish(1, '', q, 'a');
    c.sendMethod(1, 'tx.rollback', {});
    await c.expect('tx.rollback-ok');
    c.sendMethod(1, 'tx.commit', {});
    await c.expect('tx.commit-ok');
    return count(c, q);
  },

  async 'tx-commit-acks'(ctx) {
    const { c, q } = await rawTx(ctx);
    c.publish(1, '', q, 'a');
    c.publish(1, '', q, 'b');
    c.sendMethod(1, 'tx.commit', {});
    await c.expect('tx.commit-ok');
    c.sendMethod(1, 'basic.get', { queue: q });
    const g = await c.expect('basic.get-ok');
    await c.next();
    await c.next();
    c.sendMethod(1, 'basic.ack', { 'delivery-tag': g['delivery-tag'] });
    c.sendMethod(1, 'tx.commit', {});
    await c.expect('tx.commit-ok');
    // Closing the channel would requeue anything unacked; after the commit only 'b' stays.
    c.sendMethod(1, 'channel.close', { 'reply-code': 200, 'reply-text': '', 'class-id': 0, 'method-id': 0 });
    await c.expect('channel.close-ok');
    await c.openChannel(1);
    return count(c, q);
  },

  async 'tx-rollback-acks'(ctx) {
    const { c, q } = await rawTx(ctx);
    c.publish(1, '', q, 'a');
    c.sendMethod(1, 'tx.commit', {});
    await c.expect('tx.commit-ok');
    c.sendMethod(1, 'basic.get', { queue: q });
    const g = await c.expect('basic.get-ok');
    await c.next();
    await c.next();
    c.sendMethod(1, 'basic.ack', { 'delivery-tag': g['delivery-tag'] });
    c.sendMethod(1, 'tx.rollback', {});
    await c.expect('tx.rollback-ok');
    c.sendMethod(1, 'channel.close', { 'reply-code': 200, 'reply-text': '', 'class-id': 0, 'method-id': 0 });
    await c.expect('channel.close-ok');
    await c.openChannel(1);
    c.sendMethod(1, 'basic.get', { queue: q, 'no-ack': true });
    return summarize(await c.next());
  },

  async 'tx-mandatory-unroutable-returned-at-commit'(ctx) {
    const { c } = await rawTx(ctx);
    c.publish(1, '', ctx.q('absent'), 'bounce', {}, { mandatory: true });
    c.sendMethod(1, 'basic.qos', { 'prefetch-count': 1 });
    const first = summarize(await c.next());
    c.sendMethod(1, 'tx.commit', {});
    return [first, ...(await c.collect(200)).map((e) => summarize(e))];
  },

  async 'tx-commit-without-select'(ctx) {
    const c = await ctx.rawOpen();
    c.sendMethod(1, 'tx.commit', {});
    return summarize(await c.next());
  },

  async 'tx-rollback-without-select'(ctx) {
    const c = await ctx.rawOpen();
    c.sendMethod(1, 'tx.rollback', {});
    return summarize(await c.next());
  },

  async 'tx-channel-close-discards-uncommitted'(ctx) {
    const { c, q } = await rawTx(ctx);
    c.publish(1, '', q, 'a');
    c.sendMethod(1, 'channel.close', { 'reply-code': 200, 'reply-text': '', 'class-id': 0, 'method-id': 0 });
    await c.expect('channel.close-ok');
    await c.openChannel(1);
    return count(c, q);
  },

  async 'tx-publish-to-absent-exchange'(ctx) {
    const { c } = await rawTx(ctx);
    c.publish(1, ctx.x('absent'), 'k', 'x');
    c.sendMethod(1, 'tx.commit', {});
    return summarize(await c.next());
  },
};
