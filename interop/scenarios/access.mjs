// Access control: the permission checks of each AMQP operation (configure / write / read, topic
// permissions, user-id), the order of 403 against 404 and the default-exchange refusal, and the
// user max-channels and vhost max-queues limits. Users, vhosts, permissions and limits are set up
// per scenario through access-admin.mjs (rabbitmqctl on RabbitMQ, the broker object on warren).
//
// Names: `c-` resources are configurable, `w-` writable, `r-` readable for user `u`
// (patterns `^<P>c-`, `^<P>w-`, `^<P>r-`); user `any` may configure everything.
import { setUpAccess } from '../access-admin.mjs';
import { summarize } from '../raw-client.mjs';

const PERMS = ['^<P>c-', '^<P>w-', '^<P>r-'];
const ANY_CONFIGURE = ['.*', '^<P>w-', '^<P>r-'];

/** Each step on a fresh channel of `conn`; a step's result is `{ ok }` or `{ error }` (the channel's close). */
async function steps(ctx, conn, list) {
  const out = {};
  for (const [label, fn] of list) {
    const ch = await ctx.channel(conn);
    out[label] = await ctx.attempt(() => fn(ch));
  }
  return out;
}

/** Publish, then a round trip that needs no permission: a refusal of the publish surfaces as its error. */
async function publish(ch, exchange, key, opts = {}) {
  ch.publish(exchange, key, Buffer.from('m'), opts);
  await ch.checkExchange('amq.direct');
  return 'published';
}

/** guest, in the scenario's vhost, to create what the user then works on. */
async function guestIn(ctx, vhost) {
  return ctx.channel(await ctx.amqp({ url: `amqp://guest:guest@${ctx.host}:${ctx.port}/${encodeURIComponent(vhost)}` }));
}

const declared = (r) => (r && typeof r === 'object' && 'queue' in r ? { queue: r.queue, messageCount: r.messageCount } : r);

export const options = Object.fromEntries(
  ['exchange-declare', 'exchange-delete', 'queue-declare', 'queue-delete-purge', 'queue-bind', 'exchange-bind', 'consume-get', 'publish', 'topic', 'user-id', 'max-channels', 'max-channels-raw', 'max-queues', 'vhost-without-permissions', 'delete-user-closes', 'delete-vhost-closes'].map((n) => [n, { timeout: 60000 }]),
);

export default {
  async 'exchange-declare'(ctx) {
    const { users } = await setUpAccess(ctx, { users: { u: { perms: PERMS }, any: { perms: ANY_CONFIGURE } } });
    const admin = await ctx.channel();
    const passive = ctx.x('w-passive');
    await admin.assertExchange(passive, 'direct', { durable: false });
    const existingWithAe = ctx.x('c-ae-exists');
    await admin.assertExchange(existingWithAe, 'direct', { durable: false, alternateExchange: ctx.name('c-other') });
    const u = await steps(ctx, await ctx.amqp({ url: users.u.url }), [
      ['allowed', (ch) => ch.assertExchange(ctx.x('c-x'), 'direct', { durable: false })],
      ['refused', (ch) => ch.assertExchange(ctx.x('w-x'), 'direct', { durable: false })],
      ['predeclared-amq-direct', (ch) => ch.assertExchange('amq.direct', 'direct')],
      ['new-amq-name', (ch) => ch.assertExchange(`amq.${ctx.name('n')}`, 'direct', { durable: false })],
      ['default-exchange', (ch) => ch.assertExchange('', 'direct')],
      ['passive-without-permission', (ch) => ch.checkExchange(passive)],
      ['passive-missing', (ch) => ch.checkExchange(ctx.name('w-nope'))],
    ]);
    const any = await steps(ctx, await ctx.amqp({ url: users.any.url }), [
      ['new-amq-name', (ch) => ch.assertExchange(`amq.${ctx.name('n')}`, 'direct', { durable: false })],
      ['ae-allowed', (ch) => ch.assertExchange(ctx.x('r-ae1'), 'direct', { durable: false, alternateExchange: ctx.name('w-ae') })],
      ['ae-without-write-on-ae', (ch) => ch.assertExchange(ctx.x('r-ae2'), 'direct', { durable: false, alternateExchange: ctx.name('c-ae') })],
      ['ae-without-read-on-new', (ch) => ch.assertExchange(ctx.x('c-ae3'), 'direct', { durable: false, alternateExchange: ctx.name('w-ae') })],
      ['existing-with-ae', (ch) => ch.assertExchange(existingWithAe, 'direct', { durable: false, alternateExchange: ctx.name('c-other') })],
    ]);
    return { u, any };
  },

  async 'exchange-delete'(ctx) {
    const { users } = await setUpAccess(ctx, { users: { u: { perms: PERMS } } });
    const admin = await ctx.channel();
    const mine = ctx.x('c-del');
    const theirs = ctx.x('w-del');
    for (const x of [mine, theirs]) await admin.assertExchange(x, 'direct', { durable: false });
    const u = await steps(ctx, await ctx.amqp({ url: users.u.url }), [
      ['allowed', (ch) => ch.deleteExchange(mine)],
      ['refused', (ch) => ch.deleteExchange(theirs)],
      ['refused-missing', (ch) => ch.deleteExchange(ctx.name('w-never'))],
      ['system-exchange', (ch) => ch.deleteExchange('amq.direct')],
      ['default-exchange', (ch) => ch.deleteExchange('')],
    ]);
    const after = await ctx.attempt(admin.checkExchange(mine));
    return { u, deletedGone: after };
  },

  async 'queue-declare'(ctx) {
    const { users } = await setUpAccess(ctx, { users: { u: { perms: PERMS }, any: { perms: ANY_CONFIGURE }, gen: { perms: ['^amq\\.gen-', '', ''] } } });
    const admin = await ctx.channel();
    const existing = ctx.q('w-existing');
    await admin.assertQueue(existing, { durable: false });
    const existingDlx = ctx.q('c-dlq4');
    await admin.assertQueue(existingDlx, { durable: false, deadLetterExchange: ctx.name('c-dlx') });
    const u = await steps(ctx, await ctx.amqp({ url: users.u.url }), [
      ['allowed', async (ch) => declared(await ch.assertQueue(ctx.q('c-q'), { durable: false }))],
      ['refused', (ch) => ch.assertQueue(ctx.q('w-q'), { durable: false })],
      ['existing-refused', (ch) => ch.assertQueue(existing, { durable: false })],
      ['server-named-refused', (ch) => ch.assertQueue('', { exclusive: true })],
      ['amq-name', (ch) => ch.assertQueue('amq.mine', { durable: false })],
      ['passive-without-permission', async (ch) => declared(await ch.checkQueue(existing))],
      ['passive-missing', (ch) => ch.checkQueue(ctx.name('w-nope'))],
    ]);
    const gen = await steps(ctx, await ctx.amqp({ url: users.gen.url }), [
      ['server-named-allowed', async (ch) => /^amq\.gen-/.test((await ch.assertQueue('', { exclusive: true })).queue)],
    ]);
    const any = await steps(ctx, await ctx.amqp({ url: users.any.url }), [
      ['dlx-allowed', async (ch) => declared(await ch.assertQueue(ctx.q('r-dlq1'), { durable: false, deadLetterExchange: ctx.name('w-dlx') }))],
      ['dlx-without-write-on-dlx', (ch) => ch.assertQueue(ctx.q('r-dlq2'), { durable: false, deadLetterExchange: ctx.name('c-dlx') })],
      ['dlx-without-read-on-queue', (ch) => ch.assertQueue(ctx.q('c-dlq3'), { durable: false, deadLetterExchange: ctx.name('w-dlx') })],
      ['existing-with-dlx', async (ch) => declared(await ch.assertQueue(existingDlx, { durable: false, deadLetterExchange: ctx.name('c-dlx') }))],
    ]);
    return { u, gen, any };
  },

  async 'queue-delete-purge'(ctx) {
    const { users } = await setUpAccess(ctx, { users: { u: { perms: PERMS } } });
    const admin = await ctx.confirmChannel();
    const [cdel, rdel, rpurge, cpurge] = [ctx.q('c-qdel'), ctx.q('r-qdel'), ctx.q('r-purge'), ctx.q('c-purge')];
    for (const q of [cdel, rdel, rpurge, cpurge]) await admin.assertQueue(q, { durable: false });
    admin.sendToQueue(cpurge, Buffer.from('keep'));
    admin.sendToQueue(rpurge, Buffer.from('drop'));
    await admin.waitForConfirms();
    const u = await steps(ctx, await ctx.amqp({ url: users.u.url }), [
      ['delete-allowed', (ch) => ch.deleteQueue(cdel)],
      ['delete-refused', (ch) => ch.deleteQueue(rdel)],
      ['delete-missing-refused', (ch) => ch.deleteQueue(ctx.name('w-nothing'))],
      ['purge-allowed', (ch) => ch.purgeQueue(rpurge)],
      ['purge-refused', (ch) => ch.purgeQueue(cpurge)],
      ['purge-missing-refused', (ch) => ch.purgeQueue(ctx.name('w-missing'))],
      ['purge-missing-readable', (ch) => ch.purgeQueue(ctx.name('r-missing'))],
    ]);
    return { u, kept: declared(await admin.checkQueue(cpurge)), notDeleted: declared(await admin.checkQueue(rdel)) };
  },

  async 'queue-bind'(ctx) {
    const { users } = await setUpAccess(ctx, { users: { u: { perms: PERMS } } });
    const admin = await ctx.channel();
    const [wq, cq] = [ctx.q('w-bq'), ctx.q('c-bq')];
    const [rx, cx] = [ctx.x('r-bx'), ctx.x('c-bx')];
    for (const q of [wq, cq]) await admin.assertQueue(q, { durable: false });
    for (const x of [rx, cx]) await admin.assertExchange(x, 'direct', { durable: false });
    const u = await steps(ctx, await ctx.amqp({ url: users.u.url }), [
      ['bind-allowed', (ch) => ch.bindQueue(wq, rx, 'k')],
      ['unbind-allowed', (ch) => ch.unbindQueue(wq, rx, 'k')],
      ['bind-no-write-on-queue', (ch) => ch.bindQueue(cq, rx, 'k')],
      ['bind-no-read-on-exchange', (ch) => ch.bindQueue(wq, cx, 'k')],
      ['unbind-no-write-on-queue', (ch) => ch.unbindQueue(cq, rx, 'k')],
      ['unbind-no-read-on-exchange', (ch) => ch.unbindQueue(wq, cx, 'k')],
      ['default-exchange-no-write', (ch) => ch.bindQueue(cq, '', 'k')],
      ['default-exchange-write', (ch) => ch.bindQueue(wq, '', 'k')],
      ['missing-exchange-no-read', (ch) => ch.bindQueue(wq, ctx.name('c-nowhere'), 'k')],
      ['missing-exchange-readable', (ch) => ch.bindQueue(wq, ctx.name('r-nowhere'), 'k')],
      ['missing-queue-writable', (ch) => ch.bindQueue(ctx.name('w-noqueue'), rx, 'k')],
    ]);
    return { u };
  },

  async 'exchange-bind'(ctx) {
    const { users } = await setUpAccess(ctx, { users: { u: { perms: PERMS } } });
    const admin = await ctx.channel();
    const [dst, src, other] = [ctx.x('w-dst'), ctx.x('r-src'), ctx.x('c-other')];
    for (const x of [dst, src, other]) await admin.assertExchange(x, 'direct', { durable: false });
    const u = await steps(ctx, await ctx.amqp({ url: users.u.url }), [
      ['bind-allowed', (ch) => ch.bindExchange(dst, src, 'k')],
      ['unbind-allowed', (ch) => ch.unbindExchange(dst, src, 'k')],
      ['no-write-on-destination', (ch) => ch.bindExchange(other, src, 'k')],
      ['no-read-on-source', (ch) => ch.bindExchange(dst, other, 'k')],
      ['unbind-no-read-on-source', (ch) => ch.unbindExchange(dst, other, 'k')],
      ['default-as-destination', (ch) => ch.bindExchange('', src, 'k')],
    ]);
    return { u };
  },

  async 'consume-get'(ctx) {
    const { users } = await setUpAccess(ctx, { users: { u: { perms: PERMS } } });
    const admin = await ctx.confirmChannel();
    const [rq, wq] = [ctx.q('r-cq'), ctx.q('w-cq')];
    for (const q of [rq, wq]) await admin.assertQueue(q, { durable: false });
    admin.sendToQueue(rq, Buffer.from('hello'));
    await admin.waitForConfirms();
    const u = await steps(ctx, await ctx.amqp({ url: users.u.url }), [
      ['get-allowed', async (ch) => ctx.msg(await ch.get(rq, { noAck: true }))],
      ['consume-allowed', async (ch) => { const ok = await ch.consume(rq, () => {}, { noAck: true }); await ch.cancel(ok.consumerTag); return 'consumed'; }],
      ['consume-refused', (ch) => ch.consume(wq, () => {})],
      ['get-refused', (ch) => ch.get(wq)],
      ['get-missing-refused', (ch) => ch.get(ctx.name('w-missing'))],
      ['get-missing-readable', (ch) => ch.get(ctx.name('r-missing'))],
      ['consume-reply-to', async (ch) => { await ch.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true }); return 'consumed'; }],
    ]);
    return { u };
  },

  async publish(ctx) {
    const { users } = await setUpAccess(ctx, { users: { u: { perms: PERMS }, def: { perms: ['', '^amq\\.default$', ''] } } });
    const admin = await ctx.channel();
    const [wx, cx] = [ctx.x('w-px'), ctx.x('c-px')];
    for (const x of [wx, cx]) await admin.assertExchange(x, 'fanout', { durable: false });
    const q = ctx.q('r-pq');
    await admin.assertQueue(q, { durable: false });
    await admin.bindQueue(q, wx, '');
    const uConn = await ctx.amqp({ url: users.u.url });
    const u = await steps(ctx, uConn, [
      ['allowed', (ch) => publish(ch, wx, 'k')],
      ['refused', (ch) => publish(ch, cx, 'k')],
      ['default-exchange-refused', (ch) => publish(ch, '', q)],
      ['missing-exchange-not-writable', (ch) => publish(ch, ctx.name('c-nowhere'), 'k')],
      ['missing-exchange-writable', (ch) => publish(ch, ctx.name('w-nowhere'), 'k')],
    ]);
    const cc = await ctx.confirmChannel(uConn);
    cc.publish(cx, 'k', Buffer.from('x'));
    const confirmed = await ctx.attempt(cc.waitForConfirms());
    await ctx.until(() => cc.events.length > 0);
    const def = await steps(ctx, await ctx.amqp({ url: users.def.url }), [['default-exchange-allowed', (ch) => publish(ch, '', q)]]);
    return { u, confirmMode: { confirmed: 'error' in confirmed, events: cc.events }, def, queued: declared(await admin.checkQueue(q)) };
  },

  async topic(ctx) {
    const { vhost, users } = await setUpAccess(ctx, {
      vhost: true,
      users: { tu: { perms: ['.*', '.*', '.*'], topics: { 'amq.topic': ['^{username}\\.', '^{vhost}\\.'] } } },
    });
    const admin = await guestIn(ctx, vhost);
    const q = ctx.name('tq');
    await admin.assertQueue(q, { durable: false });
    await admin.bindQueue(q, 'amq.topic', '#');
    const free = ctx.name('t-free');
    await admin.assertExchange(free, 'topic', { durable: false });
    const dst = ctx.name('t-dst');
    await admin.assertExchange(dst, 'topic', { durable: false });
    const tu = await steps(ctx, await ctx.amqp({ url: users.tu.url }), [
      ['publish-own-prefix', (ch) => publish(ch, 'amq.topic', `${users.tu.name}.orders`)],
      ['publish-other-prefix', (ch) => publish(ch, 'amq.topic', 'other.orders')],
      ['bind-vhost-prefix', (ch) => ch.bindQueue(q, 'amq.topic', `${vhost}.news`)],
      ['unbind-vhost-prefix', (ch) => ch.unbindQueue(q, 'amq.topic', `${vhost}.news`)],
      ['bind-other-prefix', (ch) => ch.bindQueue(q, 'amq.topic', 'elsewhere.news')],
      ['unbind-other-prefix', (ch) => ch.unbindQueue(q, 'amq.topic', 'elsewhere.news')],
      ['exchange-bind-vhost-prefix', (ch) => ch.bindExchange(dst, 'amq.topic', `${vhost}.a`)],
      ['exchange-bind-other-prefix', (ch) => ch.bindExchange(dst, 'amq.topic', 'zzz')],
      ['no-topic-permission-on-exchange', (ch) => publish(ch, free, 'anything.at.all')],
      ['not-a-topic-exchange', (ch) => publish(ch, 'amq.direct', 'other.orders')],
    ]);
    return { tu, queued: declared(await admin.checkQueue(q)) };
  },

  async 'user-id'(ctx) {
    const { users } = await setUpAccess(ctx, { users: { plain: { perms: ['.*', '.*', '.*'] }, imp: { perms: ['.*', '.*', '.*'], tags: ['impersonator'] } } });
    const admin = await ctx.channel();
    const q = ctx.q('uid');
    await admin.assertQueue(q, { durable: false });
    const plain = await steps(ctx, await ctx.amqp({ url: users.plain.url }), [
      ['own-user-id', (ch) => publish(ch, '', q, { userId: users.plain.name })],
      ['other-user-id', (ch) => publish(ch, '', q, { userId: 'someone' })],
    ]);
    const imp = await steps(ctx, await ctx.amqp({ url: users.imp.url }), [['impersonated', (ch) => publish(ch, '', q, { userId: 'someone-else' })]]);
    const got = [ctx.msg(await admin.get(q, { noAck: true })), ctx.msg(await admin.get(q, { noAck: true })), await admin.get(q)];
    return { plain, imp, got };
  },

  async 'max-channels'(ctx) {
    const { users } = await setUpAccess(ctx, { users: { lc: { perms: ['.*', '.*', '.*'], limits: { 'max-channels': 2 } } } });
    const conn = await ctx.amqp({ url: users.lc.url });
    const c1 = await ctx.channel(conn);
    await ctx.channel(conn);
    await c1.close();
    // RabbitMQ counts a channel until its process has exited, a moment after close-ok: reopening
    // at once sometimes met the limit there (a race in the reference, not the behaviour compared).
    await ctx.sleep(250);
    const reopened = await ctx.attempt(async () => { await ctx.channel(conn); return 'opened'; });
    const third = await ctx.attempt(async () => { await ctx.channel(conn); return 'opened'; });
    await ctx.until(() => conn.events.length > 0);
    return { reopened, third: 'error' in third ? 'refused' : third, events: conn.events };
  },

  /** The close frame itself: 530, class and method 0 (not channel.open), then the socket closes. */
  async 'max-channels-raw'(ctx) {
    const { users } = await setUpAccess(ctx, { users: { lc: { perms: ['.*', '.*', '.*'], limits: { 'max-channels': 1 } } } });
    const c = await ctx.raw();
    await c.handshake({ user: users.lc.name, pass: users.lc.password });
    await c.openChannel(1);
    c.sendMethod(2, 'channel.open', {});
    const first = summarize(await c.next());
    c.sendMethod(0, 'connection.close-ok', {});
    return { first, then: summarize(await c.next(2000)) };
  },

  async 'max-queues'(ctx) {
    const { vhost, users } = await setUpAccess(ctx, { vhost: true, vhostLimits: { 'max-queues': 2 }, users: { lq: { perms: ['.*', '.*', '.*'] } } });
    const conn = await ctx.amqp({ url: users.lq.url });
    const [a, b, c] = [ctx.name('lq-1'), ctx.name('lq-2'), ctx.name('lq-3')];
    const lq = await steps(ctx, conn, [
      ['first', async (ch) => declared(await ch.assertQueue(a, { durable: false }))],
      ['second', async (ch) => declared(await ch.assertQueue(b, { durable: false }))],
      ['redeclare-at-limit', async (ch) => declared(await ch.assertQueue(a, { durable: false }))],
      ['passive-at-limit', async (ch) => declared(await ch.checkQueue(b))],
      ['third', (ch) => ch.assertQueue(c, { durable: false })],
      ['server-named', (ch) => ch.assertQueue('', { exclusive: true })],
      ['delete-one', (ch) => ch.deleteQueue(b)],
      ['third-after-delete', async (ch) => declared(await ch.assertQueue(c, { durable: false }))],
    ]);
    return { vhost: vhost === ctx.name('vh'), lq };
  },

  async 'vhost-without-permissions'(ctx) {
    const { vhost, users } = await setUpAccess(ctx, { vhost: true, users: { nobody: {} } });
    const c = await ctx.raw();
    const raw = await ctx.attempt(c.handshake({ user: users.nobody.name, pass: users.nobody.password, vhost }));
    return { amqplib: await ctx.attempt(ctx.amqp({ url: users.nobody.url })), raw };
  },

  /** Deleting a user closes its connections: 320 CONNECTION_FORCED naming the user. */
  async 'delete-user-closes'(ctx) {
    const { users } = await setUpAccess(ctx, { users: { gone: { perms: ['.*', '.*', '.*'] } } });
    const conn = await ctx.amqp({ url: users.gone.url });
    await ctx.channel(conn);
    await ctx.admin.run([[['delete_user', users.gone.name]]]);
    await ctx.until(() => conn.events.some((e) => e.event === 'close'));
    const after = await ctx.attempt(ctx.amqp({ url: users.gone.url }));
    // Back, so the scenario's clean-up finds what it made.
    await ctx.admin.run([[['add_user', users.gone.name, users.gone.password]]]);
    return { events: conn.events, loginAfter: 'error' in after ? 'refused' : 'ok' };
  },

  /** Deleting a vhost closes its connections: 320 CONNECTION_FORCED naming the vhost; it is gone. */
  async 'delete-vhost-closes'(ctx) {
    const { vhost, users } = await setUpAccess(ctx, { vhost: true, users: { vu: { perms: ['.*', '.*', '.*'] } } });
    const conn = await ctx.amqp({ url: users.vu.url });
    const ch = await ctx.channel(conn);
    await ch.assertQueue(ctx.q('in-vhost'), { durable: true });
    await ctx.admin.run([[['delete_vhost', vhost]]]);
    await ctx.until(() => conn.events.some((e) => e.event === 'close'));
    const after = await ctx.attempt(ctx.amqp({ url: users.vu.url }));
    await ctx.admin.run([[['add_vhost', vhost]]]);
    return { events: conn.events, openAfter: after };
  },
};
