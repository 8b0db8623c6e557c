// Exchanges through amqplib: the four routing algorithms, predeclared amq.*,
// declare/delete semantics with RabbitMQ's reply texts, e2e bindings, AE, internal.

import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { bodies, channel, drain, expectAmqpError, sync, take, uniq } from '../helpers/amqp.js';

const b = useBroker();

async function setup(): Promise<Awaited<ReturnType<typeof channel>>> {
  const conn = await b.connect();
  return channel(conn);
}

/** Declare exclusive queues bound to `exchange` with the given keys, one queue per entry. */
async function boundQueues(
  ch: Awaited<ReturnType<typeof channel>>,
  exchange: string,
  bindings: Record<string, string[] | { args: Record<string, unknown> }>,
): Promise<Record<string, string>> {
  const names: Record<string, string> = {};
  for (const [label, keys] of Object.entries(bindings)) {
    const { queue } = await ch.assertQueue('', { exclusive: true });
    names[label] = queue;
    if (Array.isArray(keys)) for (const k of keys) await ch.bindQueue(queue, exchange, k);
    else await ch.bindQueue(queue, exchange, '', keys.args);
  }
  return names;
}

describe('direct', () => {
  it('routes by exact routing key, to every queue bound with it', async () => {
    const ch = await setup();
    const x = uniq('direct');
    await ch.assertExchange(x, 'direct', { durable: false });
    const q = await boundQueues(ch, x, { a: ['red'], b: ['red', 'green'], c: ['blue'] });
    ch.publish(x, 'red', Buffer.from('r'));
    ch.publish(x, 'green', Buffer.from('g'));
    ch.publish(x, 'Red', Buffer.from('case'));
    await sync(ch);
    expect(await drain(ch, q.a as string)).toEqual(['r']);
    expect(await drain(ch, q.b as string)).toEqual(['r', 'g']);
    expect(await drain(ch, q.c as string)).toEqual([]);
  });

  it('the default exchange routes by queue name and cannot be bound', async () => {
    const ch = await setup();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('direct to queue'));
    await sync(ch);
    expect(await drain(ch, queue)).toEqual(['direct to queue']);
    await expectAmqpError(ch.bindQueue(queue, '', 'k'), 403, 'ACCESS_REFUSED - operation not permitted on the default exchange');
  });
});

describe('fanout', () => {
  it('ignores the routing key and copies to every bound queue', async () => {
    const ch = await setup();
    const x = uniq('fanout');
    await ch.assertExchange(x, 'fanout', { durable: false });
    const q = await boundQueues(ch, x, { a: ['x'], b: [''], c: ['whatever'] });
    ch.publish(x, 'anything', Buffer.from('m'));
    await sync(ch);
    for (const name of Object.values(q)) expect(await drain(ch, name)).toEqual(['m']);
  });

  it('a queue bound twice with different keys gets one copy', async () => {
    const ch = await setup();
    const x = uniq('fanout2');
    await ch.assertExchange(x, 'fanout', { durable: false });
    const q = await boundQueues(ch, x, { a: ['k1', 'k2'] });
    ch.publish(x, '', Buffer.from('once'));
    await sync(ch);
    expect(await drain(ch, q.a as string)).toEqual(['once']);
  });
});

describe('topic', () => {
  const table: [string, string, boolean][] = [
    ['a.b.c', 'a.b.c', true],
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.c', false],
    ['a.*.c', 'a.b.b.c', false],
    ['a.#', 'a', true],
    ['a.#', 'a.b', true],
    ['a.#', 'a.b.c', true],
    ['#', '', true],
    ['#', 'anything.at.all', true],
    ['#.c', 'c', true],
    ['#.c', 'a.b.c', true],
    ['#.c', 'a.b.cc', false],
    ['a.#.c', 'a.c', true],
    ['a.#.c', 'a.x.y.c', true],
    ['#.#', 'a.b', true],
    ['#.#', '', true],
    ['*', 'a', true],
    ['*', '', false], // checked against RabbitMQ 3.10.8: an empty key has zero words, not one empty word
    ['*', 'a.b', false],
    ['*.*', 'a.', true],
    ['*.*', '.', true],
    ['a..b', 'a..b', true],
    ['a.*.b', 'a..b', true],
    ['', '', true],
    ['', 'a', false],
    ['*.b.#', 'a.b', true],
    ['*.b.#', 'b', false],
    ['#.*', '', false],
    ['#.*', 'a', true],
    ['a.*.#', 'a', false],
    ['a.*.#', 'a.b', true],
    ['#.a.#', 'a', true],
    ['*.#', '', false],
  ];

  it.each(table)('binding %j vs routing key %j -> %s', async (pattern, key, match) => {
    const ch = await setup();
    const x = uniq('topic');
    await ch.assertExchange(x, 'topic', { durable: false });
    const q = await boundQueues(ch, x, { a: [pattern] });
    ch.publish(x, key, Buffer.from('m'));
    await sync(ch);
    expect(await drain(ch, q.a as string)).toEqual(match ? ['m'] : []);
  });

  it('amq.topic is predeclared and routes', async () => {
    const ch = await setup();
    const q = await boundQueues(ch, 'amq.topic', { a: [`${uniq('t')}.#`] });
    await sync(ch);
    const { queue } = await ch.checkQueue(q.a as string);
    expect(queue).toBe(q.a);
  });
});

describe('headers', () => {
  it('x-match all requires every binding header (values compared), x-match any needs one', async () => {
    const ch = await setup();
    const x = uniq('headers');
    await ch.assertExchange(x, 'headers', { durable: false });
    const q = await boundQueues(ch, x, {
      all: { args: { 'x-match': 'all', format: 'pdf', type: 'report' } },
      any: { args: { 'x-match': 'any', format: 'pdf', type: 'report' } },
      dflt: { args: { format: 'pdf', type: 'report' } },
      empty: { args: {} },
    });
    ch.publish(x, '', Buffer.from('both'), { headers: { format: 'pdf', type: 'report', extra: 1 } });
    ch.publish(x, '', Buffer.from('one'), { headers: { format: 'pdf', type: 'log' } });
    ch.publish(x, '', Buffer.from('none'), { headers: { format: 'zip' } });
    ch.publish(x, '', Buffer.from('noheaders'));
    await sync(ch);
    expect(await drain(ch, q.all as string)).toEqual(['both']);
    expect(await drain(ch, q.any as string)).toEqual(['both', 'one']);
    expect(await drain(ch, q.dflt as string)).toEqual(['both']);
    expect(await drain(ch, q.empty as string)).toEqual(['both', 'one', 'none', 'noheaders']);
  });

  it('a binding header with a void value matches on presence only', async () => {
    const ch = await setup();
    const x = uniq('headers-void');
    await ch.assertExchange(x, 'headers', { durable: false });
    const q = await boundQueues(ch, x, { a: { args: { 'x-match': 'all', flag: null } } });
    ch.publish(x, '', Buffer.from('present'), { headers: { flag: 'anything' } });
    ch.publish(x, '', Buffer.from('absent'), { headers: { other: 1 } });
    await sync(ch);
    expect(await drain(ch, q.a as string)).toEqual(['present']);
  });

  it('amq.headers and amq.match exist', async () => {
    const ch = await setup();
    await ch.checkExchange('amq.headers');
    await ch.checkExchange('amq.match');
  });
});

describe('predeclared and reserved', () => {
  it('amq.direct, amq.fanout, amq.topic, amq.headers and amq.match exist', async () => {
    const ch = await setup();
    for (const name of ['amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.match']) {
      await ch.checkExchange(name);
    }
  });

  it('redeclaring amq.direct equivalently is allowed; with durable=false is 406', async () => {
    const ch = await setup();
    await ch.assertExchange('amq.direct', 'direct', { durable: true });
    await expectAmqpError(
      ch.assertExchange('amq.direct', 'direct', { durable: false }),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'amq.direct' in vhost '/': received 'false' but current is 'true'",
    );
  });

  it("declaring a new exchange named amq.* is 403 ACCESS_REFUSED", async () => {
    const ch = await setup();
    await expectAmqpError(
      ch.assertExchange('amq.custom', 'direct'),
      403,
      "ACCESS_REFUSED - exchange name 'amq.custom' contains reserved prefix 'amq.*'",
    );
  });

  it('deleting a system exchange or the default exchange is 403', async () => {
    const conn = await b.connect();
    await expectAmqpError(
      (await channel(conn)).deleteExchange('amq.fanout'),
      403,
      "ACCESS_REFUSED - deletion of system exchange 'amq.fanout' in vhost '/' not allowed",
    );
    await expectAmqpError((await channel(conn)).deleteExchange(''), 403, 'ACCESS_REFUSED - operation not permitted on the default exchange');
  });
});

describe('declare and delete', () => {
  it('passive declare of a missing exchange is 404', async () => {
    const ch = await setup();
    const x = uniq('missing');
    await expectAmqpError(ch.checkExchange(x), 404, `NOT_FOUND - no exchange '${x}' in vhost '/'`);
  });

  it('redeclare with another type, durability, auto-delete, internal or alternate-exchange is 406', async () => {
    const conn = await b.connect();
    const x = uniq('redeclare');
    await (await channel(conn)).assertExchange(x, 'direct', { durable: false });
    const cases: [Parameters<Awaited<ReturnType<typeof channel>>['assertExchange']>, string][] = [
      [[x, 'fanout', { durable: false }], `inequivalent arg 'type' for exchange '${x}' in vhost '/': received 'fanout' but current is 'direct'`],
      [[x, 'direct', { durable: true }], `inequivalent arg 'durable' for exchange '${x}' in vhost '/': received 'true' but current is 'false'`],
      [[x, 'direct', { durable: false, autoDelete: true }], `inequivalent arg 'auto_delete' for exchange '${x}' in vhost '/': received 'true' but current is 'false'`],
      [[x, 'direct', { durable: false, internal: true }], `inequivalent arg 'internal' for exchange '${x}' in vhost '/': received 'true' but current is 'false'`],
      [
        [x, 'direct', { durable: false, alternateExchange: 'ae' }],
        `inequivalent arg 'alternate-exchange' for exchange '${x}' in vhost '/': received the value 'ae' of type 'longstr' but current is none`,
      ],
    ];
    for (const [args, text] of cases) {
      const ch = await channel(conn);
      await expectAmqpError(ch.assertExchange(...args), 406, `PRECONDITION_FAILED - ${text}`);
    }
    // An equivalent redeclare is fine.
    await (await channel(conn)).assertExchange(x, 'direct', { durable: false });
  });

  it('an unknown exchange type is a 503 connection error', async () => {
    const conn = await b.connect();
    const closed = new Promise<Error & { code?: number }>((r) => conn.once('error', r));
    const ch = await channel(conn);
    ch.assertExchange(uniq('badtype'), 'no-such-type').catch(() => undefined);
    const err = await closed;
    expect(err.code).toBe(503);
    // RabbitMQ 3.10.8 (checked live) says "unknown exchange type".
    expect(err.message).toContain("COMMAND_INVALID - unknown exchange type 'no-such-type'");
  });

  it('delete of an absent exchange succeeds; delete if-unused of a bound exchange is 406', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    await ch.deleteExchange(uniq('absent'));
    const x = uniq('inuse');
    await ch.assertExchange(x, 'fanout', { durable: false });
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, x, '');
    await expectAmqpError(ch.deleteExchange(x, { ifUnused: true }), 406, `PRECONDITION_FAILED - exchange '${x}' in vhost '/' in use`);
    const ch2 = await channel(conn);
    await ch2.unbindQueue(queue, x, '');
    await ch2.deleteExchange(x, { ifUnused: true });
    await expectAmqpError(ch2.checkExchange(x), 404);
  });

  it('deleting an exchange removes its bindings', async () => {
    const ch = await setup();
    const x = uniq('gone');
    await ch.assertExchange(x, 'fanout', { durable: false });
    const q = await boundQueues(ch, x, { a: [''] });
    await ch.deleteExchange(x);
    await ch.assertExchange(x, 'fanout', { durable: false });
    ch.publish(x, '', Buffer.from('after'));
    await sync(ch);
    expect(await drain(ch, q.a as string)).toEqual([]);
  });

  it('auto-delete exchange goes away when its last binding is removed', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const x = uniq('autodel');
    await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: true });
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, x, '');
    await ch.checkExchange(x);
    await ch.unbindQueue(queue, x, '');
    await expectAmqpError(ch.checkExchange(x), 404, `NOT_FOUND - no exchange '${x}' in vhost '/'`);
  });

  it('auto-delete exchange that never had a binding stays', async () => {
    const ch = await setup();
    const x = uniq('autodel-unused');
    await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: true });
    await ch.checkExchange(x);
  });
});

describe('exchange-to-exchange bindings', () => {
  it('bind and unbind route through to the destination exchange', async () => {
    const ch = await setup();
    const src = uniq('e2e-src');
    const dst = uniq('e2e-dst');
    await ch.assertExchange(src, 'topic', { durable: false });
    await ch.assertExchange(dst, 'fanout', { durable: false });
    const q = await boundQueues(ch, dst, { a: [''] });
    await ch.bindExchange(dst, src, 'stock.#');
    ch.publish(src, 'stock.nyse', Buffer.from('via-e2e'));
    ch.publish(src, 'bond.x', Buffer.from('filtered'));
    await sync(ch);
    expect(await drain(ch, q.a as string)).toEqual(['via-e2e']);
    await ch.unbindExchange(dst, src, 'stock.#');
    ch.publish(src, 'stock.nyse', Buffer.from('after-unbind'));
    await sync(ch);
    expect(await drain(ch, q.a as string)).toEqual([]);
  });

  it('cycles deliver once per queue', async () => {
    const ch = await setup();
    const a = uniq('cyc-a');
    const c = uniq('cyc-b');
    await ch.assertExchange(a, 'fanout', { durable: false });
    await ch.assertExchange(c, 'fanout', { durable: false });
    await ch.bindExchange(c, a, '');
    await ch.bindExchange(a, c, '');
    const q = await boundQueues(ch, c, { a: [''] });
    await ch.bindQueue(q.a as string, a, '');
    ch.publish(a, '', Buffer.from('once'));
    await sync(ch);
    expect(await drain(ch, q.a as string)).toEqual(['once']);
  });

  it('binding to a missing exchange is 404, to the default exchange 403', async () => {
    const conn = await b.connect();
    const x = uniq('nope');
    await expectAmqpError((await channel(conn)).bindExchange(x, 'amq.direct', 'k'), 404, `NOT_FOUND - no exchange '${x}' in vhost '/'`);
    await expectAmqpError((await channel(conn)).bindExchange('', 'amq.direct', 'k'), 403, 'ACCESS_REFUSED - operation not permitted on the default exchange');
  });
});

describe('alternate exchange and internal', () => {
  it('unroutable messages go to the alternate-exchange; routable ones do not', async () => {
    const ch = await setup();
    const ae = uniq('ae');
    const main = uniq('main');
    await ch.assertExchange(ae, 'fanout', { durable: false });
    await ch.assertExchange(main, 'direct', { durable: false, alternateExchange: ae });
    const q = await boundQueues(ch, main, { routed: ['known'] });
    const qa = await boundQueues(ch, ae, { unrouted: [''] });
    ch.publish(main, 'known', Buffer.from('k'));
    ch.publish(main, 'unknown', Buffer.from('u'));
    await sync(ch);
    expect(await drain(ch, q.routed as string)).toEqual(['k']);
    expect(await drain(ch, qa.unrouted as string)).toEqual(['u']);
  });

  it('an exchange whose binding matched a queue already reached another way does not use its alternate', async () => {
    const ch = await setup();
    const top = uniq('top');
    const inner = uniq('inner');
    const ae = uniq('inner-ae');
    await ch.assertExchange(top, 'fanout', { durable: false });
    await ch.assertExchange(ae, 'fanout', { durable: false });
    await ch.assertExchange(inner, 'direct', { durable: false, alternateExchange: ae });
    const q = await boundQueues(ch, top, { shared: [''] });
    await ch.bindQueue(q.shared as string, inner, 'k');
    const qa = await boundQueues(ch, ae, { alt: [''] });
    await ch.bindExchange(inner, top, '');
    ch.publish(top, 'k', Buffer.from('matched'));
    ch.publish(top, 'other', Buffer.from('unmatched'));
    await sync(ch);
    expect(await drain(ch, q.shared as string)).toEqual(['matched', 'unmatched']);
    expect(await drain(ch, qa.alt as string)).toEqual(['unmatched']);
  });

  it('a mandatory message routed by the alternate exchange is not returned', async () => {
    const conn = await b.connect();
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => undefined);
    const ae = uniq('ae2');
    const main = uniq('main2');
    await ch.assertExchange(ae, 'fanout', { durable: false });
    await ch.assertExchange(main, 'direct', { durable: false, alternateExchange: ae });
    const qa = await boundQueues(ch, ae, { a: [''] });
    const returned: string[] = [];
    ch.on('return', (m: { content: Buffer }) => returned.push(m.content.toString()));
    ch.publish(main, 'nowhere', Buffer.from('m'), { mandatory: true });
    await ch.waitForConfirms();
    expect(returned).toEqual([]);
    expect(await drain(ch, qa.a as string)).toEqual(['m']);
  });

  it('publishing to an internal exchange is 403; it still routes via e2e bindings', async () => {
    const conn = await b.connect();
    const ch = await channel(conn);
    const internal = uniq('internal');
    const front = uniq('front');
    await ch.assertExchange(internal, 'fanout', { durable: false, internal: true });
    await ch.assertExchange(front, 'fanout', { durable: false });
    await ch.bindExchange(internal, front, '');
    const q = await boundQueues(ch, internal, { a: [''] });
    ch.publish(front, '', Buffer.from('via-front'));
    await sync(ch);
    expect(await drain(ch, q.a as string)).toEqual(['via-front']);
    const ch2 = await channel(conn);
    ch2.publish(internal, '', Buffer.from('direct'));
    await expectAmqpError(sync(ch2), 403, `ACCESS_REFUSED - cannot publish to internal exchange '${internal}' in vhost '/'`);
  });

  it('publishing to a missing exchange closes the channel with 404', async () => {
    const ch = await setup();
    const x = uniq('absent-x');
    ch.publish(x, '', Buffer.from('m'));
    await expectAmqpError(sync(ch), 404, `NOT_FOUND - no exchange '${x}' in vhost '/'`);
  });
});

describe('with consumers', () => {
  it('topic routes to live consumers', async () => {
    const ch = await setup();
    const x = uniq('topic-live');
    await ch.assertExchange(x, 'topic', { durable: false });
    const q = await boundQueues(ch, x, { a: ['*.critical'] });
    const p = take(ch, q.a as string, 2);
    ch.publish(x, 'kern.critical', Buffer.from('1'));
    ch.publish(x, 'kern.info', Buffer.from('x'));
    ch.publish(x, 'app.critical', Buffer.from('2'));
    expect(bodies(await p)).toEqual(['1', '2']);
  });
});

describe('more exchange edge cases (checked against RabbitMQ 3.10.8)', () => {
  it('exchange.declare of the default exchange "" (active or passive): 403 operation not permitted', async () => {
    const conn = await b.connect();
    const text = 'ACCESS_REFUSED - operation not permitted on the default exchange';
    await expectAmqpError((await channel(conn)).assertExchange('', 'direct'), 403, text);
    await expectAmqpError((await channel(conn)).checkExchange(''), 403, text);
  });

  it('redeclare with another alternate-exchange of the same type: 406 short form', async () => {
    const conn = await b.connect();
    const x = uniq('ae-redeclare');
    await (await channel(conn)).assertExchange(x, 'direct', { durable: false, alternateExchange: 'a1' });
    await expectAmqpError(
      (await channel(conn)).assertExchange(x, 'direct', { durable: false, alternateExchange: 'a2' }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange '${x}' in vhost '/': received 'a2' but current is 'a1'`,
    );
  });

  it('other exchange arguments are not compared on redeclare', async () => {
    const ch = await channel(await b.connect());
    const x = uniq('ex-args');
    await ch.assertExchange(x, 'direct', { durable: false, arguments: { foo: 1 } });
    await ch.assertExchange(x, 'direct', { durable: false, arguments: { foo: 2 } });
  });

  it('an invalid x-match value is 406', async () => {
    const ch = await channel(await b.connect());
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await expectAmqpError(
      ch.bindQueue(queue, 'amq.headers', '', { 'x-match': 'some' }),
      406,
      'PRECONDITION_FAILED - Invalid x-match field value <<"some">>; expected all, any, all-with-x, or any-with-x',
    );
  });

  it('exchange.unbind with a missing destination or source succeeds, like queue.unbind', async () => {
    const ch = await channel(await b.connect());
    await ch.unbindExchange(uniq('no-dest'), 'amq.direct', 'k');
    await ch.unbindExchange('amq.direct', uniq('no-src'), 'k');
    await ch.unbindQueue(uniq('no-queue'), 'amq.direct', 'k');
  });

  it('delete if-unused counts bindings where the exchange is the source, not the destination', async () => {
    const conn = await b.connect();
    const dst = uniq('only-dest');
    const ch = await channel(conn);
    await ch.assertExchange(dst, 'fanout', { durable: false });
    await ch.bindExchange(dst, 'amq.fanout', '');
    await ch.deleteExchange(dst, { ifUnused: true });
    const src = uniq('is-source');
    await ch.assertExchange(src, 'fanout', { durable: false });
    await ch.bindExchange('amq.fanout', src, '');
    await expectAmqpError((await channel(conn)).deleteExchange(src, { ifUnused: true }), 406, `PRECONDITION_FAILED - exchange '${src}' in vhost '/' in use`);
  });
});

