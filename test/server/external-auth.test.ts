// SASL EXTERNAL on the TLS listener: a client certificate signed by the configured CA logs in as
// its CN (ssl_cert_login_from = common_name) or its subject DN (the default), with amqplib's
// EXTERNAL credentials. The certificates are made with openssl for this test.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { startBroker, type RunningBroker } from '../../src/index.js';
import type { StartOptions } from '../../src/index.js';

const FIXTURES = join(__dirname, '../fixtures/tls');
const SERVER_CERT = join(FIXTURES, 'server-cert.pem');
const SERVER_KEY = join(FIXTURES, 'server-key.pem');

let dir = '';
const certs: Record<string, { cert: Buffer; key: Buffer }> = {};

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A key and a certificate for `subject`, signed by the test CA (or by `signer`). */
function issue(name: string, subject: string, signer = 'ca'): void {
  openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.pem`, '-CAkey', `${signer}.key`, '-CAcreateserial', '-days', '2', '-out', `${name}.pem`);
  certs[name] = { cert: readFileSync(join(dir, `${name}.pem`)), key: readFileSync(join(dir, `${name}.key`)) };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-external-'));
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=warren test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=rogue CA', '-keyout', 'rogue.key', '-out', 'rogue.pem');
  issue('alice', '/C=US/O=acme/CN=alice');
  issue('bob', '/C=DE/O=acme, inc/CN=bob');
  issue('mallory', '/CN=mallory');
  issue('forged', '/CN=alice', 'rogue');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const running: RunningBroker[] = [];
afterAll(async () => {
  for (const r of running) await r.close();
});

async function broker(opts: Partial<StartOptions> = {}): Promise<RunningBroker> {
  const data = mkdtempSync(join(dir, 'data-'));
  const r = await startBroker({
    host: '127.0.0.1', port: 0, tlsPort: 0, dataDir: data, logLevel: 'silent',
    tls: { cert: readFileSync(SERVER_CERT), key: readFileSync(SERVER_KEY), ca: readFileSync(join(dir, 'ca.pem')) },
    authMechanisms: ['EXTERNAL', 'PLAIN'],
    ...opts,
  });
  running.push(r);
  // Certificate users have no password: they can log in only with their certificate.
  for (const name of ['alice', 'CN=bob,O=acme\\, inc,C=DE']) {
    await r.broker.access.putUser({ name });
    await r.broker.access.setPermissions(name, '/', { configure: '.*', write: '.*', read: '.*' });
  }
  return r;
}

async function external(port: number, who: string, tls = true): Promise<amqplib.ChannelModel> {
  const c = await amqplib.connect(`${tls ? 'amqps' : 'amqp'}://127.0.0.1:${port}`, {
    ...(tls ? { ca: [readFileSync(SERVER_CERT)], cert: certs[who]?.cert, key: certs[who]?.key } : {}),
    credentials: amqplib.credentials.external(),
  });
  c.on('error', () => undefined);
  return c;
}

describe('EXTERNAL over TLS', () => {
  it('logs in as the certificate CN with ssl_cert_login_from = common_name, and works', async () => {
    const r = await broker({ sslCertLoginFrom: 'common_name' });
    const c = await external(r.tlsPort as number, 'alice');
    const ch = await c.createChannel();
    await ch.assertQueue('ext');
    ch.sendToQueue('ext', Buffer.from('hi'));
    const got = await ch.get('ext', { noAck: true });
    expect(got !== false && got.content.toString()).toBe('hi');
    expect(r.broker.clients.list().map((x) => x.user)).toEqual(['alice']);
    await c.close();
  });

  it('logs in as the subject DN by default, written as RabbitMQ does (last RDN first, escaped)', async () => {
    const r = await broker();
    const c = await external(r.tlsPort as number, 'bob');
    expect(r.broker.clients.list().map((x) => x.user)).toEqual(['CN=bob,O=acme\\, inc,C=DE']);
    await c.close();
    // alice's DN names no user ('alice' is her CN only).
    await expect(external(r.tlsPort as number, 'alice')).rejects.toThrow(/ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL/);
  });

  it('refuses a certificate naming no user, and a CA the broker does not trust', async () => {
    const r = await broker({ sslCertLoginFrom: 'common_name' });
    await expect(external(r.tlsPort as number, 'mallory')).rejects.toThrow(/ACCESS_REFUSED/);
    // The handshake itself fails: the certificate is not verified, nothing reaches the broker.
    await expect(external(r.tlsPort as number, 'forged')).rejects.toThrow();
    expect(r.broker.clients.size).toBe(0);
  });

  it('is offered only on TLS with a verified certificate, and only when configured', async () => {
    const r = await broker({ sslCertLoginFrom: 'common_name' });
    // Plain AMQP: EXTERNAL is not offered, so amqplib finds no mechanism to use.
    await expect(external(r.port, 'alice', false)).rejects.toThrow(/EXTERNAL/);
    const plain = await broker({ sslCertLoginFrom: 'common_name', authMechanisms: ['PLAIN', 'AMQPLAIN'] });
    await expect(external(plain.tlsPort as number, 'alice')).rejects.toThrow(/EXTERNAL/);
  });
});
