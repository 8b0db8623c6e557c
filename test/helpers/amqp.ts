// Test helpers for amqplib-based end-to-end tests: channels that never throw
// unhandled 'error' events, error assertions, and message collection.

import { expect } from 'vitest';
import type * as amqplib from 'amqplib';

export async function channel(conn: amqplib.ChannelModel): Promise<amqplib.Channel> {
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  return ch;
}

export async function confirmChannel(conn: amqplib.ChannelModel): Promise<amqplib.ConfirmChannel> {
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => undefined);
  return ch;
}

/** The promise rejects with an AMQP error carrying `code` and (optionally) exactly this reply text. */
export async function expectAmqpError(p: Promise<unknown>, code: number, text?: string | RegExp): Promise<Error> {
  let err: unknown = null;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, 'expected the operation to fail').toBeInstanceOf(Error);
  const e = err as Error & { code?: number };
  expect(e.code, e.message).toBe(code);
  if (typeof text === 'string') expect(e.message).toContain(`with message "${text}"`);
  else if (text !== undefined) expect(e.message).toMatch(text);
  return e;
}

/** Resolve when the channel is closed by the server; returns the close error (code, message). */
export function channelClosed(ch: amqplib.Channel, ms = 1500): Promise<Error & { code?: number }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('channel was not closed by the server')), ms);
    ch.once('error', (err: Error & { code?: number }) => {
      clearTimeout(t);
      resolve(err);
    });
  });
}

/** Consume `n` messages from `queue` (no-ack by default) and cancel. */
export async function take(
  ch: amqplib.Channel,
  queue: string,
  n: number,
  opts: amqplib.Options.Consume = { noAck: true },
  ms = 1500,
): Promise<amqplib.ConsumeMessage[]> {
  const got: amqplib.ConsumeMessage[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const { consumerTag } = await ch.consume(
    queue,
    (m) => {
      if (m === null) return;
      got.push(m);
      if (got.length === n) done();
    },
    opts,
  );
  if (n > 0) {
    const timer = new Promise<void>((_, reject) =>
      setTimeout(() => reject(new Error(`got ${got.length} of ${n} messages from ${queue}`)), ms),
    );
    await Promise.race([finished, timer]);
  }
  await ch.cancel(consumerTag);
  return got;
}

/** Drain a queue with basic.get (no-ack) and return the bodies as strings. */
export async function drain(ch: amqplib.Channel, queue: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(m.content.toString());
  }
}

/** Round trip on the channel so that earlier asynchronous publishes have been processed. */
export async function sync(ch: amqplib.Channel): Promise<void> {
  await ch.checkExchange('amq.direct');
}

export const bodies = (ms: { content: Buffer }[]): string[] => ms.map((m) => m.content.toString());

let counter = 0;
/** A name unique within the test run. */
export function uniq(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}`;
}
