// Applying rabbitmq.conf settings (conf-file.ts) through the key table (conf-keys.ts): each setting
// is applied, refused or ignored with a warning, then the keys that only mean something together
// (listeners, TLS verification, watermarks, user lists) are combined into a Partial<Config>.

import type { Config, TlsVerify } from './config.js';
import type { ConfEntry } from './conf-file.js';
import { IGNORED, IGNORED_HINTS, KEYS, keyMatches, REFUSED } from './conf-keys.js';
import type { ConfWarning, Gathered, Located } from './conf-spec.js';
import { ConfValueError, type ListenAddress } from './conf-values.js';

/** A setting that cannot be applied: unknown, refused, or of a bad value. */
export class ConfKeyError extends Error {
  override readonly name = 'ConfKeyError';
  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    super(`line ${line}: ${detail}`);
  }
}

export interface MappedConf {
  readonly config: Partial<Config>;
  readonly warnings: readonly ConfWarning[];
}

export interface MapOptions {
  /** Total memory in bytes, for disk_free_limit.relative. */
  readonly totalMemory: number;
}

/** Apply parsed settings in order (a later line wins); throws ConfKeyError for the first bad one. */
export function mapConf(entries: readonly ConfEntry[], options: MapOptions): MappedConf {
  const g: Gathered = {
    out: {},
    warnings: [],
    tcp: new Map(),
    tcpNone: null,
    ssl: new Map(),
    sslNone: null,
    sslOptionsLine: null,
    verify: null,
    failIfNoPeerCert: null,
    loopbackNone: null,
    loopback: new Map(),
    memRelative: null,
    memAbsolute: null,
    diskRelative: null,
    diskAbsolute: null,
    mechanisms: new Map(),
    serverProperties: {},
    userTags: new Map(),
    permissions: {},
    definitionsPath: null,
    definitionsBackend: null,
  };
  const warned = new Set<string>();
  for (const e of entries) {
    const spec = KEYS.find((k) => keyMatches(k.key, e.path));
    if (spec !== undefined) {
      try {
        spec.apply(e.value, e, g);
      } catch (err) {
        if (err instanceof ConfValueError) throw new ConfKeyError(e.line, `${e.key}: ${err.message}`);
        throw err;
      }
      continue;
    }
    const refused = REFUSED.find((r) => keyMatches(r.key, e.path));
    if (refused !== undefined) throw new ConfKeyError(e.line, `${e.key} is not supported: ${refused.reason}`);
    if (IGNORED.some((k) => keyMatches(k, e.path))) {
      if (!warned.has(e.key)) {
        warned.add(e.key);
        const hint = IGNORED_HINTS.find((h) => e.key.startsWith(h.prefix))?.hint ?? 'not implemented by warren';
        g.warnings.push({ key: e.key, line: e.line, hint });
      }
      continue;
    }
    throw new ConfKeyError(e.line, `unknown key '${e.key}'`);
  }
  combine(g, options);
  return { config: g.out, warnings: g.warnings };
}

/** Settings that only mean something together: listeners, TLS verification, limits, user lists. */
function combine(g: Gathered, options: MapOptions): void {
  if (g.tcpNone !== null) throw new ConfKeyError(g.tcpNone, 'listeners.tcp = none is not supported: warren always serves plain AMQP');
  const tcp = oneListener(g.tcp, 'tcp');
  const ssl = g.sslNone !== null ? null : oneListener(g.ssl, 'ssl');
  if (tcp !== null) {
    g.out.host = tcp.host;
    g.out.port = tcp.port;
  }
  if (g.sslNone !== null) g.out.tlsPort = null;
  if (ssl !== null) {
    if (tcp !== null && tcp.host !== ssl.host) {
      throw new ConfKeyError(ssl.line, 'the TLS listener must use the same address as the AMQP listener (warren binds one address for both)');
    }
    if (tcp === null) g.out.host = ssl.host;
    g.out.tlsPort = ssl.port;
  }
  const verify = tlsVerify(g);
  if (verify !== null) g.out.tlsVerify = verify;
  if (g.memAbsolute !== null) g.out.memoryHighWatermark = g.memAbsolute;
  else if (g.memRelative !== null) g.out.memoryHighWatermark = g.memRelative;
  if (g.diskAbsolute !== null) g.out.diskFreeLimit = g.diskAbsolute;
  else if (g.diskRelative !== null) g.out.diskFreeLimit = Math.floor(g.diskRelative * options.totalMemory);
  if (g.loopbackNone !== null) g.out.loopbackUsers = [];
  else if (g.loopback.size > 0) g.out.loopbackUsers = [...g.loopback].filter(([, only]) => only).map(([name]) => name);
  if (g.mechanisms.size > 0) g.out.authMechanisms = [...new Set(g.mechanisms.values())];
  if (Object.keys(g.serverProperties).length > 0) g.out.serverProperties = g.serverProperties;
  if (g.userTags.size > 0) g.out.defaultUserTags = [...g.userTags].filter(([, on]) => on).map(([tag]) => tag);
  if (Object.keys(g.permissions).length > 0) g.out.defaultPermissions = { configure: '.*', write: '.*', read: '.*', ...g.permissions };
  if (g.definitionsPath !== null) g.out.loadDefinitions = g.definitionsPath.value;
  else if (g.definitionsBackend !== null) throw new ConfKeyError(g.definitionsBackend.line, 'definitions.import_backend needs definitions.local.path');
}

/** Host value for "every interface": IPv6 any, which on Linux also accepts IPv4. */
export const ALL_INTERFACES = '::';
const LOOPBACK_PAIR = ['127.0.0.1', '::1'];

/** The one listener a protocol may have; null host is warren's loopback pair. */
function oneListener(m: Map<string, Located<ListenAddress>>, kind: string): { host: string | null; port: number; line: number } | null {
  const all = [...m.values()];
  const first = all[0];
  if (first === undefined) return null;
  const line = Math.max(...all.map((l) => l.line));
  if (all.length === 1) return { host: first.value.ip ?? ALL_INTERFACES, port: first.value.port, line };
  const ips = all.map((l) => l.value.ip ?? '').sort();
  if (all.length === 2 && all.every((l) => l.value.port === first.value.port) && ips.join(',') === LOOPBACK_PAIR.join(',')) {
    return { host: null, port: first.value.port, line };
  }
  throw new ConfKeyError(
    line,
    `listeners.${kind} has ${all.length} listeners; warren listens on one address (or on 127.0.0.1 and ::1 with one port)`,
  );
}

/** RabbitMQ's verify + fail_if_no_peer_cert, as far as warren's peer/none can say it. */
function tlsVerify(g: Gathered): TlsVerify | null {
  const fail = g.failIfNoPeerCert;
  if (g.verify?.value === 'verify_peer') {
    if (fail?.value !== true) {
      throw new ConfKeyError(
        g.verify.line,
        'ssl_options.verify = verify_peer needs ssl_options.fail_if_no_peer_cert = true (warren refuses clients without a valid certificate)',
      );
    }
    return 'peer';
  }
  if (fail?.value === true) throw new ConfKeyError(fail.line, 'ssl_options.fail_if_no_peer_cert = true needs ssl_options.verify = verify_peer');
  // RabbitMQ (Erlang's TLS server) does not ask for client certificates unless told to.
  return g.sslOptionsLine !== null ? 'none' : null;
}
