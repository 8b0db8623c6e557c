// The interop runner's toolbox: the per-scenario context handed to every scenario
// (connections that are tracked and torn down, unique names that are cleaned up, error
// capture), normalisation of unstable values, and the structural diff.
import amqplib from 'amqplib';
import { Connection as RmqConnection } from 'rabbitmq-client';
import { randomBytes } from 'node:crypto';
import { RawClient } from './raw-client.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Reply text from an amqplib error message: `... with message "TEXT"`. */
function replyText(message) {
  const m = /with message "(.*)"$/s.exec(message ?? '');
  return m ? m[1] : undefined;
}

/** A compact, comparable description of anything thrown by a client library. */
export function describeError(e) {
  if (e == null) return { error: String(e) };
  if (typeof e.code === 'number') {
    const out = { code: e.code, text: replyText(e.message) ?? e.message };
    if (e.classId) out.classId = e.classId;
    if (e.methodId) out.methodId = e.methodId;
    return out;
  }
  if (typeof e.code === 'string' && e.constructor?.name?.startsWith('AMQP')) {
    return { code: e.code, text: e.message };
  }
  return { error: String(e.message ?? e) };
}

export class Context {
  constructor({ target, url, timeoutMs, admin = null }) {
    this.target = target;
    this.url = url;
    // Users, vhosts, permissions and limits (access-admin.mjs); null when the target has none.
    this.admin = admin;
    this.cleanups = [];
    const u = new URL(url);
    this.host = u.hostname;
    this.port = Number(u.port || 5672);
    this.timeoutMs = timeoutMs;
    // Short and lower-case so it fits in names and routing keys; normalised to <P> in output.
    this.prefix = `wi${randomBytes(4).toString('hex')}-`;
    this.queues = new Set();
    this.exchanges = new Set();
    this.closers = [];
    this.conns = [];
    this.destroyers = [];
    this.background = []; // errors thrown outside a scenario's await chain
    this._default = null;
  }

  /** A unique name for this run. */
  name(s = '') {
    return this.prefix + s;
  }
  /** A unique queue name, deleted after the scenario. */
  q(s = 'q') {
    const n = this.name(s);
    this.queues.add(n);
    return n;
  }
  /** A unique exchange name, deleted after the scenario. */
  x(s = 'x') {
    const n = this.name(s);
    this.exchanges.add(n);
    return n;
  }
  sleep(ms) {
    return sleep(ms);
  }

  /**
   * An amqplib connection; `conn.events` records what the connection reports (errors with
   * reply code/text, close). Closed after the scenario.
   */
  async amqp(opts = {}) {
    const url = opts.url ?? this.url;
    const conn = await amqplib.connect(url, { heartbeat: 0, ...opts.socket });
    conn.events = [];
    conn.on('error', (e) => conn.events.push({ event: 'error', ...describeError(e) }));
    conn.on('close', (e) => conn.events.push({ event: 'close', ...(e ? describeError(e) : {}) }));
    conn.on('blocked', (reason) => conn.events.push({ event: 'blocked', reason }));
    conn.on('unblocked', () => conn.events.push({ event: 'unblocked' }));
    this.conns.push(conn);
    this.closers.push(() => conn.close());
    this.destroyers.push(() => conn.connection?.stream?.destroy());
    return conn;
  }

  /**
   * Errors reported on amqplib connections during the scenario (hard errors such as 503 or
   * 540 close the connection; the runner adds these to every observation automatically).
   */
  connectionErrors() {
    return this.conns.flatMap((c) => c.events.filter((e) => e.event === 'error'));
  }

  /** Channels whose events (error, close, return, cancel, ack, nack) are recorded in `ch.events`. */
  watch(ch) {
    ch.events = [];
    ch.on('error', (e) => ch.events.push({ event: 'error', ...describeError(e) }));
    ch.on('close', () => ch.events.push({ event: 'close' }));
    ch.on('return', (m) => ch.events.push({ event: 'return', ...this.msg(m) }));
    ch.on('cancel', (f) => ch.events.push({ event: 'cancel' }));
    return ch;
  }

  async channel(conn) {
    conn = conn ?? (await this.conn());
    return this.watch(await conn.createChannel());
  }
  async confirmChannel(conn) {
    conn = conn ?? (await this.conn());
    return this.watch(await conn.createConfirmChannel());
  }
  /** The scenario's default amqplib connection (created on first use). */
  async conn() {
    if (!this._default) this._default = await this.amqp();
    return this._default;
  }

  /** A raw-frame client, connected (not yet handshaken). */
  async raw() {
    const c = await RawClient.connect({ host: this.host, port: this.port });
    this.destroyers.push(() => c.close());
    this.closers.push(() => c.close());
    return c;
  }
  /** A raw client after handshake with channel 1 open. */
  async rawOpen(opts) {
    const c = await this.raw();
    c.start = await c.handshake(opts);
    await c.openChannel(1);
    return c;
  }

  /** A rabbitmq-client connection (no automatic reconnection). */
  async rmq() {
    const conn = new RmqConnection({ url: this.url, retryLow: 50, retryHigh: 50, connectionTimeout: 3000, heartbeat: 0 });
    conn.events = [];
    conn.on('error', (e) => conn.events.push({ event: 'error', ...describeError(e) }));
    this.closers.push(() => conn.close());
    this.destroyers.push(() => conn.unsafeDestroy());
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('rabbitmq-client connect timeout')), 3000);
      conn.once('connection', () => { clearTimeout(t); resolve(); });
    });
    return conn;
  }

  /** Runs fn (or awaits a promise): { ok: value } or { error: {code, text} }. */
  async attempt(fnOrPromise) {
    try {
      const v = typeof fnOrPromise === 'function' ? await fnOrPromise() : await fnOrPromise;
      return { ok: v === undefined ? true : v };
    } catch (e) {
      return { error: describeError(e) };
    }
  }

  /** A comparable view of an amqplib message (delivered, got or returned). */
  msg(m) {
    if (!m) return m;
    const props = {};
    for (const [k, v] of Object.entries(m.properties ?? {})) {
      if (v === undefined) continue;
      if (k === 'headers') {
        if (Object.keys(v).length === 0) continue;
        props.headers = normaliseDeathHeaders(v);
      } else props[k] = v;
    }
    const f = m.fields ?? {};
    const fields = {};
    for (const k of ['deliveryTag', 'redelivered', 'exchange', 'routingKey', 'messageCount', 'replyCode', 'replyText']) {
      if (f[k] !== undefined) fields[k] = f[k];
    }
    return { body: m.content.toString('utf8'), ...fields, ...(Object.keys(props).length ? { props } : {}) };
  }

  /** Consume from queue collecting messages (as `msg` views) into an array. */
  async collect(ch, queue, opts = {}) {
    const got = [];
    got.raw = [];
    const ok = await ch.consume(queue, (m) => {
      if (m === null) {
        got.push('consumer-cancelled');
        return;
      }
      got.raw.push(m);
      got.push(this.msg(m));
    }, opts);
    got.tag = ok.consumerTag;
    return got;
  }

  /** Drains a queue with basic.get (no-ack) and returns the bodies. */
  async drain(ch, queue, max = 100) {
    const out = [];
    for (let i = 0; i < max; i++) {
      const m = await ch.get(queue, { noAck: true });
      if (!m) break;
      out.push(m.content.toString('utf8'));
    }
    return out;
  }

  /** Waits until predicate() is truthy or ms pass; returns the last value. */
  async until(predicate, ms = 1000, step = 5) {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await predicate();
      if (v || Date.now() >= deadline) return v;
      await sleep(step);
    }
  }

  async teardown() {
    const bounded = (p, ms) => Promise.race([Promise.resolve().then(p).catch(() => {}), sleep(ms)]);
    await Promise.all(this.closers.map((c) => bounded(c, 1000)));
    for (const d of this.destroyers) {
      try { d(); } catch { /* already gone */ }
    }
    await this.cleanupNames();
    for (const c of this.cleanups.splice(0)) await Promise.race([Promise.resolve().then(c).catch(() => {}), sleep(20000)]);
  }

  /** Force-closes everything at once (after a timeout). */
  destroy() {
    for (const d of this.destroyers) {
      try { d(); } catch { /* already gone */ }
    }
  }

  async cleanupNames() {
    if (!this.queues.size && !this.exchanges.size) return;
    let conn;
    try {
      conn = await amqplib.connect(this.url, { heartbeat: 0 });
      conn.on('error', () => {});
      let ch = null;
      const fresh = async () => {
        ch = await conn.createChannel();
        ch.on('error', () => {});
      };
      await fresh();
      const run = async (fn) => {
        try { await fn(ch); } catch { await fresh().catch(() => {}); }
      };
      for (const q of this.queues) await run((c) => c.deleteQueue(q));
      for (const x of this.exchanges) await run((c) => c.deleteExchange(x));
    } catch {
      /* the broker may be gone; nothing to clean then */
    } finally {
      if (conn) await Promise.race([conn.close().catch(() => {}), sleep(1000)]);
      conn?.connection?.stream?.destroy();
    }
  }
}

/** x-death carries a time that differs per run; replace it (and keep the rest). */
function normaliseDeathHeaders(h) {
  const out = { ...h };
  if (Array.isArray(out['x-death'])) {
    out['x-death'] = out['x-death'].map((d) => (d && typeof d === 'object' && 'time' in d ? { ...d, time: '<time>' } : d));
  }
  return out;
}

// ------------------------------------------------------------------ normalisation

const UNSTABLE = [
  [/amq\.gen-[A-Za-z0-9_-]{22}/g, 'amq.gen-<id>'],
  [/amq\.ctag-[A-Za-z0-9_-]{22}/g, 'amq.ctag-<id>'],
  [/amq\.rabbitmq\.reply-to\.[A-Za-z0-9_.=+/-]+/g, 'amq.rabbitmq.reply-to.<token>'],
];

/** Makes an observation comparable across brokers and runs: JSON-safe, no run-specific names. */
export function normalise(v, prefix) {
  const str = (s) => {
    let out = prefix ? s.split(prefix).join('<P>') : s;
    for (const [re, rep] of UNSTABLE) out = out.replace(re, rep);
    return out;
  };
  const walk = (x) => {
    if (x === undefined) return undefined;
    if (x === null) return null;
    if (typeof x === 'string') return str(x);
    if (typeof x === 'bigint') return `${x}n`;
    if (typeof x === 'number' || typeof x === 'boolean') return x;
    if (typeof x === 'function') return '<function>';
    if (Buffer.isBuffer(x)) return str(x.toString('utf8'));
    if (x instanceof Date) return '<date>';
    if (x instanceof Error) return { error: str(String(x.message)) };
    if (Array.isArray(x)) return x.map((e) => (e === undefined ? null : walk(e)));
    if (typeof x === 'object') {
      const out = {};
      for (const k of Object.keys(x).sort()) {
        const w = walk(x[k]);
        if (w !== undefined) out[str(k)] = w;
      }
      return out;
    }
    return String(x);
  };
  return walk(v);
}

// ------------------------------------------------------------------ diff

const isObj = (v) => v !== null && typeof v === 'object';

/** Walks both values; reports a difference at the highest path where they stop matching. */
function compare(a, b, path, out) {
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) compare(a[k], b[k], path ? `${path}.${k}` : k, out);
    return out;
  }
  const x = a === undefined ? '(absent)' : JSON.stringify(a);
  const y = b === undefined ? '(absent)' : JSON.stringify(b);
  if (x !== y) out.push([path || '.', x, y]);
  return out;
}

/** Differences as lines `path: rabbitmq=… warren=…`; empty when equal. */
export function diff(a, b, { labels = ['rabbitmq', 'warren'], max = 12 } = {}) {
  const lines = compare(a, b, '', []).map(([p, x, y]) => `${p}: ${labels[0]}=${clip(x)} ${labels[1]}=${clip(y)}`);
  if (lines.length > max) return [...lines.slice(0, max), `… ${lines.length - max} more`];
  return lines;
}

function clip(s, n = 220) {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
