// Connection and channel lifecycle, handshake details and hard errors, mostly seen through
// the raw-frame client so that exact frames, codes and texts are visible.
import { encodeFrame, encodeMethodPayload, FRAME, PROTOCOL_HEADER, plain, summarize } from '../raw-client.mjs';

/** Server-properties with the values that differ per product/version/host masked. */
function maskServerProperties(props) {
  const out = {};
  for (const [k, v] of Object.entries(props)) {
    if (k === 'capabilities') out[k] = v; // tags and values compared exactly
    else out[k] = { type: v.type, value: '<masked>' };
  }
  return out;
}

const closeOf = (evs) => evs.map((e) => summarize(e));

/**
 * Events until the server's connection.close or the socket closing (whichever first), or
 * until nothing arrives for quietMs. What happens after the close is timing-dependent
 * (RabbitMQ waits for close-ok with a timeout), so it is answered but not observed.
 */
async function untilClose(c, quietMs = 500) {
  const out = [];
  for (;;) {
    const ev = await c.next(quietMs);
    if (!ev) break;
    out.push(ev);
    if (ev.type === 'socket-closed') break;
    if (ev.method?.name === 'connection.close') {
      c.sendMethod(0, 'connection.close-ok', {});
      break;
    }
  }
  return closeOf(out);
}

/** Methods received (no socket events) within quietMs: for servers that close slowly. */
async function methodsOnly(c, quietMs = 500) {
  const evs = await c.collect(quietMs);
  return evs.filter((e) => e.method).map((e) => summarize(e));
}

/** Handshake with channel 1 open, then send bytes (fn(client)), then report until close. */
async function hardError(ctx, send) {
  const c = await ctx.rawOpen();
  await send(c);
  return untilClose(c);
}

export default {
  async 'start-method'(ctx) {
    const c = await ctx.raw();
    c.sendProtocolHeader();
    const start = await c.expect('connection.start');
    return {
      version: [start['version-major'], start['version-minor']],
      // As a set: RabbitMQ 3.10.8 nodes with the same config were seen to list these in either order
      // (its registry lookup does not fix one), and clients pick by name.
      mechanisms: String(start.mechanisms).split(' ').sort().join(' '),
      locales: start.locales,
      serverProperties: maskServerProperties(start['server-properties']),
    };
  },

  async 'tune-values'(ctx) {
    const c = await ctx.raw();
    c.sendProtocolHeader();
    await c.expect('connection.start');
    c.sendMethod(0, 'connection.start-ok', { 'client-properties': {}, mechanism: 'PLAIN', response: '\0guest\0guest', locale: 'en_US' });
    return c.expect('connection.tune');
  },

  async 'open-ok-and-channel-open-ok'(ctx) {
    const c = await ctx.raw();
    await c.handshake();
    c.sendMethod(1, 'channel.open', {});
    return summarize(await c.next());
  },

  async 'wrong-protocol-version'(ctx) {
    const c = await ctx.raw();
    c.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 0]));
    return closeOf(await c.collect(1000));
  },

  async 'protocol-header-amqp-1-0'(ctx) {
    const c = await ctx.raw();
    c.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]));
    return closeOf(await c.collect(1000));
  },

  async 'http-request-on-amqp-port'(ctx) {
    const c = await ctx.raw();
    c.write(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    return closeOf(await c.collect(1000));
  },

  async 'login-wrong-password-with-failure-close'(ctx) {
    const c = await ctx.raw();
    c.sendProtocolHeader();
    await c.expect('connection.start');
    c.sendMethod(0, 'connection.start-ok', {
      'client-properties': { capabilities: { authentication_failure_close: true } },
      mechanism: 'PLAIN',
      response: '\0guest\0wrong',
      locale: 'en_US',
    });
    return untilClose(c);
  },

  async 'login-wrong-password-without-capability'(ctx) {
    const c = await ctx.raw();
    c.sendProtocolHeader();
    await c.expect('connection.start');
    c.sendMethod(0, 'connection.start-ok', { 'client-properties': {}, mechanism: 'PLAIN', response: '\0guest\0wrong', locale: 'en_US' });
    // No connection.close without the capability; when the socket closes is not compared.
    return methodsOnly(c);
  },

  async 'login-unknown-mechanism'(ctx) {
    const c = await ctx.raw();
    c.sendProtocolHeader();
    await c.expect('connection.start');
    c.sendMethod(0, 'connection.start-ok', {
      'client-properties': { capabilities: { authentication_failure_close: true } },
      mechanism: 'CRAM-MD5',
      response: 'x',
      locale: 'en_US',
    });
    return methodsOnly(c);
  },

  async 'login-amqplain'(ctx) {
    const c = await ctx.raw();
    c.sendProtocolHeader();
    await c.expect('connection.start');
    // AMQPLAIN: a field table without its length prefix.
    const { encodeTable } = await import('../raw-client.mjs');
    c.sendMethod(0, 'connection.start-ok', {
      'client-properties': {},
      mechanism: 'AMQPLAIN',
      response: encodeTable({ LOGIN: 'guest', PASSWORD: 'guest' }),
      locale: 'en_US',
    });
    return summarize(await c.next(), { withArgs: false });
  },

  async 'amqplib-login-failure'(ctx) {
    const u = new URL(ctx.url);
    u.password = 'nope';
    return ctx.attempt(ctx.amqp({ url: u.toString() }).then(() => 'connected'));
  },

  async 'open-unknown-vhost'(ctx) {
    const c = await ctx.raw();
    c.sendProtocolHeader();
    await c.expect('connection.start');
    c.sendMethod(0, 'connection.start-ok', { 'client-properties': {}, mechanism: 'PLAIN', response: '\0guest\0guest', locale: 'en_US' });
    const tune = await c.expect('connection.tune');
    c.sendMethod(0, 'connection.tune-ok', { 'channel-max': tune['channel-max'], 'frame-max': tune['frame-max'], heartbeat: 0 });
    c.sendMethod(0, 'connection.open', { 'virtual-host': 'no-such-vhost' });
    return untilClose(c);
  },

  async 'tune-ok-frame-max-below-minimum'(ctx) {
    const c = await ctx.raw();
    c.sendProtocolHeader();
    await c.expect('connection.start');
    c.sendMethod(0, 'connection.start-ok', { 'client-properties': {}, mechanism: 'PLAIN', response: '\0guest\0guest', locale: 'en_US' });
    await c.expect('connection.tune');
    c.sendMethod(0, 'connection.tune-ok', { 'channel-max': 0, 'frame-max': 1024, heartbeat: 0 });
    c.sendMethod(0, 'connection.open', { 'virtual-host': '/' });
    return methodsOnly(c);
  },

  async 'tune-ok-frame-max-above-server'(ctx) {
    const c = await ctx.raw();
    c.sendProtocolHeader();
    await c.expect('connection.start');
    c.sendMethod(0, 'connection.start-ok', { 'client-properties': {}, mechanism: 'PLAIN', response: '\0guest\0guest', locale: 'en_US' });
    const tune = await c.expect('connection.tune');
    c.sendMethod(0, 'connection.tune-ok', { 'channel-max': 0, 'frame-max': tune['frame-max'] * 2, heartbeat: 0 });
    c.sendMethod(0, 'connection.open', { 'virtual-host': '/' });
    return methodsOnly(c);
  },

  async 'client-close-gets-close-ok'(ctx) {
    const c = await ctx.rawOpen();
    c.sendMethod(0, 'connection.close', { 'reply-code': 200, 'reply-text': 'bye', 'class-id': 0, 'method-id': 0 });
    return summarize(await c.next());
  },

  async 'channel-close-gets-close-ok'(ctx) {
    const c = await ctx.rawOpen();
    c.sendMethod(1, 'channel.close', { 'reply-code': 200, 'reply-text': 'bye', 'class-id': 0, 'method-id': 0 });
    const first = summarize(await c.next());
    // The channel id can be reused after close-ok.
    c.sendMethod(1, 'channel.open', {});
    return [first, summarize(await c.next())];
  },

  async 'channel-open-twice'(ctx) {
    return hardError(ctx, (c) => c.sendMethod(1, 'channel.open', {}));
  },

  async 'more-channels-than-channel-max'(ctx) {
    const c = await ctx.raw();
    await c.handshake({ channelMax: 10 });
    for (let i = 1; i <= 11; i++) c.sendMethod(i, 'channel.open', {});
    const r = await untilClose(c);
    // RabbitMQ's channel processes answer in no fixed order: compare the set of opened channels.
    if (Array.isArray(r)) {
      const opened = r.filter((e) => e?.method === 'channel.open-ok').sort((x, y) => x.ch - y.ch);
      return [...opened, ...r.filter((e) => e?.method !== 'channel.open-ok')];
    }
    return r;
  },

  async 'channel-id-above-negotiated-channel-max'(ctx) {
    const c = await ctx.raw();
    await c.handshake({ channelMax: 10 });
    c.sendMethod(11, 'channel.open', {});
    return untilClose(c, 300);
  },

  async 'channel-id-equal-channel-max'(ctx) {
    const c = await ctx.raw();
    await c.handshake({ channelMax: 10 });
    c.sendMethod(10, 'channel.open', {});
    return summarize(await c.next());
  },

  async 'method-on-unopened-channel'(ctx) {
    return hardError(ctx, (c) => c.sendMethod(5, 'queue.declare', { queue: ctx.q(), exclusive: true }));
  },

  async 'queue-method-on-channel-zero'(ctx) {
    return hardError(ctx, (c) => c.sendMethod(0, 'queue.declare', { queue: ctx.q(), exclusive: true }));
  },

  async 'bad-frame-end'(ctx) {
    return hardError(ctx, (c) => c.write(encodeFrame(FRAME.method, 1, encodeMethodPayload('basic.qos', { 'prefetch-count': 1 }), 0x00)));
  },

  async 'unknown-frame-type'(ctx) {
    return hardError(ctx, (c) => c.write(encodeFrame(7, 1, Buffer.from([1, 2, 3]))));
  },

  async 'oversize-frame'(ctx) {
    return hardError(ctx, (c) => {
      const size = c.tune['frame-max'] + 100;
      c.write(encodeFrame(FRAME.body, 1, Buffer.alloc(size)));
    });
  },

  async 'heartbeat-on-nonzero-channel'(ctx) {
    return hardError(ctx, (c) => c.sendHeartbeat(1));
  },

  async 'heartbeat-on-channel-zero-is-fine'(ctx) {
    const c = await ctx.rawOpen();
    c.sendHeartbeat(0);
    c.sendMethod(1, 'basic.qos', { 'prefetch-count': 3 });
    return summarize(await c.next());
  },

  async 'unknown-class'(ctx) {
    return hardError(ctx, (c) => c.write(encodeFrame(FRAME.method, 1, Buffer.from([0, 99, 0, 10]))));
  },

  async 'unknown-method-in-known-class'(ctx) {
    return hardError(ctx, (c) => c.write(encodeFrame(FRAME.method, 1, Buffer.from([0, 50, 0, 99]))));
  },

  async 'truncated-method-arguments'(ctx) {
    // queue.declare with its arguments cut short.
    return hardError(ctx, (c) => c.write(encodeFrame(FRAME.method, 1, Buffer.from([0, 50, 0, 10, 0, 0, 20, 0x61]))));
  },

  async 'content-header-without-publish'(ctx) {
    return hardError(ctx, (c) => c.sendHeader(1, 3, {}));
  },

  async 'body-without-header'(ctx) {
    return hardError(ctx, (c) => {
      c.sendMethod(1, 'basic.publish', { exchange: '', 'routing-key': 'x' });
      c.sendBody(1, 'abc');
    });
  },

  async 'method-between-publish-and-header'(ctx) {
    return hardError(ctx, (c) => {
      c.sendMethod(1, 'basic.publish', { exchange: '', 'routing-key': 'x' });
      c.sendMethod(1, 'basic.qos', { 'prefetch-count': 1 });
    });
  },

  async 'method-between-header-and-body'(ctx) {
    return hardError(ctx, (c) => {
      c.sendMethod(1, 'basic.publish', { exchange: '', 'routing-key': 'x' });
      c.sendHeader(1, 5, {});
      c.sendBody(1, 'ab');
      c.sendMethod(1, 'basic.qos', { 'prefetch-count': 1 });
    });
  },

  async 'body-longer-than-declared-then-method'(ctx) {
    return hardError(ctx, (c) => {
      c.sendMethod(1, 'basic.publish', { exchange: '', 'routing-key': 'x' });
      c.sendHeader(1, 2, {});
      c.sendBody(1, 'abcdef');
      c.sendMethod(1, 'basic.qos', { 'prefetch-count': 1 });
    });
  },

  async 'header-with-wrong-class'(ctx) {
    return hardError(ctx, (c) => {
      c.sendMethod(1, 'basic.publish', { exchange: '', 'routing-key': 'x' });
      c.sendHeader(1, 2, {}, 50);
    });
  },

  async 'content-header-property-overruns-frame'(ctx) {
    // Flags: delivery-mode (bit 12) and correlation-id (bit 10); correlation-id claims 200 bytes but has 2.
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q, durable: true });
    await c.expect('queue.declare-ok');
    const header = Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x14, 0x00, 2, 200, 0x41, 0x42]);
    c.sendMethod(1, 'basic.publish', { exchange: '', 'routing-key': q });
    c.write(encodeFrame(FRAME.header, 1, header));
    c.write(encodeFrame(FRAME.body, 1, Buffer.from('x')));
    const closed = await untilClose(c);
    const c2 = await ctx.rawOpen();
    c2.sendMethod(1, 'queue.declare', { queue: q, passive: true });
    const ok = await c2.expect('queue.declare-ok');
    c2.sendMethod(1, 'queue.delete', { queue: q });
    await c2.expect('queue.delete-ok');
    return { closed, messageCount: ok['message-count'] };
  },

  async 'content-header-headers-table-overruns-frame'(ctx) {
    // Flags: headers (bit 13); the table claims 100 bytes but the frame ends after 3.
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q, exclusive: true });
    await c.expect('queue.declare-ok');
    const header = Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x20, 0x00, 0, 0, 0, 100, 1, 2, 3]);
    c.sendMethod(1, 'basic.publish', { exchange: '', 'routing-key': q });
    c.write(encodeFrame(FRAME.header, 1, header));
    c.write(encodeFrame(FRAME.body, 1, Buffer.from('x')));
    return untilClose(c);
  },

  async 'content-header-trailing-bytes-after-properties'(ctx) {
    // Flags: delivery-mode only, then two bytes no property accounts for.
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q, exclusive: true });
    await c.expect('queue.declare-ok');
    const header = Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x10, 0x00, 2, 7, 7]);
    c.sendMethod(1, 'basic.publish', { exchange: '', 'routing-key': q });
    c.write(encodeFrame(FRAME.header, 1, header));
    c.write(encodeFrame(FRAME.body, 1, Buffer.from('x')));
    c.sendMethod(1, 'basic.get', { queue: q, 'no-ack': true });
    return untilClose(c);
  },

  async 'routing-key-invalid-utf8-too-long-when-decoded'(ctx) {
    // A routing key of 100 bytes 0xFF: valid as bytes, but not UTF-8 (it would decode to 300 bytes).
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q, exclusive: true });
    await c.expect('queue.declare-ok');
    c.sendMethod(1, 'queue.bind', { queue: q, exchange: 'amq.fanout', 'routing-key': '' });
    await c.expect('queue.bind-ok');
    const exchange = Buffer.from('amq.fanout');
    const payload = Buffer.concat([Buffer.from([0, 60, 0, 40, 0, 0, exchange.length]), exchange, Buffer.from([100]), Buffer.alloc(100, 0xff), Buffer.from([0])]);
    c.write(encodeFrame(FRAME.method, 1, payload));
    c.sendHeader(1, 1, {});
    c.write(encodeFrame(FRAME.body, 1, Buffer.from('x')));
    c.sendMethod(1, 'basic.get', { queue: q, 'no-ack': true });
    const first = await c.next(1000);
    return { first: summarize(first, { withArgs: false }), rest: await untilClose(c) };
  },

  async 'publish-split-at-every-byte'(ctx) {
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q });
    await c.expect('queue.declare-ok');
    const bytes = [];
    const orig = c.write.bind(c);
    c.write = (b) => bytes.push(b);
    c.publish(1, '', q, 'split-body', { 'content-type': 'text/plain', headers: { a: 1 } });
    c.write = orig;
    const all = Buffer.concat(bytes);
    for (let i = 0; i < all.length; i++) {
      c.write(all.subarray(i, i + 1));
      if (i % 16 === 0) await ctx.sleep(0);
    }
    c.sendMethod(1, 'basic.get', { queue: q, 'no-ack': true });
    return [summarize(await c.next()), summarize(await c.next()), summarize(await c.next())];
  },

  async 'many-frames-in-one-chunk'(ctx) {
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q });
    await c.expect('queue.declare-ok');
    const bytes = [];
    const orig = c.write.bind(c);
    c.write = (b) => bytes.push(b);
    c.sendMethod(1, 'confirm.select', {});
    for (let i = 0; i < 500; i++) c.publish(1, '', q, `m${i}`);
    c.write = orig;
    c.write(Buffer.concat(bytes));
    await c.expect('confirm.select-ok');
    // Wait for the confirm covering the last publish, then count.
    let last = 0;
    while (last < 500) {
      const ev = await c.next(3000);
      if (!ev?.method) return summarize(ev);
      last = ev.method.args['delivery-tag'];
    }
    c.sendMethod(1, 'queue.declare', { queue: q, passive: true });
    return summarize(await c.next(3000));
  },

  async 'zero-length-body-has-no-body-frame'(ctx) {
    const c = await ctx.rawOpen();
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q });
    await c.expect('queue.declare-ok');
    c.publish(1, '', q, '');
    c.sendMethod(1, 'basic.get', { queue: q, 'no-ack': true });
    const evs = [summarize(await c.next()), summarize(await c.next())];
    // Next thing after the header must be the reply to this qos, not a body frame.
    c.sendMethod(1, 'basic.qos', { 'prefetch-count': 1 });
    evs.push(summarize(await c.next()));
    return evs;
  },

  async 'large-body-split-at-frame-max'(ctx) {
    const c = await ctx.raw();
    await c.handshake({ frameMax: 4096 });
    await c.openChannel(1);
    const q = ctx.q();
    c.sendMethod(1, 'queue.declare', { queue: q });
    await c.expect('queue.declare-ok');
    const body = Buffer.alloc(10000, 0x61);
    c.sendMethod(1, 'basic.publish', { exchange: '', 'routing-key': q });
    c.sendHeader(1, body.length, {});
    for (let off = 0; off < body.length; off += 4088) c.sendBody(1, body.subarray(off, off + 4088));
    c.sendMethod(1, 'basic.get', { queue: q, 'no-ack': true });
    const evs = await c.collect(300);
    return evs.map((e) => (e.body ? { body: e.size } : summarize(e)));
  },

  async 'frames-after-channel-error-are-discarded'(ctx) {
    const c = await ctx.rawOpen();
    c.sendMethod(1, 'queue.declare', { queue: ctx.q('absent'), passive: true });
    const first = summarize(await c.next());
    // Before answering close-ok: these must be ignored, not answered.
    c.sendMethod(1, 'queue.declare', { queue: ctx.q('other'), exclusive: true });
    c.publish(1, '', 'nowhere', 'dropped');
    c.sendMethod(1, 'channel.close-ok', {});
    c.sendMethod(1, 'channel.open', {});
    const rest = await c.collect(300);
    return [first, ...closeOf(rest)];
  },

  async 'channel-flow-active-false'(ctx) {
    return hardError(ctx, (c) => c.sendMethod(1, 'channel.flow', { active: false }));
  },

  async 'channel-flow-active-true'(ctx) {
    const c = await ctx.rawOpen();
    c.sendMethod(1, 'channel.flow', { active: true });
    return summarize(await c.next());
  },

  async 'basic-qos-prefetch-size'(ctx) {
    return hardError(ctx, (c) => c.sendMethod(1, 'basic.qos', { 'prefetch-size': 1000, 'prefetch-count': 1 }));
  },

  async 'basic-recover-requeue-false'(ctx) {
    return hardError(ctx, (c) => c.sendMethod(1, 'basic.recover', { requeue: false }));
  },

  async 'basic-recover-async-then-qos'(ctx) {
    const c = await ctx.rawOpen();
    c.sendMethod(1, 'basic.recover-async', { requeue: true });
    c.sendMethod(1, 'basic.qos', { 'prefetch-count': 1 });
    return summarize(await c.next());
  },

  async 'access-request'(ctx) {
    const c = await ctx.rawOpen();
    c.sendMethod(1, 'access.request', { realm: '/data', active: true, read: true });
    return summarize(await c.next());
  },

  async 'connection-method-on-channel-1'(ctx) {
    return hardError(ctx, (c) => c.sendMethod(1, 'connection.tune-ok', { 'channel-max': 0, 'frame-max': 131072, heartbeat: 0 }));
  },

  async 'server-reply-frames-use-the-requesting-channel'(ctx) {
    const c = await ctx.rawOpen();
    await c.openChannel(7);
    c.sendMethod(7, 'basic.qos', { 'prefetch-count': 5 });
    c.sendMethod(1, 'basic.qos', { 'prefetch-count': 5 });
    // Order across channels is not defined (RabbitMQ runs a process per channel
    // and answers in either order), so compare the replies sorted by channel.
    const replies = [summarize(await c.next()), summarize(await c.next())];
    return replies.sort((a, b) => (a.ch ?? 0) - (b.ch ?? 0));
  },

  async 'amqplib-server-properties-keys'(ctx) {
    const conn = await ctx.conn();
    const sp = conn.connection.serverProperties;
    return { keys: Object.keys(sp).sort(), capabilities: sp.capabilities };
  },

  async 'amqplib-many-channels'(ctx) {
    const conn = await ctx.conn();
    const chans = [];
    for (let i = 0; i < 20; i++) chans.push(await conn.createChannel());
    const ids = chans.map((c) => c.ch);
    for (const c of chans.slice(0, 10)) await c.close();
    const more = await conn.createChannel();
    return { ids, reused: more.ch };
  },

  async 'amqplib-close-connection-with-open-channels'(ctx) {
    const conn = await ctx.amqp();
    const ch = await ctx.channel(conn);
    await ch.assertQueue('', { exclusive: true });
    await conn.close();
    return { conn: conn.events, ch: ch.events };
  },

  async 'rabbitmq-client-connect-and-declare'(ctx) {
    const rc = await ctx.rmq();
    const q = ctx.q();
    const r = await rc.queueDeclare({ queue: q, exclusive: true });
    return r;
  },

  async 'update-secret'(ctx) {
    const c = await ctx.rawOpen();
    c.sendMethod(0, 'connection.update-secret', { 'new-secret': 'guest', reason: 'rotate' });
    return untilClose(c, 300);
  },
};
