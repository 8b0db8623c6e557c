// What a client sees of an HA node that does not serve: its AMQP port refuses each connection with
// 320 CONNECTION_FORCED naming the group, and the same port serves once the node is promoted; a
// fenced node refuses again. And two robustness cases of the node's turn: close() during a
// promotion closes the broker the promotion started, and a broker that fails to start after a
// promotion gives the lead up so another node takes over. And two a node cannot get past: an
// entry it can never apply stops it (saying so once), and a promotion whose copy holds the
// group's data without its access snapshot refuses to serve rather than seed a default user.

import { createServer, connect as netConnect, type Server } from 'node:net';
import * as amqplib from 'amqplib';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { HaStartOptions, RunningHaNode } from '../../src/index.js';
import { encodeSegment, segmentToken } from '../../src/ha/frames.js';
import { groupSubjects, type GroupSubjects } from '../../src/ha/replicated-log.js';
import { vhostId } from '../../src/store/data-dir.js';
import { PROTOCOL_HEADER } from '../../src/protocol/frame-writer.js';
import * as M from '../../src/protocol/generated/amqp.js';
import type { Logger } from '../../src/log.js';
import { RawClient } from '../helpers/raw-client.js';
import { appendRivalBarrier, haGroupFixture, intrude as intrudeOn, until as waitUntil } from './ha-group.js';

const group = haGroupFixture();
const servers: Server[] = [];

afterAll(() => {
  for (const s of servers) s.close();
});

const haNode = async (name: string, g: string, extra: Partial<HaStartOptions> = {}, ttlMs = 1_000): Promise<RunningHaNode> => (await group.node(name, g, { extra, ttlMs })).node;
const until = (cond: () => boolean, ms = 20_000): Promise<void> => waitUntil('condition', cond, ms);

/** The error amqplib.connect rejects with, or null if it connected (then the connection is closed). */
async function connectError(port: number): Promise<Error | null> {
  try {
    const c = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    await c.close();
    return null;
  } catch (err) {
    return err as Error;
  }
}

function standbyText(group: string): string {
  return `CONNECTION_FORCED - this warren node is an HA standby of group '${group}'; connect to the leader`;
}

function portRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

const intrude = (subjects: GroupSubjects, subject: string, data: Uint8Array): Promise<void> => intrudeOn(group.cluster(), subjects, subject, data);

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level: 'info' }, { write: (s: string) => void lines.push(s) }), lines };
}

describe('HA: what clients see of a node that does not serve', () => {
  it('a standby refuses with 320 naming the group; once promoted the same port serves', async () => {
    const a = await haNode('a', 'r1');
    const ra = await a.serving();
    expect(ra.port).toBe(a.port);
    const b = await haNode('b', 'r1');
    await until(() => b.role() === 'standby');

    const err = await connectError(b.port);
    expect(err?.message).toContain('320');
    expect(err?.message).toContain(standbyText('r1'));

    // A wrong protocol header gets ours back, then the socket is closed (AMQP 0-9-1 §4.2.2).
    const raw = await RawClient.connect(b.port, false);
    raw.send(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await raw.closedPromise;
    expect(Buffer.concat(raw.received)).toEqual(PROTOCOL_HEADER);

    await a.close();
    const rb = await b.serving();
    expect(rb.port).toBe(b.port);
    expect(await connectError(b.port)).toBeNull();
  }, 90_000);

  it('a fenced leader refuses again on its port while it follows', async () => {
    // A long TTL: the fenced node stays a standby for a while before it may lead again.
    const f = await haNode('f', 'r2', {}, 3_000);
    const rf = await f.serving();
    // An intruder's barrier: f's next heartbeat fails its compare-and-set, so f is fenced.
    await appendRivalBarrier(group.cluster(), 'r2');
    await until(() => f.role() === 'standby');
    expect(f.current()).toBeNull();
    const err = await connectError(f.port);
    expect(err?.message).toContain(standbyText('r2'));
    expect(f.port).toBe(rf.port);
  }, 90_000);

  it('close() during a promotion closes the broker the promotion started', async () => {
    const c = await haNode('c', 'r3');
    // A client in the handshake holds the refusing listener open briefly when the promotion takes
    // the port: its connection.close tells that startBroker is under way.
    const raw = await RawClient.connect(c.port);
    raw.send(PROTOCOL_HEADER);
    await raw.expect(M.CONNECTION_START);
    const close = await raw.expect(M.CONNECTION_CLOSE, 9_000);
    expect(close.replyText).toBe("CONNECTION_FORCED - this warren node is becoming the leader of HA group 'r3'; retry shortly");
    expect(c.role()).toBe('promoting');
    await c.close();
    expect(c.current()).toBeNull();
    expect(c.role()).toBe('stopped');
    // Nothing listens any more: the broker started by the promotion was closed, not leaked.
    expect(await portRefused(c.port)).toBe(true);
  }, 60_000);

  it('a broker that fails to start after promotion gives the lead up; another node takes over', async () => {
    // The management port is taken: startBroker fails after recovery, once the node leads.
    const taken = createServer();
    servers.push(taken);
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const managementPort = (taken.address() as { port: number }).port;
    const { logger, lines } = capture();
    const d = await haNode('d', 'r4', { managementPort, logger });
    await until(() => lines.some((l) => l.includes('HA: promoted, but the broker did not start')));
    expect(lines.some((l) => l.includes('HA node stopped'))).toBe(false);
    // It follows again, refusing clients on its port as before.
    await until(() => d.role() === 'standby');
    expect((await connectError(d.port))?.message).toContain(standbyText('r4'));

    const e = await haNode('e', 'r4');
    const re = await e.serving();
    expect(await connectError(re.port)).toBeNull();
    await until(() => d.role() === 'standby');
    expect((await connectError(d.port))?.message).toContain(standbyText('r4'));
  }, 90_000);

  it('a standby that meets an entry it can never apply stops, saying so once', async () => {
    const g = await haNode('g', 'r5');
    await g.serving();
    const { logger, lines } = capture();
    const h = await haNode('h', 'r5', { logger });
    await until(() => h.role() === 'standby');
    // A frame of another format version, as a leader of another release would append.
    const other = Buffer.from(encodeSegment('vhosts/x/messages/000000000001.seg', 0, Buffer.from('x')));
    other[0] = 1;
    await intrude(groupSubjects('r5'), groupSubjects('r5').seg('x'), other);
    await until(() => h.role() === 'stopped');
    // Some TTLs later: no retries, one error.
    await new Promise((r) => setTimeout(r, 3_000));
    const errors = lines.map((l) => JSON.parse(l) as { level: number; msg: string; err?: string }).filter((l) => l.level >= 50);
    expect(errors.map((e) => e.msg)).toEqual(['HA node stopped']);
    expect(errors[0]?.err).toMatch(/cannot be applied: bad replication frame: version 1, this warren reads version 2 only/);
    expect(lines.some((l) => l.includes('applying the replicated log failed'))).toBe(false);
    expect(await portRefused(h.port)).toBe(true);
  }, 90_000);

  it('a promotion whose copy holds the group\'s data but no access snapshot gives the lead up, saying why', async () => {
    const subjects = groupSubjects('r6');
    // A vhost's name file in the stream and no access snapshot (lost): no first start.
    const file = `vhosts/${vhostId('/')}/.vhost`;
    await intrude(subjects, subjects.seg(segmentToken(file)), encodeSegment(file, 0, Buffer.from('/')));
    const { logger, lines } = capture();
    const n = await haNode('n', 'r6', { logger });
    await until(() => lines.some((l) => l.includes('HA: promoted, but the broker did not start') && l.includes('never reached this node')));
    expect(n.current()).toBeNull();
    expect((await connectError(n.port))?.message ?? '').not.toBe('');
  }, 90_000);
});
