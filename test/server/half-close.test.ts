// A socket warren half-closed (after answering connection.close with close-ok) is destroyed
// when the client never closes its side, after RabbitMQ's 30 s, so descriptors are not leaked.

import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { ManualClock } from '../../src/util/clock.js';
import * as M from '../../src/protocol/generated/amqp.js';

/** RabbitMQ's reader waits 30 s (CLOSING_TIMEOUT) for the peer to close its side. */
const HALF_CLOSED_TIMEOUT_MS = 30_000;
const clock = new ManualClock();
const b = useBroker({ clock });

/**
 * Whether warren still holds the socket. Its side is already shut, so the client learns that it
 * is gone only by writing: a destroyed socket answers the first write with a reset, and the next
 * write then fails (EPIPE). A heartbeat frame is harmless to a socket still open (warren ignores
 * input once closed).
 */
async function probeGone(c: RawClient, ms: number): Promise<boolean> {
  for (let i = 0; i < 2 && !c.closed; i++) {
    c.socket.write(HEARTBEAT);
    await Promise.race([c.closedPromise, new Promise((r) => setTimeout(r, ms))]);
  }
  return c.closed;
}
const HEARTBEAT = Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce]);

function serverEnded(c: RawClient): Promise<void> {
  return new Promise((resolve) => c.socket.once('end', () => resolve()));
}

describe('half-closed sockets', () => {
  it('after close-ok, a client that keeps its side open is cut off after 30 s on the broker clock', async () => {
    const c = await RawClient.connect(b.port, true, true);
    await c.handshake();
    const ended = serverEnded(c);
    c.sendMethod(0, { id: M.CONNECTION_CLOSE, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 });
    await c.expect(M.CONNECTION_CLOSE_OK);
    await ended; // warren half-closed; the client never ends its side
    clock.advance(HALF_CLOSED_TIMEOUT_MS - 1);
    expect(await probeGone(c, 100)).toBe(false);
    clock.advance(1);
    expect(await probeGone(c, 5000)).toBe(true);
  });

  it('a refused protocol header leaves no half-open socket behind either', async () => {
    const c = await RawClient.connect(b.port, false, true);
    const ended = serverEnded(c);
    c.socket.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await ended;
    expect(Buffer.concat(c.received).subarray(0, 4).toString()).toBe('AMQP');
    expect(await probeGone(c, 100)).toBe(false);
    clock.advance(HALF_CLOSED_TIMEOUT_MS);
    expect(await probeGone(c, 5000)).toBe(true);
  });
});
