// Exchanges: declaration rules and errors, the four routing algorithms (with the topic and
// headers edge cases), exchange-to-exchange bindings, internal, auto-delete, alternate
// exchanges and the predeclared `amq.` exchanges.

/**
 * Declares exchange `type` with args, one queue per binding, publishes `messages`
 * ([routingKey, body?, headers?]) through a confirm channel and reports each queue's bodies.
 */
async function route(ctx, type, bindings, messages, { xargs = {}, bindArgs } = {}) {
  const ch = await ctx.confirmChannel();
  const x = ctx.x(type);
  await ch.assertExchange(x, type, { durable: false, autoDelete: false, arguments: xargs });
  const queues = [];
  for (let i = 0; i < bindings.length; i++) {
    const q = ctx.q(`q${i}`);
    await ch.assertQueue(q, { durable: false });
    const b = bindings[i];
    if (Array.isArray(b)) for (const k of b) await ch.bindQueue(q, x, k);
    else if (typeof b === 'object') await ch.bindQueue(q, x, '', b);
    else await ch.bindQueue(q, x, b, bindArgs);
    queues.push(q);
  }
  for (const m of messages) {
    const [key, body, headers] = Array.isArray(m) ? m : [m];
    ch.publish(x, key, Buffer.from(body ?? (key === '' ? '<empty>' : key)), headers ? { headers } : {});
  }
  await ch.waitForConfirms();
  const out = {};
  for (let i = 0; i < queues.length; i++) {
    const b = bindings[i];
    const label = typeof b === 'string' ? `${i}:${b}` : `${i}:${JSON.stringify(b)}`;
    out[label] = await ctx.drain(ch, queues[i]);
  }
  return out;
}

/** Topic patterns against routing keys: for each pattern, the keys it matched. */
const topic = (patterns, keys) => (ctx) => route(ctx, 'topic', patterns, keys);

/** Declare, then redeclare with other options; report both outcomes and channel events. */
async function redeclare(ctx, type1, opts1, type2, opts2) {
  const ch = await ctx.channel();
  const x = ctx.x();
  const first = await ctx.attempt(ch.assertExchange(x, type1, opts1));
  const second = await ctx.attempt(ch.assertExchange(x, type2, opts2));
  return { first, second, events: ch.events };
}

async function declareError(ctx, name, type = 'direct', opts = {}) {
  const ch = await ctx.channel();
  const r = await ctx.attempt(ch.assertExchange(name, type, opts));
  return { r, events: ch.events };
}

export default {
  async 'declare-each-type'(ctx) {
    const ch = await ctx.channel();
    const out = {};
    for (const t of ['direct', 'fanout', 'topic', 'headers']) out[t] = await ch.assertExchange(ctx.x(t), t, { durable: false });
    return out;
  },

  async 'declare-durable-and-redeclare-same'(ctx) {
    return redeclare(ctx, 'topic', { durable: true }, 'topic', { durable: true });
  },

  async 'redeclare-different-type'(ctx) {
    return redeclare(ctx, 'direct', { durable: false }, 'fanout', { durable: false });
  },

  async 'redeclare-different-durable'(ctx) {
    return redeclare(ctx, 'direct', { durable: false }, 'direct', { durable: true });
  },

  async 'redeclare-different-auto-delete'(ctx) {
    return redeclare(ctx, 'direct', { durable: false }, 'direct', { durable: false, autoDelete: true });
  },

  async 'redeclare-different-internal'(ctx) {
    return redeclare(ctx, 'direct', { durable: false }, 'direct', { durable: false, internal: true });
  },

  async 'redeclare-different-alternate-exchange'(ctx) {
    return redeclare(ctx, 'direct', { durable: false, alternateExchange: 'ae1' }, 'direct', { durable: false, alternateExchange: 'ae2' });
  },

  async 'redeclare-different-other-arguments'(ctx) {
    return redeclare(ctx, 'direct', { durable: false, arguments: { 'x-foo': 1 } }, 'direct', { durable: false, arguments: { 'x-foo': 2 } });
  },

  async 'declare-unknown-type'(ctx) {
    return declareError(ctx, ctx.x(), 'x-no-such-type');
  },

  async 'declare-amq-prefix'(ctx) {
    return declareError(ctx, `amq.${ctx.name('x')}`);
  },

  async 'declare-amq-direct-redeclare'(ctx) {
    return declareError(ctx, 'amq.direct', 'direct', { durable: true });
  },

  async 'declare-default-exchange-name'(ctx) {
    return declareError(ctx, '', 'direct', { durable: true });
  },

  async 'passive-declare-absent'(ctx) {
    const ch = await ctx.channel();
    return { r: await ctx.attempt(ch.checkExchange(ctx.x('absent'))), events: ch.events };
  },

  async 'passive-declare-present'(ctx) {
    const ch = await ctx.channel();
    const x = ctx.x();
    await ch.assertExchange(x, 'fanout', { durable: false });
    return ctx.attempt(ch.checkExchange(x));
  },

  async 'passive-declare-predeclared'(ctx) {
    const ch = await ctx.channel();
    const out = {};
    for (const x of ['amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.match', 'amq.rabbitmq.trace', '']) {
      out[x || '(default)'] = await ctx.attempt(ch.checkExchange(x));
    }
    return out;
  },

  async 'delete-absent'(ctx) {
    const ch = await ctx.channel();
    return ctx.attempt(ch.deleteExchange(ctx.x('absent')));
  },

  async 'delete-amq-direct'(ctx) {
    const ch = await ctx.channel();
    return { r: await ctx.attempt(ch.deleteExchange('amq.direct')), events: ch.events };
  },

  async 'delete-default-exchange'(ctx) {
    const ch = await ctx.channel();
    return { r: await ctx.attempt(ch.deleteExchange('')), events: ch.events };
  },

  async 'delete-if-unused-with-binding'(ctx) {
    const ch = await ctx.channel();
    const x = ctx.x();
    const q = ctx.q();
    await ch.assertExchange(x, 'direct', { durable: false });
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, x, 'k');
    return { r: await ctx.attempt(ch.deleteExchange(x, { ifUnused: true })), events: ch.events };
  },

  async 'delete-if-unused-as-binding-destination-only'(ctx) {
    // An exchange that is only the destination of an e2e binding counts as unused.
    const ch = await ctx.channel();
    const src = ctx.x('src');
    const dst = ctx.x('dst');
    await ch.assertExchange(src, 'direct', { durable: false });
    await ch.assertExchange(dst, 'direct', { durable: false });
    await ch.bindExchange(dst, src, 'k');
    return { r: await ctx.attempt(ch.deleteExchange(dst, { ifUnused: true })), events: ch.events };
  },

  async 'delete-if-unused-without-binding'(ctx) {
    const ch = await ctx.channel();
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false });
    const r = await ctx.attempt(ch.deleteExchange(x, { ifUnused: true }));
    return { r, after: await ctx.attempt(ch.checkExchange(x)) };
  },

  async 'delete-removes-bindings'(ctx) {
    const ch = await ctx.confirmChannel();
    const x = ctx.x();
    const q = ctx.q();
    await ch.assertExchange(x, 'direct', { durable: false });
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, x, 'k');
    await ch.deleteExchange(x);
    await ch.assertExchange(x, 'direct', { durable: false });
    ch.publish(x, 'k', Buffer.from('after-redeclare'));
    await ch.waitForConfirms();
    return ctx.drain(ch, q);
  },

  async 'bind-queue-to-default-exchange'(ctx) {
    const ch = await ctx.channel();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    return { r: await ctx.attempt(ch.bindQueue(q, '', 'k')), events: ch.events };
  },

  async 'unbind-queue-from-default-exchange'(ctx) {
    const ch = await ctx.channel();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    return { r: await ctx.attempt(ch.unbindQueue(q, '', q)), events: ch.events };
  },

  async 'bind-to-absent-exchange'(ctx) {
    const ch = await ctx.channel();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    return { r: await ctx.attempt(ch.bindQueue(q, ctx.x('absent'), 'k')), events: ch.events };
  },

  async 'bind-absent-queue'(ctx) {
    const ch = await ctx.channel();
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false });
    return { r: await ctx.attempt(ch.bindQueue(ctx.q('absent'), x, 'k')), events: ch.events };
  },

  async 'unbind-nonexistent-binding'(ctx) {
    const ch = await ctx.channel();
    const x = ctx.x();
    const q = ctx.q();
    await ch.assertExchange(x, 'direct', { durable: false });
    await ch.assertQueue(q, { durable: false });
    return { r: await ctx.attempt(ch.unbindQueue(q, x, 'never-bound')), events: ch.events };
  },

  async 'unbind-from-absent-exchange'(ctx) {
    const ch = await ctx.channel();
    const q = ctx.q();
    await ch.assertQueue(q, { durable: false });
    return { r: await ctx.attempt(ch.unbindQueue(q, ctx.x('absent'), 'k')), events: ch.events };
  },

  async 'publish-to-absent-exchange'(ctx) {
    const ch = await ctx.channel();
    ch.publish(ctx.x('absent'), 'k', Buffer.from('x'));
    await ctx.until(() => ch.events.length >= 2, 1000);
    return ch.events;
  },

  async 'direct-routing'(ctx) {
    return route(ctx, 'direct', ['a', 'b', ['a', 'b'], 'A', ''], ['a', 'b', 'c', 'A', '', 'a.b']);
  },

  async 'direct-duplicate-binding-is-idempotent'(ctx) {
    return route(ctx, 'direct', [['k', 'k', 'k']], ['k']);
  },

  async 'fanout-ignores-routing-key'(ctx) {
    return route(ctx, 'fanout', ['', 'ignored', 'other'], ['x', '', 'y.z']);
  },

  'topic-literal-words': topic(['a.b.c', 'a.b', 'a', 'A.B'], ['a.b.c', 'a.b', 'a', 'a.b.c.d', 'A.B', 'b.c']),
  'topic-star': topic(['*', '*.b', 'a.*', '*.*', 'a.*.c'], ['a', 'a.b', 'x.b', 'a.c', 'a.b.c', 'a.x.c', 'a..c', '', 'b']),
  'topic-hash': topic(['#', 'a.#', '#.c', 'a.#.c', '#.b.#'], ['a', 'a.b', 'a.b.c', 'c', 'b', 'x.b.y', 'a.c', '', 'a.x.y.c']),
  'topic-hash-matches-zero-words': topic(['a.#', '#.a', 'a.#.b', '#'], ['a', 'a.b', 'b.a', 'a.x.b', '']),
  'topic-empty-words': topic(['a..b', 'a.*.b', '*.', '.*', '.', '#.', 'a.#.'], ['a..b', 'a.x.b', '.', 'a.', '.a', '..', 'a.b.', '']),
  'topic-hash-hash': topic(['#.#', 'a.#.#', '#.*', '*.#', '#.*.#'], ['', 'a', 'a.b', 'a.b.c', 'b']),
  'topic-star-and-hash-mixed': topic(['*.#.*', '#.*.*', '*.*.#', 'a.*.#', '#.b.*'], ['a', 'a.b', 'a.b.c', 'x.b.y', 'a.b.c.d']),
  'topic-non-ascii-and-case': topic(['ü.*', 'Ä.#', 'a.B'], ['ü.x', 'Ä', 'Ä.y.z', 'a.b', 'a.B']),
  'topic-wildcards-inside-words': topic(['a*.b', 'a#', 'a.b*'], ['a*.b', 'ax.b', 'a#', 'a', 'a.b*', 'a.bc']),
  'topic-empty-pattern': topic([''], ['', 'a', '.']),

  async 'topic-unbind-stops-routing'(ctx) {
    const ch = await ctx.confirmChannel();
    const x = ctx.x();
    const q = ctx.q();
    await ch.assertExchange(x, 'topic', { durable: false });
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, x, 'a.*');
    await ch.bindQueue(q, x, '#');
    await ch.unbindQueue(q, x, '#');
    for (const k of ['a.b', 'c']) ch.publish(x, k, Buffer.from(k));
    await ch.waitForConfirms();
    return ctx.drain(ch, q);
  },

  async 'headers-all'(ctx) {
    return route(ctx, 'headers', [{ 'x-match': 'all', a: 1, b: 'two' }, { a: 1, b: 'two' }], [
      ['', 'both', { a: 1, b: 'two' }],
      ['', 'both-plus-extra', { a: 1, b: 'two', c: 3 }],
      ['', 'only-a', { a: 1 }],
      ['', 'wrong-b', { a: 1, b: 'three' }],
      ['', 'none'],
    ]);
  },

  async 'headers-any'(ctx) {
    return route(ctx, 'headers', [{ 'x-match': 'any', a: 1, b: 'two' }], [
      ['', 'both', { a: 1, b: 'two' }],
      ['', 'only-a', { a: 1 }],
      ['', 'only-b', { b: 'two' }],
      ['', 'wrong', { a: 2, b: 'three' }],
      ['', 'none'],
    ]);
  },

  async 'headers-empty-binding-args'(ctx) {
    return route(ctx, 'headers', [{}, { 'x-match': 'any' }], [
      ['', 'no-headers'],
      ['', 'some-headers', { a: 1 }],
    ]);
  },

  async 'headers-x-prefixed-keys-ignored'(ctx) {
    return route(ctx, 'headers', [{ 'x-match': 'all', 'x-custom': 'v', a: 1 }, { 'x-match': 'any', 'x-custom': 'v' }], [
      ['', 'a-only', { a: 1 }],
      ['', 'a-and-x', { a: 1, 'x-custom': 'v' }],
      ['', 'x-only', { 'x-custom': 'v' }],
    ]);
  },

  async 'headers-all-with-x-and-any-with-x'(ctx) {
    return route(ctx, 'headers', [{ 'x-match': 'all-with-x', 'x-custom': 'v', a: 1 }, { 'x-match': 'any-with-x', 'x-custom': 'v' }], [
      ['', 'a-only', { a: 1 }],
      ['', 'a-and-x', { a: 1, 'x-custom': 'v' }],
      ['', 'x-only', { 'x-custom': 'v' }],
    ]);
  },

  async 'headers-value-types'(ctx) {
    // A binding value matches only a header of equal value; numbers vs strings differ.
    return route(ctx, 'headers', [{ 'x-match': 'all', n: 1 }, { 'x-match': 'all', n: '1' }, { 'x-match': 'all', flag: true }], [
      ['', 'int-1', { n: 1 }],
      ['', 'string-1', { n: '1' }],
      ['', 'bool-true', { flag: true }],
      ['', 'string-true', { flag: 'true' }],
    ]);
  },

  async 'headers-void-binding-value'(ctx) {
    // A void (null) binding value in the table: match on presence with a void value.
    return route(ctx, 'headers', [{ 'x-match': 'all', a: null }], [
      ['', 'a-null', { a: null }],
      ['', 'a-1', { a: 1 }],
      ['', 'none'],
    ]);
  },

  async 'headers-invalid-x-match'(ctx) {
    const ch = await ctx.channel();
    const x = ctx.x();
    const q = ctx.q();
    await ch.assertExchange(x, 'headers', { durable: false });
    await ch.assertQueue(q, { durable: false });
    return { r: await ctx.attempt(ch.bindQueue(q, x, '', { 'x-match': 'some' })), events: ch.events };
  },

  async 'headers-routing-key-ignored'(ctx) {
    return route(ctx, 'headers', [{ 'x-match': 'all', a: 1 }], [['any.key', 'k1', { a: 1 }], ['', 'k2', { a: 1 }]]);
  },

  async 'e2e-binding-routes'(ctx) {
    const ch = await ctx.confirmChannel();
    const src = ctx.x('src');
    const dst = ctx.x('dst');
    const q = ctx.q();
    await ch.assertExchange(src, 'topic', { durable: false });
    await ch.assertExchange(dst, 'direct', { durable: false });
    await ch.assertQueue(q, { durable: false });
    await ch.bindExchange(dst, src, 'a.*');
    await ch.bindQueue(q, dst, 'a.b');
    for (const k of ['a.b', 'a.c', 'b.b']) ch.publish(src, k, Buffer.from(k));
    await ch.waitForConfirms();
    return ctx.drain(ch, q);
  },

  async 'e2e-cycle-delivers-once'(ctx) {
    const ch = await ctx.confirmChannel();
    const a = ctx.x('a');
    const b = ctx.x('b');
    const q = ctx.q();
    await ch.assertExchange(a, 'fanout', { durable: false });
    await ch.assertExchange(b, 'fanout', { durable: false });
    await ch.bindExchange(b, a, '');
    await ch.bindExchange(a, b, '');
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, a, '');
    await ch.bindQueue(q, b, '');
    ch.publish(a, '', Buffer.from('once'));
    await ch.waitForConfirms();
    return ctx.drain(ch, q);
  },

  async 'e2e-diamond-delivers-once'(ctx) {
    const ch = await ctx.confirmChannel();
    const top = ctx.x('top');
    const l = ctx.x('l');
    const r = ctx.x('r');
    const q = ctx.q();
    for (const x of [top, l, r]) await ch.assertExchange(x, 'fanout', { durable: false });
    await ch.bindExchange(l, top, '');
    await ch.bindExchange(r, top, '');
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, l, '');
    await ch.bindQueue(q, r, '');
    ch.publish(top, '', Buffer.from('once'));
    await ch.waitForConfirms();
    return ctx.drain(ch, q);
  },

  async 'e2e-unbind'(ctx) {
    const ch = await ctx.confirmChannel();
    const src = ctx.x('src');
    const dst = ctx.x('dst');
    const q = ctx.q();
    await ch.assertExchange(src, 'fanout', { durable: false });
    await ch.assertExchange(dst, 'fanout', { durable: false });
    await ch.assertQueue(q, { durable: false });
    await ch.bindExchange(dst, src, '');
    await ch.bindQueue(q, dst, '');
    await ch.unbindExchange(dst, src, '');
    ch.publish(src, '', Buffer.from('dropped'));
    ch.publish(dst, '', Buffer.from('direct'));
    await ch.waitForConfirms();
    return ctx.drain(ch, q);
  },

  async 'e2e-bind-absent-source'(ctx) {
    const ch = await ctx.channel();
    const dst = ctx.x('dst');
    await ch.assertExchange(dst, 'fanout', { durable: false });
    return { r: await ctx.attempt(ch.bindExchange(dst, ctx.x('absent'), '')), events: ch.events };
  },

  async 'e2e-bind-absent-destination'(ctx) {
    const ch = await ctx.channel();
    const src = ctx.x('src');
    await ch.assertExchange(src, 'fanout', { durable: false });
    return { r: await ctx.attempt(ch.bindExchange(ctx.x('absent'), src, '')), events: ch.events };
  },

  async 'internal-exchange-publish-refused'(ctx) {
    const ch = await ctx.channel();
    const x = ctx.x();
    await ch.assertExchange(x, 'fanout', { durable: false, internal: true });
    ch.publish(x, '', Buffer.from('x'));
    await ctx.until(() => ch.events.length >= 2, 1000);
    return ch.events;
  },

  async 'internal-exchange-reachable-through-e2e'(ctx) {
    const ch = await ctx.confirmChannel();
    const pub = ctx.x('pub');
    const internal = ctx.x('int');
    const q = ctx.q();
    await ch.assertExchange(pub, 'fanout', { durable: false });
    await ch.assertExchange(internal, 'fanout', { durable: false, internal: true });
    await ch.bindExchange(internal, pub, '');
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, internal, '');
    ch.publish(pub, '', Buffer.from('via-e2e'));
    await ch.waitForConfirms();
    return ctx.drain(ch, q);
  },

  async 'publish-to-amq-rabbitmq-trace'(ctx) {
    const ch = await ctx.channel();
    ch.publish('amq.rabbitmq.trace', 'k', Buffer.from('x'));
    await ctx.until(() => ch.events.length >= 2, 1000);
    return ch.events;
  },

  async 'auto-delete-after-last-queue-unbind'(ctx) {
    const ch = await ctx.channel();
    const x = ctx.x();
    const q = ctx.q();
    await ch.assertExchange(x, 'direct', { durable: false, autoDelete: true });
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, x, 'a');
    await ch.bindQueue(q, x, 'b');
    await ch.unbindQueue(q, x, 'a');
    const afterFirst = await ctx.attempt(ch.checkExchange(x));
    await ch.unbindQueue(q, x, 'b');
    const ch2 = await ctx.channel();
    const afterLast = await ctx.attempt(ch2.checkExchange(x));
    return { afterFirst, afterLast };
  },

  async 'auto-delete-never-bound-survives'(ctx) {
    const ch = await ctx.channel();
    const x = ctx.x();
    await ch.assertExchange(x, 'direct', { durable: false, autoDelete: true });
    await ctx.sleep(30);
    return ctx.attempt(ch.checkExchange(x));
  },

  async 'auto-delete-after-bound-queue-deleted'(ctx) {
    const ch = await ctx.channel();
    const x = ctx.x();
    const q = ctx.q();
    await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: true });
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, x, '');
    await ch.deleteQueue(q);
    return ctx.attempt(ch.checkExchange(x));
  },

  async 'auto-delete-source-of-e2e-after-unbind'(ctx) {
    const ch = await ctx.channel();
    const src = ctx.x('src');
    const dst = ctx.x('dst');
    await ch.assertExchange(src, 'fanout', { durable: false, autoDelete: true });
    await ch.assertExchange(dst, 'fanout', { durable: false });
    await ch.bindExchange(dst, src, '');
    await ch.unbindExchange(dst, src, '');
    return ctx.attempt(ch.checkExchange(src));
  },

  async 'alternate-exchange-receives-unroutable'(ctx) {
    const ch = await ctx.confirmChannel();
    const ae = ctx.x('ae');
    const x = ctx.x('main');
    const qMain = ctx.q('main');
    const qAe = ctx.q('ae');
    await ch.assertExchange(ae, 'fanout', { durable: false });
    await ch.assertExchange(x, 'direct', { durable: false, alternateExchange: ae });
    await ch.assertQueue(qMain, { durable: false });
    await ch.assertQueue(qAe, { durable: false });
    await ch.bindQueue(qMain, x, 'known');
    await ch.bindQueue(qAe, ae, '');
    for (const k of ['known', 'unknown']) ch.publish(x, k, Buffer.from(k), { mandatory: true });
    await ch.waitForConfirms();
    return { main: await ctx.drain(ch, qMain), ae: await ctx.drain(ch, qAe), events: ch.events };
  },

  async 'alternate-exchange-not-used-when-binding-matched-queue-reached-earlier'(ctx) {
    const ch = await ctx.confirmChannel();
    const top = ctx.x('top');
    const inner = ctx.x('inner');
    const ae = ctx.x('ae');
    const shared = ctx.q('shared');
    const alt = ctx.q('alt');
    await ch.assertExchange(top, 'fanout', { durable: false });
    await ch.assertExchange(ae, 'fanout', { durable: false });
    await ch.assertExchange(inner, 'direct', { durable: false, alternateExchange: ae });
    await ch.assertQueue(shared, { durable: false });
    await ch.assertQueue(alt, { durable: false });
    await ch.bindQueue(shared, top, '');
    await ch.bindQueue(shared, inner, 'k');
    await ch.bindQueue(alt, ae, '');
    await ch.bindExchange(inner, top, '');
    for (const k of ['k', 'other']) ch.publish(top, k, Buffer.from(k), { mandatory: true });
    await ch.waitForConfirms();
    return { shared: await ctx.drain(ch, shared), alt: await ctx.drain(ch, alt), events: ch.events };
  },

  async 'alternate-exchange-absent'(ctx) {
    const ch = await ctx.confirmChannel();
    const x = ctx.x('main');
    await ch.assertExchange(x, 'direct', { durable: false, alternateExchange: ctx.x('absent') });
    ch.publish(x, 'k', Buffer.from('lost'), { mandatory: true });
    await ch.waitForConfirms();
    return ch.events;
  },

  async 'alternate-exchange-also-unroutable-returns'(ctx) {
    const ch = await ctx.confirmChannel();
    const ae = ctx.x('ae');
    const x = ctx.x('main');
    await ch.assertExchange(ae, 'direct', { durable: false });
    await ch.assertExchange(x, 'direct', { durable: false, alternateExchange: ae });
    ch.publish(x, 'k', Buffer.from('returned'), { mandatory: true });
    await ch.waitForConfirms();
    return ch.events;
  },

  async 'alternate-exchange-chain'(ctx) {
    const ch = await ctx.confirmChannel();
    const ae2 = ctx.x('ae2');
    const ae1 = ctx.x('ae1');
    const x = ctx.x('main');
    const q = ctx.q();
    await ch.assertExchange(ae2, 'fanout', { durable: false });
    await ch.assertExchange(ae1, 'direct', { durable: false, alternateExchange: ae2 });
    await ch.assertExchange(x, 'direct', { durable: false, alternateExchange: ae1 });
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, ae2, '');
    ch.publish(x, 'k', Buffer.from('through-two-aes'));
    await ch.waitForConfirms();
    return ctx.drain(ch, q);
  },

  async 'alternate-exchange-cycle'(ctx) {
    const ch = await ctx.confirmChannel();
    const a = ctx.x('a');
    const b = ctx.x('b');
    await ch.assertExchange(a, 'direct', { durable: false, alternateExchange: b });
    await ch.assertExchange(b, 'direct', { durable: false, alternateExchange: a });
    ch.publish(a, 'k', Buffer.from('loop'), { mandatory: true });
    await ch.waitForConfirms();
    return ch.events;
  },

  async 'amq-fanout-delivers'(ctx) {
    const ch = await ctx.confirmChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, 'amq.fanout', '');
    ch.publish('amq.fanout', 'whatever', Buffer.from('via-amq.fanout'));
    await ch.waitForConfirms();
    const got = await ch.get(queue, { noAck: true });
    await ch.unbindQueue(queue, 'amq.fanout', '');
    return ctx.msg(got);
  },

  async 'amq-topic-and-amq-match'(ctx) {
    const ch = await ctx.confirmChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const key = `${ctx.prefix}k`;
    await ch.bindQueue(queue, 'amq.topic', `${key}.#`);
    await ch.bindQueue(queue, 'amq.match', '', { 'x-match': 'all', tag: key });
    ch.publish('amq.topic', `${key}.a.b`, Buffer.from('topic'));
    ch.publish('amq.match', '', Buffer.from('match'), { headers: { tag: key } });
    await ch.waitForConfirms();
    return ctx.drain(ch, queue);
  },

  async 'rabbitmq-client-exchange-declare-and-bind'(ctx) {
    const rc = await ctx.rmq();
    const x = ctx.x();
    const q = ctx.q();
    const out = {};
    out.declare = await rc.exchangeDeclare({ exchange: x, type: 'topic' });
    await rc.queueDeclare({ queue: q });
    out.bind = await rc.queueBind({ queue: q, exchange: x, routingKey: 'a.#' });
    out.bad = await ctx.attempt(rc.exchangeDeclare({ exchange: x, type: 'fanout' }));
    return out;
  },
};
