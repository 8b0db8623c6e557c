// Typed broker configuration: defaults, validation, and merging of env and flags.

export type SyncMode = 'always' | 'batch' | 'off';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** TLS client-certificate checking: `peer` requests a certificate and refuses a client without a valid one. */
export type TlsVerify = 'peer' | 'none';

/** SASL mechanisms warren implements (RabbitMQ's auth_mechanisms). */
export type AuthMechanism = 'PLAIN' | 'AMQPLAIN' | 'EXTERNAL';
export const AUTH_MECHANISMS: readonly AuthMechanism[] = ['PLAIN', 'AMQPLAIN', 'EXTERNAL'];
/** RabbitMQ's ssl_cert_login_from: which part of a client certificate names the EXTERNAL user. */
export type CertLoginFrom = 'distinguished_name' | 'common_name';

export interface PermissionPatternsConfig {
  configure: string;
  write: string;
  read: string;
}

export interface UserConfig {
  name: string;
  password: string;
  /** Like RabbitMQ's loopback_users: this user may only connect from loopback. */
  loopbackOnly: boolean;
}

export interface Config {
  /**
   * Address to listen on. null (the default): loopback on both families, 127.0.0.1 and ::1
   * (::1 only where the machine has IPv6 loopback). An explicit host listens only there.
   */
  host: string | null;
  port: number;
  /** Port for AMQP over TLS (amqps; RabbitMQ's convention is 5671). null: no TLS listener; 0 picks a free port. */
  tlsPort: number | null;
  /** PEM file of the broker's certificate (and chain) for the TLS listener. */
  tlsCert: string | null;
  /** PEM file of the private key for tlsCert. */
  tlsKey: string | null;
  /** PEM file of the CAs that client certificates must chain to. */
  tlsCa: string | null;
  /** Client-certificate checking; null means `peer` when tlsCa is given, `none` otherwise. */
  tlsVerify: TlsVerify | null;
  /** Directory for durable definitions and messages. */
  dataDir: string;
  logLevel: LogLevel;
  sync: SyncMode;
  /** fsync interval when sync = batch. */
  syncIntervalMs: number;
  /** RabbitMQ's channel_max default. */
  channelMax: number;
  /** RabbitMQ's frame_max default: 128 KiB. */
  frameMax: number;
  /** Seconds; RabbitMQ's default heartbeat. */
  heartbeat: number;
  /** RabbitMQ's max_message_size default: 128 MiB. */
  maxMessageSize: number;
  /**
   * The users who may log in. When not given, it is the one default user built from defaultUser,
   * defaultPass and loopbackUsers (RabbitMQ's default_user, default_pass and loopback_users).
   */
  users: UserConfig[];
  /** RabbitMQ's default_user: the user that exists out of the box (guest). */
  defaultUser: string;
  /** RabbitMQ's default_pass. */
  defaultPass: string;
  /** RabbitMQ's default_vhost: the vhost created on the first start (default '/'). */
  defaultVhost: string;
  /** RabbitMQ's loopback_users: users who may only connect from loopback (default guest). */
  loopbackUsers: string[];
  /** RabbitMQ's auth_mechanisms: the SASL mechanisms offered in connection.start. */
  authMechanisms: AuthMechanism[];
  /** RabbitMQ's ssl_cert_login_from: the EXTERNAL user is the certificate's subject DN (default) or its CN. */
  sslCertLoginFrom: CertLoginFrom;
  /** RabbitMQ's default_user_tags: tags of the default user created on the first start. */
  defaultUserTags: string[];
  /** RabbitMQ's default_permissions: the default user's permissions in the default vhost. */
  defaultPermissions: PermissionPatternsConfig;
  /**
   * RabbitMQ's load_definitions / definitions.local.path: a definitions file, or a directory of
   * .json files, imported at every start. null: none. With it, the first start creates no
   * default user or vhost.
   */
  loadDefinitions: string | null;
  /** RabbitMQ's definitions.skip_if_unchanged: skip the boot import when the content's hash did not change. */
  definitionsSkipIfUnchanged: boolean;
  /** Memory high watermark: a fraction (< 1) of system memory, or absolute bytes (>= 1). */
  memoryHighWatermark: number;
  /** Bytes of free disk below which publishers are blocked; RabbitMQ's default 50 MB. */
  diskFreeLimit: number;
  /** RabbitMQ's consumer_timeout: ms a delivery may stay unacknowledged (default 30 minutes). */
  consumerTimeout: number;
  /** How often channels are checked for consumer timeouts. */
  consumerTimeoutCheckMs: number;
  /**
   * Ready messages a queue keeps in memory before paging the rest to disk. High enough that
   * ordinary consumer lag never pages: once a queue pages, new messages follow the paged ones
   * through the disk until the backlog drains, which about halves throughput (bench/RESULTS.md).
   */
  pageAfterMessages: number;
  /** Port for the Prometheus endpoints, /metrics and friends (null: none, the default; RabbitMQ's is 15692; 0 picks a free port). */
  metricsPort: number | null;
  /** Address of the Prometheus listener (null: the AMQP host if one was given, else 127.0.0.1). */
  metricsHost: string | null;
  /** RabbitMQ's prometheus.return_per_object_metrics: /metrics answers with per-object samples. */
  metricsPerObject: boolean;
  /** Port for AMQP over WebSocket (null means no WebSocket listener, 0 picks a free port). */
  wsPort: number | null;
  /**
   * Port of the management HTTP API (RabbitMQ's management.tcp.port, 15672 in `warren serve`).
   * null: no management API (the default when embedding); 0 picks a free port.
   */
  managementPort: number | null;
  /** Address of the management API (management.tcp.ip); null: 127.0.0.1 only. */
  managementHost: string | null;
  /** Port of the management API over HTTPS (management.ssl.port); null: none. */
  managementTlsPort: number | null;
  /** PEM files for the HTTPS management listener (management.ssl.certfile/keyfile/cacertfile). */
  managementTlsCert: string | null;
  managementTlsKey: string | null;
  managementTlsCa: string | null;
  /** RabbitMQ's handshake_timeout: ms from accept to connection.open before the socket is dropped. */
  handshakeTimeout: number;
  /**
   * Overrides for the server-properties of connection.start (product, version, platform, copyright,
   * information, cluster_name, or extra keys), like RabbitMQ's server_properties. Some clients branch
   * on them: kombu sends channel-wide (global) qos only when product is "RabbitMQ".
   */
  serverProperties: Record<string, string>;
}

export const DEFAULT_CONFIG: Config = {
  host: null,
  port: 5672,
  tlsPort: null,
  tlsCert: null,
  tlsKey: null,
  tlsCa: null,
  tlsVerify: null,
  dataDir: './data',
  logLevel: 'info',
  sync: 'always',
  syncIntervalMs: 10,
  channelMax: 2047,
  frameMax: 131072,
  heartbeat: 60,
  maxMessageSize: 128 * 1024 * 1024,
  users: [{ name: 'guest', password: 'guest', loopbackOnly: true }],
  defaultUser: 'guest',
  defaultPass: 'guest',
  defaultVhost: '/',
  loopbackUsers: ['guest'],
  authMechanisms: ['PLAIN', 'AMQPLAIN'],
  sslCertLoginFrom: 'distinguished_name',
  defaultUserTags: ['administrator'],
  defaultPermissions: { configure: '.*', write: '.*', read: '.*' },
  loadDefinitions: null,
  definitionsSkipIfUnchanged: false,
  memoryHighWatermark: 0.4,
  diskFreeLimit: 50_000_000,
  consumerTimeout: 30 * 60 * 1000,
  consumerTimeoutCheckMs: 1000,
  handshakeTimeout: 10_000,
  wsPort: null,
  managementPort: null,
  managementHost: null,
  managementTlsPort: null,
  managementTlsCert: null,
  managementTlsKey: null,
  managementTlsCa: null,
  metricsPort: null,
  metricsHost: null,
  metricsPerObject: false,
  pageAfterMessages: 131072,
  serverProperties: {},
};

const LOG_LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Merge a partial config over the defaults and validate it. */
export function resolveConfig(partial: Partial<Config>): Config {
  const given = stripUndefined(partial);
  const c: Config = { ...DEFAULT_CONFIG, ...given };
  if (given.users === undefined) {
    c.users = [{ name: c.defaultUser, password: c.defaultPass, loopbackOnly: c.loopbackUsers.includes(c.defaultUser) }];
  }
  if (c.defaultUser === '') throw new ConfigError('empty default user');
  if (c.defaultVhost === '') throw new ConfigError('empty default vhost');
  if (c.authMechanisms.length === 0) throw new ConfigError('no authentication mechanism enabled');
  for (const m of c.authMechanisms) {
    if (!AUTH_MECHANISMS.includes(m)) throw new ConfigError(`unsupported authentication mechanism '${String(m)}' (${AUTH_MECHANISMS.join(', ')})`);
  }
  if (c.sslCertLoginFrom !== 'distinguished_name' && c.sslCertLoginFrom !== 'common_name') {
    throw new ConfigError(`invalid ssl_cert_login_from '${String(c.sslCertLoginFrom)}' (distinguished_name or common_name)`);
  }
  if (c.loadDefinitions === '') throw new ConfigError('empty definitions path');
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) throw new ConfigError(`invalid port ${c.port}`);
  if (c.tlsPort !== null && (!Number.isInteger(c.tlsPort) || c.tlsPort < 0 || c.tlsPort > 65535)) {
    throw new ConfigError(`invalid TLS port ${c.tlsPort}`);
  }
  for (const [what, p] of [['management', c.managementPort], ['management TLS', c.managementTlsPort]] as const) {
    if (p !== null && (!Number.isInteger(p) || p < 0 || p > 65535)) throw new ConfigError(`invalid ${what} port ${p}`);
  }
  if (c.managementTlsPort !== null && (c.managementTlsCert === null || c.managementTlsKey === null)) {
    throw new ConfigError('the management TLS port needs a certificate and a key (management.ssl.certfile, management.ssl.keyfile)');
  }
  if (c.managementHost === '') throw new ConfigError('empty management host');
  if (c.tlsVerify !== null && c.tlsVerify !== 'peer' && c.tlsVerify !== 'none') {
    throw new ConfigError(`invalid TLS verify mode '${String(c.tlsVerify)}' (peer or none)`);
  }
  if (c.host === '') throw new ConfigError('empty host');
  if (!LOG_LEVELS.includes(c.logLevel)) throw new ConfigError(`invalid log level '${c.logLevel}'`);
  if (!['always', 'batch', 'off'].includes(c.sync)) throw new ConfigError(`invalid sync mode '${c.sync}'`);
  // AMQP 0-9-1 §4.2.3: frame_max may not be below 4096 (FRAME-MIN-SIZE).
  if (c.frameMax < 4096) throw new ConfigError(`frame max ${c.frameMax} is below 4096`);
  if (c.channelMax < 1 || c.channelMax > 65535) throw new ConfigError(`invalid channel max ${c.channelMax}`);
  if (c.maxMessageSize < 1 || c.maxMessageSize > 512 * 1024 * 1024) {
    // RabbitMQ caps max_message_size at 512 MiB.
    throw new ConfigError(`invalid max message size ${c.maxMessageSize}`);
  }
  for (const [k, v] of Object.entries(c.serverProperties)) {
    if (k === '' || k === 'capabilities') throw new ConfigError(`invalid server property '${k}'`);
    if (typeof v !== 'string') throw new ConfigError(`server property '${k}' must be a string`);
  }
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k of Object.keys(o) as (keyof T)[]) {
    if (o[k] !== undefined) out[k] = o[k];
  }
  return out;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/**
 * Config values from WARREN_* environment variables, and RabbitMQ's RABBITMQ_DEFAULT_USER/_PASS/_VHOST
 * so a docker-compose file written for RabbitMQ works (the WARREN_ name wins when both are set; an
 * empty value counts as unset, as in RabbitMQ's scripts).
 */
export function configFromEnv(env: NodeJS.ProcessEnv): Partial<Config> {
  const out: Partial<Config> = {};
  const either = (name: string): string | undefined => nonEmpty(env[`WARREN_${name}`]) ?? nonEmpty(env[`RABBITMQ_${name}`]);
  const user = either('DEFAULT_USER');
  const pass = either('DEFAULT_PASS');
  const vhost = either('DEFAULT_VHOST');
  if (user !== undefined) out.defaultUser = user;
  if (pass !== undefined) out.defaultPass = pass;
  if (vhost !== undefined) out.defaultVhost = vhost;
  if (env['WARREN_HOST'] !== undefined) out.host = env['WARREN_HOST'];
  if (env['WARREN_PORT'] !== undefined) out.port = Number(env['WARREN_PORT']);
  if (env['WARREN_DATA_DIR'] !== undefined) out.dataDir = env['WARREN_DATA_DIR'];
  if (env['WARREN_LOG_LEVEL'] !== undefined) out.logLevel = env['WARREN_LOG_LEVEL'] as LogLevel;
  if (env['WARREN_SYNC'] !== undefined) out.sync = env['WARREN_SYNC'] as SyncMode;
  if (env['WARREN_MAX_MESSAGE_SIZE'] !== undefined) out.maxMessageSize = Number(env['WARREN_MAX_MESSAGE_SIZE']);
  if (env['WARREN_WS_PORT'] !== undefined) out.wsPort = Number(env['WARREN_WS_PORT']);
  if (env['WARREN_METRICS_PORT'] !== undefined) out.metricsPort = Number(env['WARREN_METRICS_PORT']);
  if (env['WARREN_MANAGEMENT_PORT'] !== undefined) out.managementPort = env['WARREN_MANAGEMENT_PORT'] === 'off' ? null : Number(env['WARREN_MANAGEMENT_PORT']);
  if (env['WARREN_MANAGEMENT_HOST'] !== undefined) out.managementHost = env['WARREN_MANAGEMENT_HOST'];
  if (env['WARREN_METRICS_HOST'] !== undefined) out.metricsHost = env['WARREN_METRICS_HOST'];
  if (env['WARREN_VM_MEMORY_HIGH_WATERMARK'] !== undefined) out.memoryHighWatermark = Number(env['WARREN_VM_MEMORY_HIGH_WATERMARK']);
  if (env['WARREN_TLS_PORT'] !== undefined) out.tlsPort = Number(env['WARREN_TLS_PORT']);
  if (env['WARREN_TLS_CERT'] !== undefined) out.tlsCert = env['WARREN_TLS_CERT'];
  if (env['WARREN_TLS_KEY'] !== undefined) out.tlsKey = env['WARREN_TLS_KEY'];
  if (env['WARREN_TLS_CA'] !== undefined) out.tlsCa = env['WARREN_TLS_CA'];
  if (env['WARREN_TLS_VERIFY'] !== undefined) out.tlsVerify = env['WARREN_TLS_VERIFY'] as TlsVerify;
  const props = serverPropertiesFromEnv(env);
  if (Object.keys(props).length > 0) out.serverProperties = props;
  return out;
}

const SERVER_PROPERTY_ENV_PREFIX = 'WARREN_SERVER_PROPERTY_';

/** WARREN_SERVER_PROPERTY_<KEY>=value, one variable per property (WARREN_SERVER_PROPERTY_CLUSTER_NAME -> cluster_name). */
function serverPropertiesFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(SERVER_PROPERTY_ENV_PREFIX) || value === undefined) continue;
    out[name.slice(SERVER_PROPERTY_ENV_PREFIX.length).toLowerCase()] = value;
  }
  return out;
}

/** One `key=value` of a server-property flag, split at the first '='. */
export function parseServerProperty(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ConfigError(`server property '${text}' is not key=value`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}
