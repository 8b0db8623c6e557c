#!/usr/bin/env node
// `warren serve`: command-line flags and env -> Config -> a running broker; SIGTERM/SIGINT stop it gracefully.

import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, configFromEnv, parseServerProperty, type Config, type LogLevel, type SyncMode, type TlsVerify } from '../config/config.js';
import { startBroker, startHaBroker } from '../index.js';
import { VERSION } from '../server/server-properties.js';
import { parseWatermark } from './options.js';
import { runCtl } from './ctl/main.js';

function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('not an integer');
  return n;
}

/** Collects repeated --server-property key=value flags. */
function serverProperty(v: string, acc: Record<string, string> = {}): Record<string, string> {
  try {
    const [k, val] = parseServerProperty(v);
    return { ...acc, [k]: val };
  } catch (err) {
    if (err instanceof ConfigError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

interface ServeOptions {
  config?: string;
  host?: string;
  port?: number;
  tlsPort?: number;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsVerify?: string;
  dataDir?: string;
  logLevel?: string;
  sync?: string;
  maxMessageSize?: number;
  wsPort?: number;
  metricsPort?: number;
  managementPort?: number | false;
  managementHost?: string;
  metricsHost?: string;
  metricsPerObject?: boolean;
  serverProperty?: Record<string, string>;
  vmMemoryHighWatermark?: number;
  haNats?: string[];
  haGroup?: string;
  haTtlMs?: number;
  haRolePort?: number;
  haNode?: string;
}

/** --ha-nats: a comma-separated list of nats:// URLs. */
function natsUrls(v: string): string[] {
  const urls = v.split(',').map((u) => u.trim()).filter((u) => u !== '');
  if (urls.length === 0) throw new InvalidArgumentError('expected nats://host:port[,nats://host:port...]');
  for (const u of urls) if (!/^(nats|tls):\/\/[^\s/]+$/.test(u) && !/^[^\s/:]+:\d+$/.test(u)) throw new InvalidArgumentError(`not a NATS URL: ${u}`);
  return urls;
}

/** RabbitMQ's management port; `warren serve` serves the API there unless told otherwise. */
const DEFAULT_MANAGEMENT_PORT = 15672;

const program = new Command();
program.name('warren').description('An AMQP 0-9-1 message broker speaking RabbitMQ\'s dialect').version(VERSION);

program
  .command('serve')
  .description('run the broker')
  .option('--config <file>', 'rabbitmq.conf-format config file; flags and env override it (env WARREN_CONFIG_FILE)')
  .option('--host <host>', 'address to listen on; default 127.0.0.1 and ::1 (env WARREN_HOST)')
  .option('--port <port>', 'AMQP port (env WARREN_PORT)', int)
  .option('--tls-port <port>', 'also serve AMQP over TLS (amqps) on this port, conventionally 5671 (env WARREN_TLS_PORT)', int)
  .option('--tls-cert <file>', 'PEM certificate (chain) for the TLS port (env WARREN_TLS_CERT)')
  .option('--tls-key <file>', 'PEM private key for --tls-cert (env WARREN_TLS_KEY)')
  .option('--tls-ca <file>', 'PEM CAs that client certificates must chain to; turns on --tls-verify peer (env WARREN_TLS_CA)')
  .option('--tls-verify <mode>', 'peer|none: require a valid client certificate; default peer with --tls-ca, else none (env WARREN_TLS_VERIFY)')
  .option('--data-dir <dir>', 'directory for durable data (env WARREN_DATA_DIR)')
  .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env WARREN_LOG_LEVEL)')
  .option('--sync <mode>', 'always|batch|off: when a persistent message is fsynced before its confirm (env WARREN_SYNC)')
  .option('--max-message-size <bytes>', 'largest message body accepted (env WARREN_MAX_MESSAGE_SIZE)', int)
  .option('--ws-port <port>', 'also serve AMQP over WebSocket on this port (env WARREN_WS_PORT)', int)
  .option('--metrics-port <port>', 'serve Prometheus metrics at /metrics on this port, RabbitMQ\'s is 15692; default off (env WARREN_METRICS_PORT)', int)
  .option('--metrics-host <ip>', 'address of the metrics listener; default the --host address, or 127.0.0.1 (env WARREN_METRICS_HOST)')
  .option('--metrics-per-object', 'per-queue, per-channel and per-exchange samples on /metrics (prometheus.return_per_object_metrics)')
  .option('--management-port <port>', 'management HTTP API port, default 15672 (env WARREN_MANAGEMENT_PORT; off: none)', int)
  .option('--no-management-port', 'no management HTTP API')
  .option('--management-host <ip>', 'management API address, default 127.0.0.1 (env WARREN_MANAGEMENT_HOST)')
  .option(
    '--server-property <key=value>',
    'advertise this connection.start server property (product, version, cluster_name, ...); repeatable (env WARREN_SERVER_PROPERTY_<KEY>)',
    serverProperty,
  )
  .option(
    '--vm-memory-high-watermark <value>',
    'block publishers above this much memory: a fraction (< 1) of available memory or bytes; default 0.4 (env WARREN_VM_MEMORY_HIGH_WATERMARK)',
    parseWatermark,
  )
  .option('--ha-nats <urls>', 'high availability: replicate to this NATS JetStream cluster (comma-separated nats:// URLs); the node is a standby until it leads', natsUrls)
  .option('--ha-group <name>', 'HA replication group: one stream, one leader (default warren)')
  .option('--ha-ttl-ms <ms>', 'HA: silence of the leader after which a standby takes over (default 2000)', int)
  .option('--ha-role-port <port>', 'HA: serve GET /ha/role on this port (200 on the leader, 503 on standbys)', int)
  .option('--ha-node <name>', 'HA: this node\'s unique name in the group (default host-pid-random)')
  .action(async (opts: ServeOptions) => {
    const fromFlags: Partial<Config> = {};
    if (opts.host !== undefined) fromFlags.host = opts.host;
    if (opts.port !== undefined) fromFlags.port = opts.port;
    if (opts.tlsPort !== undefined) fromFlags.tlsPort = opts.tlsPort;
    if (opts.tlsCert !== undefined) fromFlags.tlsCert = opts.tlsCert;
    if (opts.tlsKey !== undefined) fromFlags.tlsKey = opts.tlsKey;
    if (opts.tlsCa !== undefined) fromFlags.tlsCa = opts.tlsCa;
    if (opts.tlsVerify !== undefined) fromFlags.tlsVerify = opts.tlsVerify as TlsVerify;
    if (opts.dataDir !== undefined) fromFlags.dataDir = opts.dataDir;
    if (opts.logLevel !== undefined) fromFlags.logLevel = opts.logLevel as LogLevel;
    if (opts.sync !== undefined) fromFlags.sync = opts.sync as SyncMode;
    if (opts.maxMessageSize !== undefined) fromFlags.maxMessageSize = opts.maxMessageSize;
    if (opts.wsPort !== undefined) fromFlags.wsPort = opts.wsPort;
    if (opts.metricsPort !== undefined) fromFlags.metricsPort = opts.metricsPort;
    if (opts.managementPort !== undefined) fromFlags.managementPort = opts.managementPort === false ? null : opts.managementPort;
    if (opts.managementHost !== undefined) fromFlags.managementHost = opts.managementHost;
    if (opts.metricsHost !== undefined) fromFlags.metricsHost = opts.metricsHost;
    if (opts.metricsPerObject === true) fromFlags.metricsPerObject = true;
    if (opts.vmMemoryHighWatermark !== undefined) fromFlags.memoryHighWatermark = opts.vmMemoryHighWatermark;
    const envWatermark = process.env['WARREN_VM_MEMORY_HIGH_WATERMARK'];
    if (envWatermark !== undefined) parseWatermark(envWatermark); // refuse a bad value before starting
    const fromEnv = configFromEnv(process.env);
    if (opts.serverProperty !== undefined) fromFlags.serverProperties = { ...fromEnv.serverProperties, ...opts.serverProperty };
    const configFile = opts.config ?? (process.env['WARREN_CONFIG_FILE'] || undefined);
    // Precedence: flags over environment over config file over defaults (info-level logs for the CLI).
    const base = { defaults: { logLevel: 'info' as LogLevel, managementPort: DEFAULT_MANAGEMENT_PORT }, configFile, ...fromEnv, ...fromFlags };
    if (opts.haNats === undefined && (opts.haGroup !== undefined || opts.haTtlMs !== undefined || opts.haRolePort !== undefined)) {
      throw new InvalidArgumentError('--ha-group, --ha-ttl-ms and --ha-role-port need --ha-nats');
    }
    if (opts.haTtlMs !== undefined && opts.haTtlMs < 100) throw new InvalidArgumentError('--ha-ttl-ms must be at least 100');
    const running =
      opts.haNats === undefined
        ? await startBroker(base)
        : await startHaBroker({
            ...base,
            ha: {
              nats: opts.haNats,
              group: opts.haGroup ?? 'warren',
              ...(opts.haTtlMs === undefined ? {} : { ttlMs: opts.haTtlMs }),
              ...(opts.haNode === undefined ? {} : { node: opts.haNode }),
            },
            haRolePort: opts.haRolePort ?? null,
          });
    const stop = (): void => {
      void running.close().then(() => process.exit(0));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });

if (process.argv[2] === 'ctl') {
  // rabbitmqctl's own argument conventions (options anywhere, columns as arguments): parsed by ctl.
  void runCtl(process.argv.slice(3), {
    env: process.env,
    cwd: process.cwd(),
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  }).then((code) => {
    process.exitCode = code;
  });
} else {
  program.command('ctl').description("operate a running warren with rabbitmqctl's commands (warren ctl help)");
  program.parseAsync(process.argv).catch((err: unknown) => {
    process.stderr.write(`warren: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
