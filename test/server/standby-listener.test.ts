// The HA standby's AMQP port: every client gets connection.start as from a broker and then a 320
// CONNECTION_FORCED naming the reason; bad headers get ours back; stuck, garbled and vanished
// clients are dropped on the injected clock; floods make one log line and a summary.

import * as amqplib from 'amqplib';
import { connect as netConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_HEADER } from '../../src/protocol/frame-writer.js';
import * as M from '../../src/protocol/generated/amqp.js';
import { STANDBY_CLOSE_WAIT_MS, STANDBY_HANDSHAKE_TIMEOUT_MS, type StandbyListenerOptions } from '../../src/server/standby-listener.js';
import { plainResponse, RawClient } from '../helpers/raw-client.js';
import { REASON, refusals, standbyFixture, until, type StandbyUnderTest } from './standby-fixture.js';

interface Started extends StandbyUnderTest {
  port: number;
}

const make = standbyFixture();

async function start(extra: Partial<StandbyListenerOptions> = {}): Promise<Started> {
  const s = make(extra);
  const { port } = await s.listener.listen('127.0.0.1', 0);
  return { ...s, port };
}

function startOk(): M.Method {
  return { id: M.CONNECTION_START_OK, clientProperties: {}, mechanism: 'PLAIN', response: plainResponse('guest', 'guest'), locale: 'en_US' };
}


describe('standby listener', () => {
  it('amqplib.connect is rejected with 320 CONNECTION_FORCED and the reason', async () => {
    const s = await start();
    const err = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${s.port}`).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain('320');
    expect(err?.message).toContain(`CONNECTION_FORCED - ${REASON}`);
    // amqplib drops the socket: nothing is left behind, and the refusal is logged at info.
    await until(() => s.listener.pending === 0);
    await until(() => refusals(s.lines).length === 1);
    expect(refusals(s.lines)[0]).toMatchObject({ level: 30, outcomes: { refused: 1 }, reason: REASON });
  });

  it('speaks the handshake with generated frames: start as the broker, close 320 on start-ok, socket closed after close-ok', async () => {
    const s = await start({ serverProperties: { cluster_name: 'east' } });
    const c = await RawClient.connect(s.port);
    c.send(PROTOCOL_HEADER);
    const st = await c.expect(M.CONNECTION_START);
    expect([st.versionMajor, st.versionMinor]).toEqual([0, 9]);
    expect(st.mechanisms.toString()).toBe('AMQPLAIN PLAIN');
    expect(st.locales.toString()).toBe('en_US');
    expect(st.serverProperties['product']).toBe('warren');
    expect(st.serverProperties['cluster_name']).toBe('east');
    expect(st.serverProperties['capabilities']).toMatchObject({ publisher_confirms: true, authentication_failure_close: true });
    c.sendMethod(0, startOk());
    const close = await c.expect(M.CONNECTION_CLOSE);
    expect(close).toMatchObject({ replyCode: 320, replyText: `CONNECTION_FORCED - ${REASON}`, classId: 0, methodId: 0 });
    c.sendMethod(0, { id: M.CONNECTION_CLOSE_OK });
    await c.closedPromise;
    await until(() => s.listener.pending === 0);
  });

  it('answers an unsupported protocol header with its own and closes (AMQP 0-9-1 §4.2.2)', async () => {
    const s = await start();
    const c = await RawClient.connect(s.port, false);
    c.send(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await c.closedPromise;
    expect(Buffer.concat(c.received)).toEqual(PROTOCOL_HEADER);
    await until(() => refusals(s.lines).length === 1);
    expect(refusals(s.lines)[0]).toMatchObject({ outcomes: { 'bad-header': 1 } });
  });

  it('accepts the 0-9 header as the broker does, and a header split across writes', async () => {
    const s = await start();
    const c = await RawClient.connect(s.port);
    c.send(Buffer.from([0x41, 0x4d, 0x51]));
    await new Promise((r) => setTimeout(r, 20));
    c.send(Buffer.from([0x50, 1, 1, 0, 9]));
    await c.expect(M.CONNECTION_START);
    c.sendMethod(0, startOk());
    expect((await c.expectConnectionClose()).replyCode).toBe(320);
    await c.closedPromise;
  });

  it('a client that never sends start-ok is dropped after the handshake timeout on the injected clock', async () => {
    const s = await start();
    const c = await RawClient.connect(s.port);
    c.send(PROTOCOL_HEADER);
    await c.expect(M.CONNECTION_START);
    s.clock.advance(STANDBY_HANDSHAKE_TIMEOUT_MS - 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(c.closed).toBe(false);
    s.clock.advance(1);
    await c.closedPromise;
    await until(() => refusals(s.lines).length === 1);
    expect(refusals(s.lines)[0]).toMatchObject({ outcomes: { timeout: 1 } });
  });

  it('a client that never answers connection.close is dropped after the close wait', async () => {
    const s = await start();
    const c = await RawClient.connect(s.port);
    c.send(PROTOCOL_HEADER);
    await c.expect(M.CONNECTION_START);
    c.sendMethod(0, startOk());
    await c.expect(M.CONNECTION_CLOSE);
    // Spec §4.2.2: anything but close / close-ok after our close is discarded, not an error.
    c.sendMethod(1, { id: M.CHANNEL_OPEN, outOfBand: '' });
    await new Promise((r) => setTimeout(r, 50));
    expect(c.closed).toBe(false);
    s.clock.advance(STANDBY_CLOSE_WAIT_MS);
    await c.closedPromise;
    await until(() => s.listener.pending === 0);
  });

  it('garbage, unknown methods and vanished clients neither crash it nor leak', async () => {
    const s = await start();
    const garbage = [
      Buffer.from([1, 0, 0, 0, 0, 0, 2, 0xff, 0xff, 0xce]), // a method frame too short to name a method
      Buffer.from([1, 0, 0, 0, 0, 0, 4, 0, 99, 0, 1, 0xce]), // an unknown class
      Buffer.from([9, 0, 0, 0, 0, 0, 0, 0xce]), // an unknown frame type
      Buffer.from([1, 0, 0, 0, 0, 0, 4, 0, 10, 0, 11, 0x00]), // a bad frame end
      Buffer.from([1, 0, 0, 0xff, 0xff, 0xff, 0xff]), // a frame far over the limit
    ];
    for (const g of garbage) {
      const c = await RawClient.connect(s.port, false);
      c.send(Buffer.concat([PROTOCOL_HEADER, g]));
      await c.closedPromise;
    }
    // Gone mid-frame, and gone before sending anything.
    const mid = await RawClient.connect(s.port, false);
    mid.send(Buffer.concat([PROTOCOL_HEADER, Buffer.from([1, 0, 0, 0, 0, 1, 0, 0, 10])]));
    await new Promise((r) => setTimeout(r, 20));
    mid.socket.destroy();
    const early = await RawClient.connect(s.port, false);
    early.socket.destroy();
    await until(() => s.listener.pending === 0);
    // Still refusing as before.
    const err = await amqplib.connect(`amqp://127.0.0.1:${s.port}`).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain(`CONNECTION_FORCED - ${REASON}`);
    await until(() => s.listener.pending === 0);
    s.clock.advance(10_000);
    await until(() => refusals(s.lines).some((l) => l['summary'] === true));
    const counts = new Map<string, number>();
    for (const l of refusals(s.lines)) for (const [k, v] of Object.entries(l['outcomes'] as Record<string, number>)) counts.set(k, (counts.get(k) ?? 0) + v);
    expect(counts.get('bad-frame')).toBe(garbage.length);
    expect(counts.get('gone')).toBe(2);
    expect(counts.get('refused')).toBe(1);
  });

  it('a flood is logged once at its start, then summarised', async () => {
    const s = await start();
    for (let i = 0; i < 20; i++) {
      const c = await RawClient.connect(s.port, false);
      c.send(Buffer.from('NOTAMQP!'));
      await c.closedPromise;
    }
    await until(() => s.listener.pending === 0);
    expect(refusals(s.lines)).toHaveLength(1);
    s.clock.advance(10_000);
    expect(refusals(s.lines)).toHaveLength(2);
    expect(refusals(s.lines)[1]).toMatchObject({ summary: true, count: 19, outcomes: { 'bad-header': 19 } });
  });

  it('past its cap of refusals under way, a new socket is dropped at once', async () => {
    const s = await start({ maxPending: 2 });
    const held = [await RawClient.connect(s.port), await RawClient.connect(s.port)];
    await until(() => s.listener.pending === 2);
    const third = await RawClient.connect(s.port, false);
    await third.closedPromise;
    expect(third.received).toHaveLength(0);
    for (const h of held) h.socket.destroy();
    await until(() => s.listener.pending === 0);
  });

  it('close tells a client past the header why, drops the rest, frees the port; it can listen again on it', async () => {
    const s = await start();
    const waiting = await RawClient.connect(s.port);
    waiting.send(PROTOCOL_HEADER);
    await waiting.expect(M.CONNECTION_START);
    const silent = await RawClient.connect(s.port, false);
    await until(() => s.listener.pending === 2);
    const closing = s.listener.close();
    const close = await waiting.expect(M.CONNECTION_CLOSE);
    expect(close.replyText).toBe(`CONNECTION_FORCED - ${REASON}`);
    waiting.sendMethod(0, { id: M.CONNECTION_CLOSE_OK });
    await closing;
    await silent.closedPromise;
    await waiting.closedPromise;
    expect(s.listener.listening).toBe(false);
    const refused = await new Promise<string>((resolve) => {
      const sock = netConnect({ host: '127.0.0.1', port: s.port }, () => resolve('connected'));
      sock.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    await s.listener.listen('127.0.0.1', s.port);
    const again = await RawClient.connect(s.port);
    again.send(PROTOCOL_HEADER);
    await again.expect(M.CONNECTION_START);
    again.socket.destroy();
  });

  it('close gives a client that does not answer the close wait, then cuts it off', async () => {
    const s = await start();
    const c = await RawClient.connect(s.port);
    c.send(PROTOCOL_HEADER);
    await c.expect(M.CONNECTION_START);
    let done = false;
    const closing = s.listener.close().then(() => {
      done = true;
    });
    await c.expect(M.CONNECTION_CLOSE);
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    s.clock.advance(STANDBY_CLOSE_WAIT_MS);
    await closing;
    await c.closedPromise;
  });
});
