// Shared helpers for the message-lifecycle tests: unique names, polling, consumers that
// collect what they receive, and waiting for a server-initiated channel close.

import { expect } from 'vitest';
import type * as amqplib from 'amqplib';

let counter = 0;

/** A name no other test in this process uses. */
export function uniq(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/** Poll `check` until it returns a truthy value (returned) or `ms` passes (throws). */
export async function waitFor<T>(check: () => T | Promise<T>, ms = 1500, every = 5): Promise<Truthy<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as Truthy<T>;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await sleep(every);
  }
}

export interface Received {
  msg: amqplib.ConsumeMessage;
  at: number;
  body: string;
}

/** Consume `queue` into an array (manual ack unless noAck); returns the array and the consumer tag. */
export async function collect(
  ch: amqplib.Channel,
  queue: string,
  opts: amqplib.Options.Consume = {},
): Promise<{ got: Received[]; tag: string }> {
  const got: Received[] = [];
  const ok = await ch.consume(
    queue,
    (msg) => {
      if (msg !== null) got.push({ msg, at: Date.now(), body: msg.content.toString() });
    },
    opts,
  );
  return { got, tag: ok.consumerTag };
}

/** Bodies of whatever basic.get returns until the queue is empty (no-ack). */
export async function drain(ch: amqplib.Channel, queue: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(m.content.toString());
  }
}

export interface ServerClose {
  code: number;
  message: string;
}

/** Resolves with the reply code and text when the server closes `ch`. */
export function channelClosed(ch: amqplib.Channel, ms = 1500): Promise<ServerClose> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('channel was not closed by the server')), ms);
    ch.once('error', (err: Error & { code?: number }) => {
      clearTimeout(timer);
      resolve({ code: err.code ?? 0, message: err.message });
    });
  });
}

/** Reply text of an amqplib error message ("... with message \"TEXT\""). */
export function replyText(message: string): string {
  const m = /with message "(.*)"$/s.exec(message);
  return m === null ? message : (m[1] as string);
}

/** Expect an operation to fail with a channel error `code` (and optionally an exact reply text). */
export async function expectChannelError(p: Promise<unknown>, code: number, text?: string | RegExp): Promise<void> {
  const err = (await p.then(
    () => {
      throw new Error(`expected channel error ${code}, operation succeeded`);
    },
    (e: unknown) => e,
  )) as Error & { code?: number };
  expect(err.code, err.message).toBe(code);
  if (text instanceof RegExp) expect(replyText(err.message)).toMatch(text);
  else if (text !== undefined) expect(replyText(err.message)).toBe(text);
}

/** A confirm channel whose 'error' events are swallowed (tests assert through promises). */
export async function confirmChannel(conn: amqplib.ChannelModel): Promise<amqplib.ConfirmChannel> {
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => undefined);
  return ch;
}

export async function channel(conn: amqplib.ChannelModel): Promise<amqplib.Channel> {
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  return ch;
}

/** Publish on a confirm channel and resolve 'ack' or 'nack'. */
export function publishConfirmed(
  ch: amqplib.ConfirmChannel,
  exchange: string,
  routingKey: string,
  body: string | Buffer,
  opts: amqplib.Options.Publish = {},
): Promise<'ack' | 'nack'> {
  return new Promise((resolve) => {
    ch.publish(exchange, routingKey, typeof body === 'string' ? Buffer.from(body) : body, opts, (err) => {
      resolve(err === null || err === undefined ? 'ack' : 'nack');
    });
  });
}

/** Does the queue exist? (passive declare on a throwaway channel) */
export async function queueExists(conn: amqplib.ChannelModel, queue: string): Promise<boolean> {
  const ch = await channel(conn);
  try {
    await ch.checkQueue(queue);
    await ch.close();
    return true;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return false;
    throw e;
  }
}

/** Ready-message count through a passive declare. */
export async function messageCount(ch: amqplib.Channel, queue: string): Promise<number> {
  return (await ch.checkQueue(queue)).messageCount;
}

/** A header value amqplib decoded from an AMQP timestamp ('T'). */
export interface Timestamp {
  '!': 'timestamp';
  value: number;
}

export interface XDeath {
  count: number;
  reason: string;
  queue: string;
  time: Timestamp;
  exchange: string;
  'routing-keys': string[];
  'original-expiration'?: string;
}

export function xDeath(msg: { properties: { headers?: Record<string, unknown> } }): XDeath[] {
  const v = msg.properties.headers?.['x-death'];
  if (!Array.isArray(v)) throw new Error('message has no x-death header');
  return v as XDeath[];
}
