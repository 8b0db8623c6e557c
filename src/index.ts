// Public API: start a broker in-process (port 0 friendly) and stop it.

import { mkdirSync } from 'node:fs';
import { Broker } from './broker/broker.js';
import { resolveConfig, type Config } from './config/config.js';
import { createRootLogger, type Logger } from './log.js';
import { Listener } from './server/listener.js';
import { WebSocketListener } from './server/websocket.js';
import { MetricsServer } from './admin/metrics.js';
import { systemClock, type Clock } from './util/clock.js';

export type { Config } from './config/config.js';

export interface StartOptions extends Partial<Config> {
  clock?: Clock;
  logger?: Logger;
}

export interface RunningBroker {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** The AMQP-over-WebSocket port, when `wsPort` was given. */
  readonly wsPort: number | null;
  /** The Prometheus /metrics port, when `metricsPort` was given. */
  readonly metricsPort: number | null;
  readonly host: string;
  readonly broker: Broker;
  /** Graceful stop: 320 CONNECTION_FORCED to clients, then release the port. */
  close(): Promise<void>;
}

export async function startBroker(options: StartOptions = {}): Promise<RunningBroker> {
  const { clock, logger, ...partial } = options;
  const config = resolveConfig({ logLevel: 'warn', ...partial });
  const log = logger ?? createRootLogger(config.logLevel);
  mkdirSync(config.dataDir, { recursive: true });
  const broker = new Broker(config, clock ?? systemClock, log);
  const report = await broker.start();
  const listener = new Listener(broker, log);
  const port = await listener.listen(config.host, config.port);
  let ws: WebSocketListener | null = null;
  let wsPort: number | null = null;
  if (config.wsPort !== null) {
    ws = new WebSocketListener((t) => listener.accept(t));
    wsPort = await ws.listen(config.host, config.wsPort);
  }
  let metrics: MetricsServer | null = null;
  let metricsPort: number | null = null;
  if (config.metricsPort !== null) {
    metrics = new MetricsServer(broker, () => listener.connections.size);
    metricsPort = await metrics.listen(config.host, config.metricsPort);
  }
  log.info({ host: config.host, port, dataDir: config.dataDir, recoveredMessages: report.messages, recoveryMs: report.ms }, 'warren listening');
  let closing: Promise<void> | null = null;
  return {
    port,
    wsPort,
    metricsPort,
    host: config.host,
    broker,
    close: () => (closing ??= Promise.all([listener.close(), ws?.close(), metrics?.close()]).then(() => broker.stop())),
  };
}
