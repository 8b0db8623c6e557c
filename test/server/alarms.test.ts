// Resource alarms: a memory or disk alarm sends connection.blocked to publishers that
// advertised the capability and stops reading them, consumers keep draining, and
// connection.unblocked follows when it clears. A failed store blocks publishers for good.

import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as amqplib from 'amqplib';
import { useBroker, delay } from '../helpers/broker.js';
import { Alarms, MEMORY_CLEAR_FRACTION, availableMemory } from '../../src/broker/flow.js';
import { createRootLogger } from '../../src/log.js';
import { ManualClock } from '../../src/util/clock.js';

const b = useBroker();

function events(conn: amqplib.ChannelModel): string[] {
  const seen: string[] = [];
  conn.on('blocked', (reason: string) => seen.push(`blocked:${reason}`));
  conn.on('unblocked', () => seen.push('unblocked'));
  return seen;
}

async function until(cond: () => boolean | Promise<boolean>, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(10);
  }
}

describe('resource alarms', () => {
  it('a memory alarm blocks a publisher (reads paused) while a consumer keeps draining; clearing it unblocks', async () => {
    const alarms = b.running.broker.alarms;
    const realMemory = alarms.readMemory;
    const pubConn = await b.connect();
    const subConn = await b.connect();
    const seen = events(pubConn);
    const pub = await pubConn.createChannel();
    const sub = await subConn.createChannel();
    const { queue } = await sub.assertQueue('', { exclusive: false, autoDelete: true });
    pub.sendToQueue(queue, Buffer.from('before'));
    const got: string[] = [];
    await sub.consume(queue, (m) => m && got.push(m.content.toString()), { noAck: true });
    await until(() => got.length === 1);
    try {
      alarms.readMemory = () => Number.MAX_SAFE_INTEGER;
      await alarms.check();
      await until(() => seen.length === 1);
      expect(seen).toEqual(['blocked:low on memory']);
      pub.sendToQueue(queue, Buffer.from('while-blocked'));
      await delay(200);
      // Not read, so not routed: the consumer (never blocked) saw nothing new.
      expect(got).toEqual(['before']);
    } finally {
      alarms.readMemory = realMemory;
    }
    await alarms.check();
    await until(() => got.length === 2);
    expect(seen).toEqual(['blocked:low on memory', 'unblocked']);
    expect(got).toEqual(['before', 'while-blocked']);
  });

  it('a connection that has not published is not blocked; it is as soon as it publishes', async () => {
    const alarms = b.running.broker.alarms;
    const realFree = alarms.readDiskFree;
    const conn = await b.connect();
    const seen = events(conn);
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    try {
      alarms.readDiskFree = async () => 0;
      await alarms.check();
      await delay(100);
      expect(seen).toEqual([]);
      // Declares still work for a connection that only consumes or declares.
      await ch.checkQueue(queue);
      ch.sendToQueue(queue, Buffer.from('x'));
      await until(() => seen.length === 1);
      expect(seen).toEqual(['blocked:low on disk space']);
    } finally {
      alarms.readDiskFree = realFree;
    }
    await alarms.check();
    await until(() => seen.length === 2);
    expect((await ch.checkQueue(queue)).messageCount).toBe(1);
  });

  it('the relative watermark is taken of the cgroup limit when that is below physical memory', () => {
    expect(availableMemory(2 ** 30, 2 ** 34)).toBe(2 ** 30);
    expect(availableMemory(0, 2 ** 34)).toBe(2 ** 34);
    expect(availableMemory(2 ** 64 - 1, 2 ** 34)).toBe(2 ** 34);
    expect(availableMemory(undefined, 2 ** 34)).toBe(2 ** 34);
  });
});

describe('memory alarm: memory the broker owns, with hysteresis', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  function alarmsWith(limit: number): { alarms: Alarms; changes: boolean[] } {
    const alarms = new Alarms({ memoryHighWatermark: limit, diskFreeLimit: 0, dataDir: '.' }, new ManualClock(), createRootLogger('silent'));
    alarms.readDiskFree = async () => Number.MAX_SAFE_INTEGER;
    const changes: boolean[] = [];
    alarms.onChange((blocked) => changes.push(blocked));
    return { alarms, changes };
  }

  it('sets above the watermark, stays set just below it, clears once well below', async () => {
    const { alarms, changes } = alarmsWith(1_000_000);
    let used = 900_000;
    alarms.readMemory = () => used;
    await alarms.check();
    expect(alarms.memoryAlarm).toBe(false);
    used = 1_000_001;
    await alarms.check();
    expect(alarms.memoryAlarm).toBe(true);
    used = 1_000_000 * MEMORY_CLEAR_FRACTION + 1; // drained a little: still blocked
    await alarms.check();
    expect(alarms.memoryAlarm).toBe(true);
    used = 1_000_000 * MEMORY_CLEAR_FRACTION - 1;
    await alarms.check();
    expect(alarms.memoryAlarm).toBe(false);
    expect(changes).toEqual([true, false]);
  });

  it('a high RSS alone (pages kept after a drained backlog) does not hold the alarm', async () => {
    const { alarms } = alarmsWith(100 * 1024 * 1024);
    const real = process.memoryUsage();
    const usage = { ...real, rss: 2 ** 40, heapUsed: 10 * 1024 * 1024, external: 5 * 1024 * 1024, arrayBuffers: 4 * 1024 * 1024 };
    vi.spyOn(process, 'memoryUsage').mockReturnValue(usage);
    vi.spyOn(process.memoryUsage, 'rss').mockReturnValue(2 ** 40);
    await alarms.check();
    expect(alarms.memoryAlarm).toBe(false);
    usage.heapUsed = 200 * 1024 * 1024;
    await alarms.check();
    expect(alarms.memoryAlarm).toBe(true);
  });

  it('polls on the broker clock', async () => {
    const clock = new ManualClock();
    const alarms = new Alarms({ memoryHighWatermark: 1000, diskFreeLimit: 0, dataDir: '.' }, clock, createRootLogger('silent'));
    alarms.readDiskFree = async () => Number.MAX_SAFE_INTEGER;
    alarms.readMemory = () => 5000;
    alarms.start(1000);
    try {
      clock.advance(999);
      await Promise.resolve();
      expect(alarms.memoryAlarm).toBe(false);
      clock.advance(1);
      await vi.waitFor(() => expect(alarms.memoryAlarm).toBe(true));
    } finally {
      alarms.stop();
    }
  });
});
