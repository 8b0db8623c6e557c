// Test helper: one warren broker per test file on an ephemeral loopback port,
// with its own temporary data directory, plus tracked amqplib connections.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import * as amqplib from 'amqplib';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';

export interface BrokerHandle {
  readonly port: number;
  readonly url: string;
  readonly running: RunningBroker;
  /** An amqplib connection closed automatically after each test. */
  connect(url?: string): Promise<amqplib.ChannelModel>;
}

/** Start a fresh broker (not tied to hooks); caller must stop it. */
export async function startTestBroker(
  options: Partial<StartOptions> = {},
): Promise<{ running: RunningBroker; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-test-'));
  const running = await startBroker({ host: '127.0.0.1', port: 0, dataDir: dir, logLevel: 'silent', ...options });
  return {
    running,
    stop: async () => {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Register beforeAll/afterAll hooks that run one broker for the whole file. */
export function useBroker(options: Partial<StartOptions> = {}): BrokerHandle {
  let started: { running: RunningBroker; stop: () => Promise<void> } | null = null;
  const open = new Set<amqplib.ChannelModel>();

  beforeAll(async () => {
    started = await startTestBroker(options);
  });

  afterEach(async () => {
    const conns = [...open];
    open.clear();
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
  });

  afterAll(async () => {
    if (started !== null) await started.stop();
    started = null;
  });

  const handle: BrokerHandle = {
    get port(): number {
      if (started === null) throw new Error('broker not started');
      return started.running.port;
    },
    get url(): string {
      return `amqp://guest:guest@127.0.0.1:${handle.port}`;
    },
    get running(): RunningBroker {
      if (started === null) throw new Error('broker not started');
      return started.running;
    },
    async connect(url?: string): Promise<amqplib.ChannelModel> {
      const c = await amqplib.connect(url ?? handle.url);
      // Errors are asserted through channel/connection promises; keep them from becoming uncaught.
      c.on('error', () => undefined);
      c.on('close', () => open.delete(c));
      open.add(c);
      return c;
    },
  };
  return handle;
}

/** Resolve with the first event `name` emitted by `emitter`, or reject after `ms`. */
export function once<T = unknown>(
  emitter: { once(event: string, fn: (...args: never[]) => void): unknown },
  name: string,
  ms = 1500,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for '${name}'`)), ms);
    emitter.once(name, ((v: T) => {
      clearTimeout(timer);
      resolve(v);
    }) as never);
  });
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
