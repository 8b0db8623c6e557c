// Handshake over a raw socket: connection.start contents, tune values, auth, vhosts.

import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { RawClient, plainResponse } from '../helpers/raw-client.js';
import { encodeTable, type FieldTable } from '../../src/protocol/field-table.js';
import * as M from '../../src/protocol/generated/amqp.js';

const b = useBroker();

function str(v: Buffer | string): string {
  return typeof v === 'string' ? v : v.toString('utf8');
}

describe('connection.start', () => {
  it('announces version 0-9, mechanisms "AMQPLAIN PLAIN" (RabbitMQ 3.10.8 order), en_US and the capability table', async () => {
    const c = await RawClient.open(b.port);
    const s = c.start as M.ConnectionStart;
    expect(s.versionMajor).toBe(0);
    expect(s.versionMinor).toBe(9);
    // Observed on RabbitMQ 3.10.8: "AMQPLAIN PLAIN" (clients split on spaces; the order is what RabbitMQ sends).
    expect(str(s.mechanisms)).toBe('AMQPLAIN PLAIN');
    expect(str(s.locales)).toBe('en_US');
    const props = s.serverProperties;
    for (const k of ['product', 'version', 'platform', 'copyright', 'information', 'cluster_name']) {
      expect(typeof props[k], k).toBe('string');
    }
    expect(props['capabilities']).toEqual({
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      consumer_priorities: true,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: true,
    });
    await c.close();
  });
});

describe('connection.tune', () => {
  it('proposes channel_max 2047, frame_max 131072, heartbeat 60', async () => {
    const c = await RawClient.open(b.port);
    const t = c.tune as M.ConnectionTune;
    expect([t.channelMax, t.frameMax, t.heartbeat]).toEqual([2047, 131072, 60]);
    await c.close();
  });

  it("honours a client's lower channel_max (counted in open channels)", async () => {
    const c = await RawClient.open(b.port, { tuneOk: { channelMax: 2 } });
    await c.openChannel(1);
    await c.openChannel(2);
    c.sendMethod(3, { id: M.CHANNEL_OPEN, outOfBand: '' });
    const close = await c.expectConnectionClose();
    expect(close.replyCode).toBe(530);
    expect(close.replyText).toMatch(/^NOT_ALLOWED - /);
    c.destroy();
  });

  it("honours a client's lower frame_max: a larger frame is a 501 frame error", async () => {
    const c = await RawClient.open(b.port, { tuneOk: { frameMax: 4096 } });
    await c.openChannel(1);
    // 5000-byte body frame: legal under 131072, over the negotiated 4096.
    c.publish(1, 'amq.direct', 'nowhere', Buffer.alloc(3000));
    await new Promise((r) => setTimeout(r, 30));
    c.sendMethod(1, { id: M.BASIC_PUBLISH, ticket: 0, exchange: 'amq.direct', routingKey: 'x', mandatory: false, immediate: false });
    c.sendHeader(1, 5000);
    c.sendBody(1, Buffer.alloc(5000));
    const close = await c.expectConnectionClose();
    expect(close.replyCode).toBe(501);
    c.destroy();
  });

  it('frame_max 0 or channel_max 0 in tune-ok means "no limit": the server\'s values apply and the connection opens', async () => {
    // The 0-9-1 spec reads 0 as "no limit"; RabbitMQ 3.10.8 refuses it instead. warren follows the
    // spec (and the dialect notes): no client that works with RabbitMQ sends it, so accepting is safe.
    for (const tuneOk of [{ frameMax: 0 }, { channelMax: 0 }]) {
      const c = await RawClient.open(b.port, { tuneOk, stopAfterTuneOk: true });
      c.sendMethod(0, { id: M.CONNECTION_OPEN, virtualHost: '/', capabilities: '', insist: false });
      const got = (await c.nextMethod(2000)).method;
      expect(got.id, JSON.stringify(tuneOk)).toBe(M.CONNECTION_OPEN_OK);
      c.destroy();
    }
  });

  it('refuses frame_max below 4096: the connection never opens', async () => {
    const c = await RawClient.open(b.port, { tuneOk: { frameMax: 2048 }, stopAfterTuneOk: true });
    c.sendMethod(0, { id: M.CONNECTION_OPEN, virtualHost: '/', capabilities: '', insist: false });
    // RabbitMQ 3.10 drops the socket (after a delay) without a method; a 530 close is also a refusal.
    let got: M.Method | null = null;
    try {
      got = (await c.nextMethod(3500)).method;
    } catch {
      got = null;
    }
    if (got !== null) {
      expect(got.id).toBe(M.CONNECTION_CLOSE);
      if (got.id === M.CONNECTION_CLOSE) expect(got.replyCode).toBe(530);
      c.sendMethod(0, { id: M.CONNECTION_CLOSE_OK });
    }
    expect(await c.waitClosed(3500)).toBe(true);
  }, 8000);
});

describe('authentication', () => {
  it('accepts PLAIN guest/guest', async () => {
    const c = await RawClient.open(b.port, { mechanism: 'PLAIN', response: plainResponse('guest', 'guest') });
    await c.openChannel(1);
    await c.close();
  });

  it('accepts AMQPLAIN (table without length prefix)', async () => {
    const table: FieldTable = { LOGIN: 'guest', PASSWORD: 'guest' };
    const response = encodeTable(table).subarray(4);
    const c = await RawClient.open(b.port, { mechanism: 'AMQPLAIN', response });
    await c.openChannel(1);
    await c.close();
  });

  it('bad password with authentication_failure_close: connection.close 403', async () => {
    const c = await RawClient.open(b.port, { password: 'wrong', stopAfterStartOk: true, capabilities: { authentication_failure_close: true } });
    const close = await c.expectConnectionClose();
    expect(close.replyCode).toBe(403);
    expect(close.replyText).toBe('ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.');
    expect(await c.waitClosed()).toBe(true);
  });

  it('bad password without the capability: socket closed without a method', async () => {
    const c = await RawClient.open(b.port, { password: 'wrong', stopAfterStartOk: true, capabilities: {} });
    // RabbitMQ closes after a ~3 s delay; warren may close at once.
    expect(await c.waitClosed(4000)).toBe(true);
    expect(c.pending()).toEqual([]);
  });

  it('unknown user is refused like a bad password', async () => {
    const c = await RawClient.open(b.port, { user: 'nobody', password: 'guest', stopAfterStartOk: true });
    const close = await c.expectConnectionClose();
    expect(close.replyCode).toBe(403);
    c.destroy();
  });

  it('unknown mechanism: refused without connection.tune, socket closed', async () => {
    const c = await RawClient.open(b.port, { mechanism: 'EXTERNAL', response: Buffer.alloc(0), stopAfterStartOk: true });
    // RabbitMQ 3.10.8 closes the socket (after ~3 s) without a method; a 403 close is also a refusal.
    let got: M.Method | null = null;
    try {
      got = (await c.nextMethod(3500)).method;
    } catch {
      got = null;
    }
    if (got !== null) {
      expect(got.id).toBe(M.CONNECTION_CLOSE);
      if (got.id === M.CONNECTION_CLOSE) expect(got.replyCode).toBe(403);
      c.sendMethod(0, { id: M.CONNECTION_CLOSE_OK });
    }
    expect(await c.waitClosed(3500)).toBe(true);
  }, 8000);

  it('AMQPLAIN with a bad password: 403 naming AMQPLAIN', async () => {
    const response = encodeTable({ LOGIN: 'guest', PASSWORD: 'bad' }).subarray(4);
    const c = await RawClient.open(b.port, { mechanism: 'AMQPLAIN', response, stopAfterStartOk: true });
    const close = await c.expectConnectionClose();
    expect(close.replyCode).toBe(403);
    expect(close.replyText).toBe('ACCESS_REFUSED - Login was refused using authentication mechanism AMQPLAIN. For details see the broker logfile.');
    c.destroy();
  });
});

describe('connection.open', () => {
  it('unknown vhost: 530 NOT_ALLOWED', async () => {
    const c = await RawClient.open(b.port, { stopAfterTuneOk: true });
    c.sendMethod(0, { id: M.CONNECTION_OPEN, virtualHost: 'no-such-vhost', capabilities: '', insist: false });
    const close = await c.expectConnectionClose();
    expect(close.replyCode).toBe(530);
    expect(close.replyText).toBe('NOT_ALLOWED - vhost no-such-vhost not found');
    expect(await c.waitClosed()).toBe(true);
  });

  it('connection.update-secret is answered with update-secret-ok', async () => {
    const c = await RawClient.open(b.port);
    c.sendMethod(0, { id: M.CONNECTION_UPDATE_SECRET, newSecret: Buffer.from('new-secret'), reason: 'rotation' });
    await c.expect(M.CONNECTION_UPDATE_SECRET_OK);
    await c.openChannel(1);
    await c.close();
  });

  it('a client close is answered with close-ok and the socket ends', async () => {
    const c = await RawClient.open(b.port);
    c.sendMethod(0, { id: M.CONNECTION_CLOSE, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 });
    await c.expect(M.CONNECTION_CLOSE_OK);
    c.destroy();
  });
});
