// The rabbitmq.conf keys warren understands, what each sets in Config, and what it does with the
// rest of RabbitMQ's keys (the table; conf-map.ts applies it).
//
// Every setting falls in one of four groups, checked in this order:
//   1. KEYS: implemented; the value is checked and applied.
//   2. REFUSED: RabbitMQ keys warren does not implement and cannot ignore, because ignoring them would
//      make warren less strict than the file asks (TLS ciphers, trust store, other auth backends, ...).
//   3. IGNORED: RabbitMQ keys warren does not implement and can ignore safely (plugins, clustering,
//      Erlang tuning, log files, ...); each is logged once as a warning naming the key and line.
//   4. anything else: an unknown key, refused.
// Errors carry the line; the loader (config-file.ts) adds the file name.

import { isIP } from 'node:net';
import { AUTH_MECHANISMS, type AuthMechanism, type Config, type LogLevel } from './config.js';
import type { ConfEntry } from './conf-file.js';
import { bool, bytesize, ConfValueError, float, informationUnit, integer, listenAddress, oneOf, type ListenAddress } from './conf-values.js';

/** A setting accepted but not applied. */
export interface ConfWarning {
  readonly key: string;
  readonly line: number;
  readonly hint: string;
}

export interface Located<T> {
  readonly value: T;
  readonly line: number;
}

/** What the settings gather before the keys that depend on each other are combined. */
export interface Gathered {
  readonly out: Partial<Config>;
  readonly warnings: ConfWarning[];
  readonly tcp: Map<string, Located<ListenAddress>>;
  tcpNone: number | null;
  readonly ssl: Map<string, Located<ListenAddress>>;
  sslNone: number | null;
  /** First line of any ssl_options.* key: TLS settings were given. */
  sslOptionsLine: number | null;
  verify: Located<'verify_peer' | 'verify_none'> | null;
  failIfNoPeerCert: Located<boolean> | null;
  loopbackNone: number | null;
  readonly loopback: Map<string, boolean>;
  memRelative: number | null;
  memAbsolute: number | null;
  diskRelative: number | null;
  diskAbsolute: number | null;
  readonly mechanisms: Map<string, AuthMechanism>;
  readonly serverProperties: Record<string, string>;
  /** default_user_tags.$tag = true/false. */
  readonly userTags: Map<string, boolean>;
  readonly permissions: { configure?: string; write?: string; read?: string };
  /** load_definitions or definitions.local.path, whichever comes last. */
  definitionsPath: Located<string> | null;
  definitionsBackend: Located<string> | null;
}

export interface KeySpec {
  /** The key; `$name` stands for any one word. */
  readonly key: string;
  /** The values accepted. */
  readonly values: string;
  /** What it does in warren. */
  readonly effect: string;
  apply(value: string, entry: ConfEntry, g: Gathered): void;
}

/** The largest timer delay Node.js honours (2^31 - 1 ms, about 24.8 days); larger ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** AMQP 0-9-1 §4.2.3 FRAME-MIN-SIZE; frame_max is a 32-bit field. */
const FRAME_MIN = 4096;
const FRAME_MAX = 2 ** 32 - 1;
/** RabbitMQ's max_message_size ceiling: 512 MiB. */
const MESSAGE_SIZE_MAX = 512 * 1024 * 1024;

/** RabbitMQ's log levels (Erlang logger) to pino's. */
const LOG_LEVELS: Record<string, LogLevel> = {
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
  alert: 'fatal',
  emergency: 'fatal',
  none: 'silent',
};

function ipAddress(v: string): string {
  if (isIP(v) === 0) throw new ConfValueError(`'${v}' is not an IP address`);
  return v;
}

const INTERNAL_BACKENDS = ['internal', 'rabbit_auth_backend_internal'];

function set<K extends keyof Config>(field: K, parse: (v: string) => Config[K]): KeySpec['apply'] {
  return (v, _e, g) => {
    g.out[field] = parse(v);
  };
}

function last(e: ConfEntry): string {
  return e.path[e.path.length - 1] as string;
}

export const KEYS: readonly KeySpec[] = [
  {
    key: 'listeners.tcp.default',
    values: 'a port (every interface), or IP:port',
    effect: 'AMQP port and address (`--port`, `--host`)',
    apply: (v, e, g) => g.tcp.set(last(e), { value: listenAddress(v), line: e.line }),
  },
  {
    key: 'listeners.tcp.$name',
    values: 'as listeners.tcp.default',
    effect: 'the same; warren listens on one address, or on the pair 127.0.0.1 and ::1 with one port',
    apply: (v, e, g) => g.tcp.set(last(e), { value: listenAddress(v), line: e.line }),
  },
  {
    key: 'listeners.tcp',
    values: '`none`',
    effect: 'refused: warren always serves plain AMQP',
    apply: (v, e, g) => {
      oneOf(v, ['none']);
      g.tcpNone = e.line;
    },
  },
  {
    key: 'listeners.ssl.default',
    values: 'a port (every interface), or IP:port',
    effect: 'AMQPS (TLS) port (`--tls-port`); its address must be the AMQP one',
    apply: (v, e, g) => g.ssl.set(last(e), { value: listenAddress(v), line: e.line }),
  },
  {
    key: 'listeners.ssl.$name',
    values: 'as listeners.ssl.default',
    effect: 'the same (one TLS listener)',
    apply: (v, e, g) => g.ssl.set(last(e), { value: listenAddress(v), line: e.line }),
  },
  {
    key: 'listeners.ssl',
    values: '`none`',
    effect: 'no TLS listener',
    apply: (v, e, g) => {
      oneOf(v, ['none']);
      g.sslNone = e.line;
    },
  },
  {
    key: 'ssl_options.certfile',
    values: 'a readable PEM file',
    effect: 'TLS certificate (`--tls-cert`)',
    apply: (v, e, g) => {
      g.sslOptionsLine ??= e.line;
      g.out.tlsCert = v;
    },
  },
  {
    key: 'ssl_options.keyfile',
    values: 'a readable PEM file',
    effect: 'TLS private key (`--tls-key`)',
    apply: (v, e, g) => {
      g.sslOptionsLine ??= e.line;
      g.out.tlsKey = v;
    },
  },
  {
    key: 'ssl_options.cacertfile',
    values: 'a readable PEM file',
    effect: 'CAs client certificates must chain to (`--tls-ca`)',
    apply: (v, e, g) => {
      g.sslOptionsLine ??= e.line;
      g.out.tlsCa = v;
    },
  },
  {
    key: 'ssl_options.verify',
    values: '`verify_peer` or `verify_none` (the default, as in RabbitMQ)',
    effect: 'client certificate checking (`--tls-verify`); verify_peer needs fail_if_no_peer_cert = true',
    apply: (v, e, g) => {
      g.sslOptionsLine ??= e.line;
      g.verify = { value: oneOf(v, ['verify_peer', 'verify_none']), line: e.line };
    },
  },
  {
    key: 'ssl_options.fail_if_no_peer_cert',
    values: '`true` or `false`',
    effect: 'with verify_peer: refuse clients without a certificate',
    apply: (v, e, g) => {
      g.sslOptionsLine ??= e.line;
      g.failIfNoPeerCert = { value: bool(v), line: e.line };
    },
  },
  {
    key: 'default_user',
    values: 'a user name',
    effect: 'the user that exists out of the box, instead of guest',
    apply: (v, _e, g) => {
      if (v === '') throw new ConfValueError('the user name is empty');
      g.out.defaultUser = v;
    },
  },
  {
    key: 'default_pass',
    values: 'a password (quote it if it holds a #)',
    effect: "the default user's password",
    apply: (v, _e, g) => {
      g.out.defaultPass = v;
    },
  },
  {
    key: 'default_vhost',
    values: 'a vhost name (default `/`)',
    effect: 'the vhost created on the first start, where the default user gets default_permissions',
    apply: set('defaultVhost', (v) => {
      if (v === '') throw new ConfValueError('the vhost name is empty');
      return v;
    }),
  },
  {
    key: 'loopback_users',
    values: '`none`',
    effect: 'no user is limited to loopback',
    apply: (v, e, g) => {
      oneOf(v, ['none']);
      g.loopbackNone = e.line;
    },
  },
  {
    key: 'loopback_users.$name',
    values: '`true` or `false`',
    effect: 'the users set true may only connect from loopback; giving any replaces the default (guest)',
    apply: (v, e, g) => g.loopback.set(last(e), bool(v)),
  },
  {
    key: 'vm_memory_high_watermark.relative',
    values: 'a fraction of memory above 0 and below 1 (e.g. 0.4)',
    effect: 'memory alarm threshold; .absolute wins when both are set',
    apply: (v, _e, g) => {
      const f = float(v, 0, 1);
      // RabbitMQ takes 0 as "block all publishing"; warren's alarm takes 0 as no watermark at all.
      if (f === 0) throw new ConfValueError('0 (block all publishing) is not supported; give a fraction above 0');
      g.memRelative = f;
    },
  },
  {
    key: 'vm_memory_high_watermark.absolute',
    values: 'bytes, with an optional unit: 1073741824, 1024MiB, 1GB',
    effect: 'memory alarm threshold in bytes',
    apply: (v, _e, g) => {
      const n = informationUnit(v);
      if (n === 0) throw new ConfValueError('0 (block all publishing) is not supported; give a size above 0');
      g.memAbsolute = n;
    },
  },
  {
    key: 'disk_free_limit.absolute',
    values: 'bytes, with an optional unit: 50000000, 50MB, 2GiB',
    effect: 'free disk below which publishers are blocked; wins over .relative',
    apply: (v, _e, g) => {
      g.diskAbsolute = informationUnit(v);
    },
  },
  {
    key: 'disk_free_limit.relative',
    values: 'a multiple of total memory (e.g. 1.5)',
    effect: 'the same, as a multiple of total memory (as RabbitMQ)',
    apply: (v, _e, g) => {
      g.diskRelative = float(v, 0, Infinity);
    },
  },
  {
    key: 'consumer_timeout',
    values: 'milliseconds, at least 1',
    effect: 'how long a delivery may stay unacknowledged',
    apply: set('consumerTimeout', (v) => integer(v, 1, Number.MAX_SAFE_INTEGER)),
  },
  {
    key: 'max_message_size',
    values: 'bytes, 1 to 536870912',
    effect: 'largest message body accepted (`--max-message-size`)',
    apply: set('maxMessageSize', (v) => integer(v, 1, MESSAGE_SIZE_MAX)),
  },
  {
    key: 'heartbeat',
    values: 'seconds, 0 to 65535 (0: none)',
    effect: 'heartbeat interval offered in connection.tune',
    apply: set('heartbeat', (v) => integer(v, 0, 65535)),
  },
  {
    key: 'frame_max',
    values: 'bytes, 4096 to 4294967295, with an optional KB/MB (powers of 1024)',
    effect: 'largest frame offered in connection.tune',
    apply: set('frameMax', (v) => bytesize(v, FRAME_MIN, FRAME_MAX)),
  },
  {
    key: 'channel_max',
    values: '0 to 65535 (0: no limit, that is 65535)',
    effect: 'channels per connection offered in connection.tune',
    apply: set('channelMax', (v) => integer(v, 0, 65535) || 65535),
  },
  {
    key: 'handshake_timeout',
    values: 'milliseconds, or `infinity` (taken as 2147483647 ms)',
    effect: 'time from accept to connection.open (and the TLS handshake)',
    apply: set('handshakeTimeout', (v) => (v === 'infinity' ? MAX_TIMER_MS : integer(v, 1, MAX_TIMER_MS))),
  },
  {
    key: 'log.console',
    values: '`true` or `false`',
    effect: 'warren always logs to standard output; false is ignored with a warning (use log.console.level = none)',
    apply: (v, e, g) => {
      if (!bool(v)) g.warnings.push({ key: e.key, line: e.line, hint: 'warren always logs to standard output; set log.console.level = none to silence it' });
    },
  },
  {
    key: 'log.console.level',
    values: 'debug, info, notice, warning, error, critical, alert, emergency or none',
    effect: 'log level (`--log-level`); notice logs as info, critical and above as fatal',
    apply: set('logLevel', (v) => LOG_LEVELS[oneOf(v, Object.keys(LOG_LEVELS))] as LogLevel),
  },
  {
    key: 'default_user_tags.$name',
    values: '`true` or `false`',
    effect: 'the tags of the default user created on the first start (default administrator); giving any replaces the default',
    apply: (v, e, g) => g.userTags.set(last(e), bool(v)),
  },
  {
    key: 'default_permissions.$name',
    values: '`configure`, `write` or `read` = a regular expression',
    effect: "the default user's permissions in the default vhost (default `.*` each)",
    apply: (v, e, g) => {
      const which = oneOf(last(e), ['configure', 'write', 'read']);
      try {
        new RegExp(v === '' ? '^$' : v);
      } catch {
        throw new ConfValueError(`'${v}' is not a valid regular expression`);
      }
      g.permissions[which] = v;
    },
  },
  {
    key: 'load_definitions',
    values: 'a definitions file, or a directory of .json files',
    effect: 'imported at every start; a bad file stops the start; with it, the first start creates no default user or vhost',
    apply: (v, e, g) => {
      if (v === '') throw new ConfValueError('the path is empty');
      g.definitionsPath = { value: v, line: e.line };
    },
  },
  {
    key: 'definitions.local.path',
    values: 'as load_definitions',
    effect: 'the same, with definitions.import_backend = local_filesystem',
    apply: (v, e, g) => {
      if (v === '') throw new ConfValueError('the path is empty');
      g.definitionsPath = { value: v, line: e.line };
    },
  },
  {
    key: 'definitions.import_backend',
    values: '`local_filesystem`',
    effect: 'where boot definitions come from; the HTTPS backend is refused',
    apply: (v, e, g) => {
      g.definitionsBackend = { value: oneOf(v, ['local_filesystem', 'rabbit_definitions_import_local_filesystem']), line: e.line };
    },
  },
  {
    key: 'definitions.skip_if_unchanged',
    values: '`true` or `false`',
    effect: 'skip the boot import when the definitions did not change since the last one (SHA-256 of the content)',
    apply: set('definitionsSkipIfUnchanged', bool),
  },
  {
    key: 'ssl_cert_login_from',
    values: '`distinguished_name` (the default) or `common_name`',
    effect: 'with EXTERNAL: the user name a client certificate logs in as',
    apply: set('sslCertLoginFrom', (v) => oneOf(v, ['distinguished_name', 'common_name'])),
  },
  {
    key: 'auth_mechanisms.$name',
    values: '`PLAIN`, `AMQPLAIN` or `EXTERNAL`',
    effect: 'the SASL mechanisms offered (EXTERNAL only on TLS connections with a verified client certificate); giving any replaces the default (PLAIN and AMQPLAIN)',
    apply: (v, e, g) => {
      if (!AUTH_MECHANISMS.includes(v as AuthMechanism)) {
        throw new ConfValueError(`authentication mechanism '${v}' is not supported (warren offers ${AUTH_MECHANISMS.join(', ')})`);
      }
      g.mechanisms.set(last(e), v as AuthMechanism);
    },
  },
  {
    key: 'auth_backends.$name',
    values: '`internal`',
    effect: 'the built-in user database, the only backend warren has',
    apply: (v) => {
      if (!INTERNAL_BACKENDS.includes(v)) {
        throw new ConfValueError(`auth backend '${v}' is not supported (warren has only the internal user database)`);
      }
    },
  },
  {
    key: 'prometheus.tcp.port',
    values: 'a port',
    effect: 'serve Prometheus metrics at /metrics, /metrics/per-object and /metrics/detailed on this port (`--metrics-port`)',
    apply: set('metricsPort', (v) => integer(v, 0, 65535)),
  },
  {
    key: 'management.tcp.port',
    values: 'a port',
    effect: 'the management HTTP API on this port (`--management-port`; `warren serve` default 15672)',
    apply: set('managementPort', (v) => integer(v, 0, 65535)),
  },
  {
    key: 'management.tcp.ip',
    values: 'an IP address',
    effect: 'the management API\'s address (`--management-host`; default 127.0.0.1)',
    apply: set('managementHost', (v) => ipAddress(v)),
  },
  {
    key: 'management.ssl.port',
    values: 'a port',
    effect: 'the management API over HTTPS on this port (needs management.ssl.certfile and keyfile)',
    apply: set('managementTlsPort', (v) => integer(v, 0, 65535)),
  },
  { key: 'management.ssl.certfile', values: 'a file', effect: 'PEM certificate for the HTTPS management listener', apply: set('managementTlsCert', (v) => v) },
  { key: 'management.ssl.keyfile', values: 'a file', effect: 'PEM private key for management.ssl.certfile', apply: set('managementTlsKey', (v) => v) },
  { key: 'management.ssl.cacertfile', values: 'a file', effect: 'PEM CAs for client certificates on the HTTPS management listener', apply: set('managementTlsCa', (v) => v) },
  {
    key: 'prometheus.tcp.ip',
    values: 'an IP address',
    effect: 'the address the metrics listener binds (`--metrics-host`)',
    apply: set('metricsHost', (v) => {
      if (isIP(v) === 0) throw new ConfValueError(`'${v}' is not an IP address`);
      return v;
    }),
  },
  {
    key: 'prometheus.return_per_object_metrics',
    values: '`true` or `false`',
    effect: '/metrics gives one sample per queue, channel and exchange instead of sums (`--metrics-per-object`)',
    apply: set('metricsPerObject', bool),
  },
  {
    key: 'proxy_protocol',
    values: '`false`',
    effect: 'warren does not read the PROXY protocol header; true is refused',
    apply: (v) => {
      if (bool(v)) throw new ConfValueError('the PROXY protocol is not supported');
    },
  },
  {
    key: 'server_properties.$name',
    values: 'a string',
    effect: 'warren extension: a connection.start server property (product, version, platform, ...); not capabilities',
    apply: (v, e, g) => {
      const name = last(e);
      if (name === 'capabilities') throw new ConfValueError('the capabilities table cannot be replaced');
      g.serverProperties[name] = v;
    },
  },
];

/** RabbitMQ keys refused: ignoring them would make warren less strict than the file asks. */
export const REFUSED: readonly { readonly key: string; readonly reason: string }[] = [
  { key: 'ssl_options.versions.$name', reason: 'TLS versions cannot be restricted yet' },
  { key: 'ssl_options.ciphers.$name', reason: 'TLS cipher suites cannot be restricted yet' },
  { key: 'ssl_options.crl_check', reason: 'certificate revocation lists are not checked' },
  { key: 'ssl_options.depth', reason: 'the certificate chain depth cannot be limited' },
  { key: 'ssl_options.password', reason: 'encrypted private keys are not supported' },
  { key: 'ssl_options.cacerts.**', reason: 'give the CAs as a file with ssl_options.cacertfile' },
  { key: 'ssl_options.cert', reason: 'give the certificate as a file with ssl_options.certfile' },
  { key: 'ssl_options.key.**', reason: 'give the key as a file with ssl_options.keyfile' },
  { key: 'ssl_options.dh', reason: 'custom Diffie-Hellman parameters are not supported' },
  { key: 'ssl_options.dhfile', reason: 'custom Diffie-Hellman parameters are not supported' },
  { key: 'auth_backends.$name.**', reason: 'warren has only the internal user database' },
  { key: 'trust_store.**', reason: 'the trust store plugin (client certificate allow-list) is not implemented' },
  { key: 'definitions.https.**', reason: 'definitions are read from the local file system only (definitions.local.path)' },
  { key: 'definitions.tls.**', reason: 'definitions are read from the local file system only (definitions.local.path)' },
];

/** RabbitMQ keys accepted and ignored (with a warning): plugins, clustering, Erlang and log-file tuning. */
export const IGNORED: readonly string[] = [
  // Plugins warren does not have (the Prometheus endpoint and the management API are built in: the
  // prometheus.tcp.port and management.tcp/ssl keys above; other management.* settings are ignored).
  'management.**', 'management_agent.**', 'mqtt.**', 'web_mqtt.**', 'stomp.**', 'web_stomp.**', 'stream.**',
  'amqp1_0.**', 'event_exchange.**', 'prometheus.**', 'auth_ldap.**', 'auth_http.**', 'auth_cache.**', 'auth_oauth2.**',
  'federation.**', 'shovel.**', 'aws.**',
  // Clustering and the Erlang runtime.
  'cluster_formation.**', 'cluster_name', 'cluster_partition_handling', 'cluster_partition_handling.**',
  'cluster_keepalive_interval', 'cluster_queue_limit', 'net_ticktime', 'distribution.**', 'erlang.**', 'raft.**',
  'sysmon_handler.**', 'delegate_count', 'default_worker_pool_size', 'hipe_compile', 'background_gc_enabled',
  'background_gc_target_interval', 'mnesia_table_loading_retry_limit', 'mnesia_table_loading_retry_timeout',
  'metadata_store.**', 'mirroring_sync_batch_size', 'mirroring_sync_max_throughput', 'queue_master_locator',
  'queue_leader_locator', 'vhost_restart_strategy', 'message_store_shutdown_timeout', 'queue_index_embed_msgs_below',
  'socket_writer.gc_threshold', 'num_acceptors.**', 'tcp_listen_options', 'tcp_listen_options.**', 'reverse_dns_lookups',
  'vm_memory_calculation_strategy', 'vm_memory_high_watermark_paging_ratio', 'memory_monitor_interval',
  'total_memory_available_override_value', 'collect_statistics', 'collect_statistics_interval', 'initial_frame_max',
  'classic_queue.**', 'quorum_queue.**', 'default_queue_type', 'deprecated_features.**', 'message_interceptors.**',
  'runtime_parameters.**', 'channel_max_per_node', 'consumer_max_per_channel', 'connection_max', 'vhost_max',
  // Policies and limits on the first start, hashing and password rules not implemented.
  'definitions.**', 'default_users.**',
  'default_policies.**', 'default_limits.**', 'password_hashing_module', 'credential_validator.**',
  'ssl_cert_login_san_type', 'ssl_cert_login_san_index',
  // Product banners and logging destinations other than standard output.
  'product.name', 'product.version', 'motd_file', 'log.**',
  // TLS settings that only relax or tune the handshake.
  'ssl_options', 'ssl_options.client_renegotiation', 'ssl_options.honor_cipher_order', 'ssl_options.honor_ecc_order',
  'ssl_options.log_level', 'ssl_options.log_alert', 'ssl_options.reuse_sessions', 'ssl_options.secure_renegotiate',
  'ssl_options.bypass_pem_cache', 'ssl_options.psk_identity', 'ssl_handshake_timeout', 'ssl_allow_poodle_attack',
];

/** `$name` (or `*`) matches one word; a trailing `**` matches one or more. */
export function keyMatches(pattern: string, path: readonly string[]): boolean {
  const p = pattern.split('.');
  for (let i = 0; i < p.length; i++) {
    const w = p[i] as string;
    if (w === '**') return i === p.length - 1 && path.length > i;
    if (i >= path.length) return false;
    if (w.startsWith('$') || w === '*') continue;
    if (w !== path[i]) return false;
  }
  return p.length === path.length;
}

/** Why an ignored key does nothing, where a general "not implemented" says too little. */
export const IGNORED_HINTS: readonly { readonly prefix: string; readonly hint: string }[] = [
  { prefix: 'log.', hint: 'warren logs to standard output only; its level is log.console.level' },
  { prefix: 'definitions.', hint: 'not implemented; boot definitions use load_definitions or definitions.local.path' },
];
