// Brokers started, stopped and restarted on a temporary data directory, for the tests of what
// survives a restart. Everything a test opens (brokers, connections, directories) is closed or
// removed after each test, even when the test fails halfway.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import * as amqplib from 'amqplib';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';

export interface DataDirBrokers {
  /** A fresh empty data directory, removed after the test. */
  dataDir(): string;
  /** A broker on `dir` on an ephemeral loopback port. */
  start(dir: string, extra?: Partial<StartOptions>): Promise<RunningBroker>;
  stop(r: RunningBroker): Promise<void>;
  /** An amqplib connection as guest (to `vhost` if given), closed after the test. */
  connect(r: RunningBroker, vhost?: string): Promise<amqplib.ChannelModel>;
  /** Close every connection still open (before a stop, so none sees CONNECTION_FORCED). */
  closeConnections(): Promise<void>;
}

/** Registers the afterEach cleanup; `prefix` names the temporary directories. */
export function useDataDirBrokers(prefix: string): DataDirBrokers {
  const dirs: string[] = [];
  const brokers = new Set<RunningBroker>();
  const conns = new Set<amqplib.ChannelModel>();

  async function closeConnections(): Promise<void> {
    for (const c of conns) await c.close().catch(() => undefined);
    conns.clear();
  }

  afterEach(async () => {
    await closeConnections();
    for (const r of brokers) await r.close().catch(() => undefined);
    brokers.clear();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  return {
    dataDir(): string {
      const d = mkdtempSync(join(tmpdir(), `${prefix}-`));
      dirs.push(d);
      return d;
    },
    async start(dir, extra = {}) {
      const r = await startBroker({ host: '127.0.0.1', port: 0, dataDir: dir, logLevel: 'silent', ...extra });
      brokers.add(r);
      return r;
    },
    async stop(r) {
      await r.close();
      brokers.delete(r);
    },
    async connect(r, vhost) {
      const path = vhost === undefined ? '' : `/${encodeURIComponent(vhost)}`;
      const c = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${r.port}${path}`);
      c.on('error', () => undefined); // 320 CONNECTION_FORCED on shutdown
      c.on('close', () => conns.delete(c));
      conns.add(c);
      return c;
    },
    closeConnections,
  };
}
