// A small client for one management API (RabbitMQ's or warren's) that records what a tool would
// observe: status, the error body, chosen headers, and JSON with volatile values masked, so the
// same scenario run against both can be compared field by field.
import { randomBytes } from 'node:crypto';

/** Keys whose values differ between any two nodes or runs; the key stays, the value is masked. */
const VOLATILE = new Set([
  'password_hash', 'node', 'name@node', 'os_pid', 'uptime', 'mem_used', 'mem_limit', 'disk_free', 'fd_used', 'fd_total',
  'sockets_used', 'sockets_total', 'proc_used', 'proc_total', 'run_queue', 'processors', 'db_dir', 'rate', 'erlang_version',
  'erlang_full_version', 'product_name', 'product_version', 'connected_at', 'port', 'peer_port', 'ports', 'missing', 'cluster_name',
]);

export function mask(v, key = '') {
  if (Array.isArray(v)) return v.map((x) => mask(x, key));
  if (v !== null && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v).sort()) out[k] = VOLATILE.has(k) ? `<${k}>` : mask(v[k], k);
    return out;
  }
  return v;
}

/** The shape of a value: its keys (sorted) and their JSON types, recursively for objects. */
export function shape(v) {
  if (Array.isArray(v)) return v.length === 0 ? '[]' : [shape(v[0])];
  if (v !== null && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v).sort()) out[k] = shape(v[k]);
    return out;
  }
  return v === null ? 'null' : typeof v;
}

export class Api {
  constructor(base, user = 'guest', pass = 'guest') {
    this.base = base;
    this.auth = [user, pass];
    /** Scenario names carry this prefix so both brokers see the same names and nothing clashes. */
    this.prefix = `mc-${randomBytes(3).toString('hex')}`;
  }

  as(user, pass) {
    const a = new Api(this.base, user, pass);
    a.prefix = this.prefix;
    return a;
  }

  async call(method, path, body, { auth = this.auth, headers = {} } = {}) {
    const h = { ...headers };
    if (auth !== null) h.authorization = `Basic ${Buffer.from(`${auth[0]}:${auth[1]}`).toString('base64')}`;
    if (body !== undefined) h['content-type'] = 'application/json';
    const res = await fetch(`${this.base}/api${path.replaceAll('{p}', this.prefix)}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = `<not json: ${text.slice(0, 40)}>`;
    }
    return { status: res.status, json, headers: res.headers };
  }

  /** What a client sees: the status and the masked body (names with the prefix shown as <P>). */
  async see(method, path, body, opts) {
    const r = await this.call(method, path, body, opts);
    const out = { status: r.status };
    if (r.json !== undefined) out.body = JSON.parse(JSON.stringify(mask(r.json)).replaceAll(this.prefix, '<P>'));
    if (r.headers.get('www-authenticate') !== null) out.challenge = true;
    return out;
  }
}
