// What an operator reads: the broker's pino output captured through an injected logger, checked
// for level and fields on a channel error, a refused login (and no password anywhere), and a
// dead-letter flood summarised on the manual clock.

import { beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { useBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { ManualClock } from '../../src/util/clock.js';
import { DEFAULT_SUMMARY_INTERVAL_MS } from '../../src/util/log-summary.js';
import { channel, expectChannelError, uniq, waitFor } from '../lifecycle/helpers.js';

const WARN = 40;
const ERROR = 50;
const INFO = 30;

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

const raw: string[] = [];
const lines = (): LogLine[] => raw.map((s) => JSON.parse(s) as LogLine);
const withMsg = (msg: string): LogLine[] => lines().filter((l) => l.msg === msg);

const logger = pino({ level: 'debug' }, { write: (s: string) => void raw.push(s) });
const clock = new ManualClock();
const b = useBroker({ clock, logger });

beforeEach(() => {
  // Close every summary window left by an earlier test, then start from an empty capture.
  clock.advance(DEFAULT_SUMMARY_INTERVAL_MS * 2);
  raw.length = 0;
});

describe('channel errors', () => {
  it('are logged at error with the operation, reply code and text, channel, user and vhost', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('missing');
    await expectChannelError(ch.checkQueue(q), 404);
    const got = await waitFor(() => withMsg('channel error')[0]);
    expect(got).toMatchObject({
      level: ERROR,
      operation: 'queue.declare',
      replyCode: 404,
      replyText: `NOT_FOUND - no queue '${q}' in vhost '/'`,
      channel: 1,
      user: 'guest',
      vhost: '/',
    });
    expect(got['peer']).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('a client looping on a failing operation gets one line at once and one summary per interval', async () => {
    const conn = await b.connect();
    for (let i = 0; i < 20; i++) {
      const ch = await channel(conn);
      await expectChannelError(ch.checkQueue(uniq('missing')), 404);
    }
    expect(withMsg('channel error')).toHaveLength(1);
    clock.advance(DEFAULT_SUMMARY_INTERVAL_MS);
    const all = withMsg('channel error');
    expect(all).toHaveLength(2);
    expect(all[1]).toMatchObject({ level: ERROR, summary: true, count: 19, replyCodes: { '404': 19 }, operation: 'queue.declare' });
  });
});

describe('failed logins', () => {
  it('are logged at warn with user, mechanism and peer, and the password appears nowhere', async () => {
    const password = 'Sekr1t-pa55word-XYZ';
    const c = await RawClient.open(b.port, { user: 'guest', password, stopAfterStartOk: true });
    const close = await c.expectConnectionClose();
    expect(close.replyCode).toBe(403);
    await c.close();
    const got = await waitFor(() => withMsg('authentication failed')[0]);
    expect(got).toMatchObject({ level: WARN, user: 'guest', mechanism: 'PLAIN' });
    expect(got['peer']).toMatch(/^127\.0\.0\.1:\d+$/);
    // An unknown user too: still no password, and no refusal is logged again at error.
    const c2 = await RawClient.open(b.port, { user: 'nobody', password, stopAfterStartOk: true });
    await c2.expectConnectionClose();
    await c2.close();
    clock.advance(DEFAULT_SUMMARY_INTERVAL_MS);
    const text = raw.join('');
    expect(text).not.toContain(password);
    expect(text).not.toContain('Sekr1t');
    expect(lines().filter((l) => l.level >= ERROR)).toEqual([]);
    const summary = withMsg('authentication failed').find((l) => l['summary'] === true);
    expect(summary).toMatchObject({ level: WARN, count: 1, user: 'nobody', mechanisms: { PLAIN: 1 } });
  });
});

describe('connections', () => {
  it('a client closing its connection is logged at info', async () => {
    const conn = await b.connect();
    await conn.close();
    const got = await waitFor(() => withMsg('client closed connection')[0]);
    expect(got).toMatchObject({ level: INFO, user: 'guest', vhost: '/', replyCode: 200 });
  });
});

describe('dead-lettering', () => {
  it('a flood of expiries is one line at once and one summary per interval, with counts by reason and the DLX', async () => {
    const ch = await channel(await b.connect());
    const dlx = uniq('dlx');
    const q = uniq('ttl');
    const dlq = uniq('dlq');
    await ch.assertExchange(dlx, 'fanout', { autoDelete: false, durable: false });
    await ch.assertQueue(dlq, { exclusive: true });
    await ch.bindQueue(dlq, dlx, '');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-dead-letter-exchange': dlx, 'x-message-ttl': 10 } });
    const N = 2000;
    for (let i = 0; i < N; i++) ch.sendToQueue(q, Buffer.from(String(i)));
    await waitFor(async () => (await ch.checkQueue(q)).messageCount === N, 5000);
    clock.advance(11);
    await waitFor(async () => (await ch.checkQueue(dlq)).messageCount === N, 5000);

    const first = withMsg('messages dead-lettered');
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ level: INFO, queue: q, dlx, count: 1, reasons: { expired: 1 } });
    expect(first[0]?.['summary']).toBeUndefined();

    clock.advance(DEFAULT_SUMMARY_INTERVAL_MS);
    const all = withMsg('messages dead-lettered');
    expect(all).toHaveLength(2);
    expect(all[1]).toMatchObject({ level: INFO, queue: q, dlx, count: N - 1, reasons: { expired: N - 1 }, summary: true, intervalMs: DEFAULT_SUMMARY_INTERVAL_MS });
    // Nothing per message at any level, and a quiet queue adds nothing more.
    clock.advance(DEFAULT_SUMMARY_INTERVAL_MS * 3);
    expect(lines().filter((l) => l['queue'] === q)).toHaveLength(2);
  });

  it('poison messages (delivery limit) are warned about, summarised', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('poison');
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-delivery-limit': 0 } });
    for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from('p'));
    await waitFor(async () => (await ch.checkQueue(q)).messageCount === 5);
    for (let i = 0; i < 5; i++) {
      const m = await waitFor(() => ch.get(q));
      ch.nack(m, false, true);
    }
    await waitFor(async () => (await ch.checkQueue(q)).messageCount === 0);
    clock.advance(DEFAULT_SUMMARY_INTERVAL_MS);
    const got = withMsg('poison message: delivery limit reached');
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({ level: WARN, queue: q, deliveryLimit: 0, outcomes: { dropped: 1 } });
    expect(got[1]).toMatchObject({ level: WARN, queue: q, summary: true, count: 4, outcomes: { dropped: 4 } });
  });

  it('a deleted queue flushes its pending summary at once and holds no timer', async () => {
    const ch = await channel(await b.connect());
    const q = uniq('gone');
    await ch.assertQueue(q, { arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': uniq('dlq-nowhere'), 'x-message-ttl': 10 } });
    for (let i = 0; i < 10; i++) ch.sendToQueue(q, Buffer.from('x'));
    await waitFor(async () => (await ch.checkQueue(q)).messageCount === 10);
    clock.advance(11);
    await waitFor(async () => (await ch.checkQueue(q)).messageCount === 0);
    const msg = 'dead-lettered message dropped: the dead-letter exchange routed it nowhere';
    expect(withMsg(msg)).toHaveLength(1);
    expect(withMsg(msg)[0]).toMatchObject({ level: WARN, queue: q, dlx: '', dlxExists: true, reasons: { expired: 1 } });
    const pendingBefore = clock.pending;
    await ch.deleteQueue(q);
    expect(withMsg(msg)).toHaveLength(2);
    expect(withMsg(msg)[1]).toMatchObject({ queue: q, count: 9, summary: true });
    expect(clock.pending).toBe(pendingBefore - 1);
    clock.advance(DEFAULT_SUMMARY_INTERVAL_MS * 2);
    expect(withMsg(msg)).toHaveLength(2);
  });
});

describe('vanishing clients', () => {
  it('a client dropping its socket without connection.close is logged at warn', async () => {
    const c = await RawClient.open(b.port);
    c.socket.destroy();
    const got = await waitFor(() => withMsg('client unexpectedly closed TCP connection')[0]);
    expect(got).toMatchObject({ level: WARN, user: 'guest', vhost: '/' });
  });
});
