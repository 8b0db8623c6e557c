// Public API: start a broker in-process (port 0 friendly) and stop it.

import { Broker } from './broker/broker.js';
import { resolveConfig, type Config } from './config/config.js';
import { loadConfigFile, type LoadedConfigFile } from './config/config-file.js';
import { createRootLogger, type Logger } from './log.js';
import { Listener } from './server/listener.js';
import { LOOPBACK_V4 } from './server/server-set.js';
import { tlsServerOptions, type TlsMaterial } from './server/tls.js';
import { WebSocketListener } from './server/websocket.js';
import { MetricsServer } from './metrics/metrics-server.js';
import { startManagement, type ManagementServer } from './management/server.js';
import type { ListenerInfo } from './management/context.js';
import { VERSION } from './server/server-properties.js';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from './util/clock.js';
import { importBootDefinitions, readBootDefinitions } from './broker/definitions/boot.js';
import { DEFAULT_HA_TTL_MS, HaNode, type AccessReplication, type HaOptions, type HaRole, type StoreReplication } from './ha/node.js';
import { RoleServer } from './ha/role-server.js';
import { StandbyListener } from './server/standby-listener.js';

export type { Config, TlsVerify } from './config/config.js';
export type { TlsMaterial } from './server/tls.js';
export type { HaOptions, HaRole } from './ha/node.js';

export interface StartOptions extends Partial<Config> {
  clock?: Clock;
  logger?: Logger;
  /** TLS certificate, key and CA as PEM in memory, instead of the tlsCert/tlsKey/tlsCa files; needs tlsPort. */
  tls?: TlsMaterial;
  /**
   * A rabbitmq.conf file: its settings apply where these options give none (options are like
   * command-line flags, above the file). A bad file throws a ConfigError naming the file and line.
   */
  configFile?: string;
  /** Values used where neither these options nor the config file give one. */
  defaults?: Partial<Config>;
  /** Replication of each vhost's stores (set by the HA leader path). */
  replication?: (vhostDir: string) => StoreReplication;
  /** Runs once recovery is done, just before the AMQP port is bound (the HA path frees the port its standby held). */
  beforeListen?: () => Promise<void>;
  /** Replication of the access snapshot and vhost directory removals (set by the HA leader path). */
  accessReplication?: AccessReplication;
}

export interface RunningBroker {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** The AMQP-over-TLS (amqps) port, when `tlsPort` was given. */
  readonly tlsPort: number | null;
  /** The AMQP-over-WebSocket port, when `wsPort` was given. */
  readonly wsPort: number | null;
  /** The Prometheus port (/metrics, /metrics/per-object, /metrics/detailed), when `metricsPort` was given. */
  readonly metricsPort: number | null;
  /** The management HTTP API port, when `managementPort` was given. */
  readonly managementPort: number | null;
  /** The management API's HTTPS port, when `managementTlsPort` was given. */
  readonly managementTlsPort: number | null;
  /** The first address listened on: the given host, or 127.0.0.1 by default. */
  readonly host: string;
  /** Every address the AMQP ports listen on: the given host, or 127.0.0.1 and (if the machine has it) ::1. */
  readonly hosts: readonly string[];
  readonly broker: Broker;
  /** Graceful stop: 320 CONNECTION_FORCED to clients, then release the port. */
  close(): Promise<void>;
}

export async function startBroker(options: StartOptions = {}): Promise<RunningBroker> {
  const { clock, logger, tls, replication, beforeListen, accessReplication } = options;
  const { config, file } = resolveStartConfig(options);
  // Certificates are read and checked before recovery so a bad file fails fast.
  const tlsOptions = tlsServerOptions(config, tls);
  const log = logger ?? createRootLogger(config.logLevel);
  for (const w of file?.warnings ?? []) log.warn({ file: file?.file, line: w.line, key: w.key, hint: w.hint }, 'config key ignored');
  // Boot definitions are read and checked before the data dir is touched.
  const boot = config.loadDefinitions === null ? null : readBootDefinitions(config.loadDefinitions);
  mkdirSync(config.dataDir, { recursive: true });
  const broker = new Broker(config, clock ?? systemClock, log);
  if (replication !== undefined) broker.replication = replication;
  if (accessReplication !== undefined) broker.accessReplication = accessReplication;
  // With boot definitions, a first start creates no default user or vhost (as RabbitMQ).
  let report: Awaited<ReturnType<Broker['start']>>;
  try {
    report = await broker.start({ seedDefaults: boot === null });
  } catch (err) {
    // Stores already opened for earlier vhosts keep descriptors and timers: close them.
    await broker.stop().catch(() => undefined);
    throw err;
  }
  if (boot !== null) {
    try {
      await importBootDefinitions(broker, boot, config.definitionsSkipIfUnchanged, log);
    } catch (err) {
      await broker.access.discardFirstStart().catch(() => undefined);
      await broker.stop().catch(() => undefined);
      throw err;
    }
  }
  const listener = new Listener(broker, log);
  // The WebSocket and metrics servers take one address: the given host, or IPv4 loopback by default.
  const host = config.host ?? LOOPBACK_V4;
  let ws: WebSocketListener | null = null;
  let metrics: MetricsServer | null = null;
  const management: ManagementServer[] = [];
  const stopAll = (): Promise<void> =>
    Promise.all([listener.close(), ws?.close(), metrics?.close(), ...management.map((m) => m.close())]).then(() => broker.stop());
  try {
    await beforeListen?.();
    const amqp = await listener.listen(config.host, config.port);
    const tlsPort = tlsOptions === null || config.tlsPort === null ? null : (await listener.listenTls(config.host, config.tlsPort, tlsOptions)).port;
    let wsPort: number | null = null;
    if (config.wsPort !== null) {
      ws = new WebSocketListener((t) => listener.accept(t));
      wsPort = await ws.listen(host, config.wsPort);
    }
    let metricsPort: number | null = null;
    if (config.metricsPort !== null) {
      metrics = new MetricsServer(broker, () => listener.connections.size, { perObject: config.metricsPerObject });
      metricsPort = await metrics.listen(config.metricsHost ?? host, config.metricsPort);
    }
    // The listeners overview and the health checks report; the management API adds its own.
    const listeners = (): ListenerInfo[] => [
      ...amqp.hosts.map((ip) => ({ protocol: 'amqp', ip, port: amqp.port })),
      ...(tlsPort === null ? [] : amqp.hosts.map((ip) => ({ protocol: 'amqp/ssl', ip, port: tlsPort }))),
      ...(wsPort === null ? [] : [{ protocol: 'http/web-amqp', ip: host, port: wsPort }]),
      ...(metricsPort === null ? [] : [{ protocol: 'http/prometheus', ip: host, port: metricsPort }]),
    ];
    const mgmtHost = config.managementHost ?? LOOPBACK_V4;
    const mgmtLog = log.child({ component: 'management' });
    // warren ctl's admin socket, in the data dir, comes with the first management listener.
    const adminSocket = join(config.dataDir, 'ctl.sock');
    let managementPort: number | null = null;
    if (config.managementPort !== null) {
      const m = await startManagement(broker, { host: mgmtHost, port: config.managementPort, listeners, productVersion: VERSION, log: mgmtLog, adminSocket }).catch((err: unknown) => {
        // Often a RabbitMQ on the same host holds 15672: say which listener and how to move it.
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new Error(`management API: ${mgmtHost}:${String(config.managementPort)} is in use; choose another with --management-port (management.tcp.port) or turn it off with --no-management-port`);
        }
        throw err;
      });
      management.push(m);
      managementPort = m.port;
    }
    let managementTlsPort: number | null = null;
    if (config.managementTlsPort !== null && config.managementTlsCert !== null && config.managementTlsKey !== null) {
      const tlsFiles = {
        cert: readFileSync(config.managementTlsCert),
        key: readFileSync(config.managementTlsKey),
        ...(config.managementTlsCa === null ? {} : { ca: readFileSync(config.managementTlsCa) }),
      };
      const m = await startManagement(broker, {
        host: mgmtHost,
        port: config.managementTlsPort,
        tls: tlsFiles,
        listeners,
        productVersion: VERSION,
        log: mgmtLog,
        ...(managementPort === null ? { adminSocket } : {}),
      });
      management.push(m);
      managementTlsPort = m.port;
    }
    log.info(
      { hosts: amqp.hosts, port: amqp.port, tlsPort, wsPort, metricsPort, managementPort, managementTlsPort, dataDir: config.dataDir, recoveredMessages: report.messages, recoveryMs: report.ms },
      'warren listening',
    );
    let closing: Promise<void> | null = null;
    return {
      port: amqp.port,
      tlsPort,
      wsPort,
      metricsPort,
      managementPort,
      managementTlsPort,
      host: amqp.hosts[0] ?? host,
      hosts: amqp.hosts,
      broker,
      close: () => (closing ??= stopAll()),
    };
  } catch (err) {
    // A port in use: give back what did bind and stop the broker before reporting it.
    await stopAll().catch(() => undefined);
    throw err;
  }
}

/** The config a start runs with: options (like flags) over the config file over `defaults`. */
function resolveStartConfig(options: StartOptions): { config: Config; file: LoadedConfigFile | null } {
  const { clock, logger, tls, configFile, defaults, replication, beforeListen, accessReplication, ...partial } = options;
  const file = configFile === undefined ? null : loadConfigFile(configFile);
  const given = withoutUndefined(partial);
  const config = resolveConfig({
    logLevel: 'warn',
    ...defaults,
    ...file?.config,
    ...given,
    // Server properties merge per property, so a flag for one keeps the file's others.
    serverProperties: { ...defaults?.serverProperties, ...file?.config.serverProperties, ...given.serverProperties },
  });
  return { config, file };
}

/** An option given as undefined does not hide the config file's value for it. */
function withoutUndefined(o: Partial<Config>): Partial<Config> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<Config>;
}

export interface HaStartOptions extends StartOptions {
  ha: HaOptions;
  /** Port of GET /ha/role (null: none). */
  haRolePort?: number | null;
}

export interface RunningHaNode {
  role(): HaRole;
  /** The AMQP port: refusing clients (320 CONNECTION_FORCED) while a standby, serving once leader. */
  readonly port: number;
  /** The amqps port, when `tlsPort` was given: refusing and serving as the AMQP port. */
  readonly tlsPort: number | null;
  /** The AMQP-over-WebSocket port, when `wsPort` was given: refusing and serving as the AMQP port. */
  readonly wsPort: number | null;
  /** The GET /ha/role port, when asked for. */
  readonly rolePort: number | null;
  /** The broker while this node leads, else null. */
  current(): RunningBroker | null;
  /** Resolves with the broker the next time this node serves (at once if it does now). */
  serving(): Promise<RunningBroker>;
  close(): Promise<void>;
}

/** What a client connecting to a node that does not serve is told (the 320's reply text). */
function standbyReason(role: HaRole, group: string): string {
  return role === 'promoting'
    ? `this warren node is becoming the leader of HA group '${group}'; retry shortly`
    : `this warren node is an HA standby of group '${group}'; connect to the leader`;
}

/**
 * A node of an HA group: a standby following the replicated log until it wins the lead, then
 * warren's normal recovery on its directory and the listeners; when fenced, every client is
 * closed (320 CONNECTION_FORCED), the directory wiped, and the node follows again. While it does
 * not serve, its client ports (AMQP, and amqps and WebSocket when configured) refuse each client
 * with a 320 that says so, and a promotion whose broker fails to start gives the lead up rather
 * than holding it without serving.
 */
export async function startHaBroker(options: HaStartOptions): Promise<RunningHaNode> {
  const { ha, haRolePort, ...start } = options;
  const clock = start.clock ?? systemClock;
  const { config } = resolveStartConfig(start);
  const dataDir = config.dataDir;
  const log = start.logger ?? createRootLogger(config.logLevel);
  // Mistakes that would make every promotion fail are refused before joining the group.
  const tlsOptions = tlsServerOptions(config, start.tls);
  if (config.loadDefinitions !== null) readBootDefinitions(config.loadDefinitions);
  mkdirSync(dataDir, { recursive: true });
  const node = new HaNode(ha, dataDir, clock, log.child({ component: 'ha' }));
  const refuser = new StandbyListener({ clock, log: log.child({ component: 'ha' }), serverProperties: config.serverProperties, reason: () => standbyReason(node.role, ha.group) });
  // The broker takes the same ports once promoted (with port 0, the ones picked here).
  const ports = await refuser.listenAll({
    host: config.host,
    port: config.port,
    tls: tlsOptions === null || config.tlsPort === null ? null : { port: config.tlsPort, options: tlsOptions },
    // As startBroker: the WebSocket port takes one address.
    ws: config.wsPort === null ? null : { host: config.host ?? LOOPBACK_V4, port: config.wsPort },
  }).catch(async (err: unknown) => {
    await refuser.close();
    throw err;
  });
  const { port } = ports;
  const tlsPort = ports.tls?.port ?? null;
  const wsPort = ports.ws?.port ?? null;
  let running: RunningBroker | null = null;
  let waiters: ((b: RunningBroker) => void)[] = [];
  let stopped = false;
  const roles = haRolePort === undefined || haRolePort === null ? null : new RoleServer(() => ({ role: node.role, group: ha.group, node: node.node, epoch: node.epoch }));
  const rolePort = roles === null ? null : await roles.listen(start.host ?? LOOPBACK_V4, haRolePort as number).catch(async (err: unknown) => {
    await refuser.close();
    throw err;
  });
  /** Refuse clients again on every port not refusing (the broker let them go, or never took them). */
  const refuseAgain = async (): Promise<void> => {
    if (stopped) return;
    await refuser.listenAll(ports).catch((err: unknown) => {
      log.warn({ err: errorText(err) }, 'HA standby: clients get connection refused on these ports until promoted');
    });
  };
  // After a promotion whose broker failed, wait before competing again (TTL, doubling to 64 TTL):
  // a node that cannot serve must not keep winning the lead from one that can.
  let giveUps = 0;
  let wakeBackoff: (() => void) | null = null;
  const backoff = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const t = clock.after(ms, resolve);
      wakeBackoff = () => {
        t.cancel();
        resolve();
      };
    });
  const cycle = async (): Promise<void> => {
    while (!stopped) {
      if (giveUps > 0) await backoff((ha.ttlMs ?? DEFAULT_HA_TTL_MS) * 2 ** Math.min(6, giveUps));
      wakeBackoff = null;
      if (stopped) return;
      const turn = await node.waitForLead();
      if (turn === null) return;
      let b: RunningBroker;
      // The broker binds once the ports are free and the clients told of the promotion have
      // answered (at most the close wait), as before stopAccepting could return without them.
      const beforeListen = (): Promise<void> => refuser.close();
      try {
        b = await startBroker({ ...start, dataDir, port, tlsPort, wsPort, logger: log, replication: turn.replication, accessReplication: turn.access, beforeListen });
      } catch (err) {
        if (stopped) return;
        // Leading without serving would keep every other node from taking over: end the turn.
        node.giveUp(turn, err instanceof Error ? err : new Error(String(err)));
        log.error({ group: ha.group, err: errorText(err) }, 'HA: promoted, but the broker did not start; giving the lead up and rebuilding as a standby');
        await refuseAgain();
        await node.wipe();
        giveUps++;
        continue;
      }
      // close() ran while the broker started: it is this loop's to close.
      if (stopped) return b.close();
      running = b;
      giveUps = 0;
      node.serving();
      for (const w of waiters.splice(0)) w(b);
      const err = await turn.ended;
      running = null;
      if (stopped) return b.close();
      node.fenced();
      log.error({ group: ha.group, err: err.message }, 'HA: fenced, another node leads; closing every connection and rebuilding as a standby');
      await b.close();
      await refuseAgain();
      if (stopped) return;
      await node.wipe();
    }
  };
  const loop = cycle().catch(async (err: unknown) => {
    log.error({ err: errorText(err) }, 'HA node stopped');
    // Neither a standby nor a leader any more: stop saying so to clients and health checks.
    node.role = 'stopped';
    await refuser.close();
  });
  return {
    role: () => node.role,
    port,
    tlsPort,
    wsPort,
    rolePort,
    current: () => running,
    serving: () => (running !== null ? Promise.resolve(running) : new Promise((r) => waiters.push(r))),
    close: async () => {
      stopped = true;
      (wakeBackoff as (() => void) | null)?.();
      // Ends a turn (and so the loop's wait for it) and wakes a follower.
      await node.close();
      const b = running;
      running = null;
      await b?.close();
      await loop;
      await refuser.close();
      await roles?.close();
    },
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
