#!/usr/bin/env node
// `warren serve`: command-line flags and env -> Config -> a running broker; SIGTERM/SIGINT stop it gracefully.

import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, configFromEnv, parseServerProperty, type Config, type LogLevel, type SyncMode, type TlsVerify } from '../config/config.js';
import { startBroker } from '../index.js';
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
    const running = await startBroker({ defaults: { logLevel: 'info', managementPort: DEFAULT_MANAGEMENT_PORT }, configFile, ...fromEnv, ...fromFlags });
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
