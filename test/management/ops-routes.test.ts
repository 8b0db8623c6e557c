// Health checks (503 under an alarm), nodes, definitions export/import (JSON, multipart, download,
// per vhost), the admin socket, and the server's robustness (body cap, bad JSON, OPTIONS).

import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { useApi } from './api.js';

const api = useApi();

describe('health checks', () => {
  it('alarms: ok, then 503 with the reason while the memory alarm is raised', async () => {
    expect((await api.get('/api/health/checks/alarms')).json).toEqual({ status: 'ok' });
    const alarms = api.running.broker.alarms;
    const read = alarms.readMemory;
    alarms.readMemory = () => Number.MAX_SAFE_INTEGER;
    try {
      await alarms.check();
      const r = await api.get('/api/health/checks/alarms');
      expect(r.status).toBe(503);
      expect(r.json).toMatchObject({ status: 'failed', reason: 'There are alarms in effect in the cluster', alarms: [{ resource: 'memory' }] });
      expect((await api.get('/api/health/checks/local-alarms')).status).toBe(503);
    } finally {
      alarms.readMemory = read;
      await alarms.check();
    }
    expect((await api.get('/api/health/checks/local-alarms')).status).toBe(200);
  });

  it('port and protocol listeners', async () => {
    expect((await api.get(`/api/health/checks/port-listener/${api.port}`)).json).toEqual({ status: 'ok', port: api.port });
    const missing = await api.get('/api/health/checks/port-listener/1');
    expect(missing.status).toBe(503);
    expect(missing.json).toMatchObject({ status: 'failed', reason: 'No active listener', missing: 1 });
    expect((await api.get('/api/health/checks/port-listener/abc')).json).toEqual({ error: 'bad_request', reason: 'Invalid port' });
    expect((await api.get('/api/health/checks/protocol-listener/amqp091')).json).toEqual({ status: 'ok', protocol: 'amqp' });
    expect((await api.get('/api/health/checks/protocol-listener/mqtt')).status).toBe(503);
    expect((await api.get('/api/health/checks/certificate-expiration/1/fortnights')).json).toEqual({
      error: 'bad_request',
      reason: 'Time unit not recognised. Supported units: days, weeks, months, years.',
    });
    for (const c of ['virtual-hosts', 'node-is-quorum-critical', 'is-in-service', 'ready-to-serve-clients', 'below-node-connection-limit', 'certificate-expiration/1/weeks']) {
      expect((await api.get(`/api/health/checks/${c}`)).status, c).toBe(200);
    }
  });

  it('aliveness-test', async () => {
    expect((await api.get('/api/aliveness-test/%2F')).json).toEqual({ status: 'ok' });
    expect((await api.get('/api/aliveness-test/nosuch')).status).toBe(404);
  });
});

describe('nodes', () => {
  it('the one node, with the keys rabbitmqadmin v2 requires', async () => {
    const nodes = (await api.get('/api/nodes')).json as Record<string, unknown>[];
    expect(nodes).toHaveLength(1);
    const n = nodes[0] as Record<string, unknown>;
    for (const k of ['name', 'uptime', 'run_queue', 'processors', 'os_pid', 'fd_total', 'proc_total', 'mem_limit', 'mem_alarm', 'disk_free_limit', 'disk_free_alarm', 'rates_mode', 'enabled_plugins', 'being_drained']) {
      expect(n, k).toHaveProperty(k);
    }
    const name = encodeURIComponent(n['name'] as string);
    expect((await api.get(`/api/nodes/${name}`)).json).toMatchObject({ name: n['name'], type: 'disc', running: true });
    expect((await api.get(`/api/nodes/${name}/memory`)).json).toMatchObject({ memory: { total: { rss: expect.any(Number) } } });
    expect((await api.get('/api/nodes/rabbit@nowhere')).status).toBe(404);
  });
});

describe('definitions', () => {
  it('export, import elsewhere (JSON and multipart), per vhost, download', async () => {
    await api.call('PUT', '/api/vhosts/defs');
    await api.call('PUT', '/api/users/erin', { body: { password: 'e', tags: 'monitoring' } });
    await api.call('PUT', '/api/permissions/defs/erin', { body: { configure: '.*', write: '.*', read: '.*' } });
    await api.call('PUT', '/api/policies/defs/ttl', { body: { pattern: '^t', definition: { 'message-ttl': 1000 } } });
    const c = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${api.port}/defs`);
    const ch = await c.createChannel();
    await ch.assertExchange('d-x', 'topic');
    await ch.assertQueue('d-q');
    await ch.bindQueue('d-q', 'd-x', 'a.#');
    await c.close();

    const r = await api.get('/api/definitions');
    const doc = r.json as Record<string, unknown[]>;
    expect(doc['users']).toContainEqual(expect.objectContaining({ name: 'erin', tags: ['monitoring'] }));
    expect(doc['queues']).toContainEqual(expect.objectContaining({ name: 'd-q', vhost: 'defs' }));
    expect(doc['policies']).toContainEqual(expect.objectContaining({ name: 'ttl', vhost: 'defs' }));

    const d = await api.get('/api/definitions?download=warren.json');
    expect(d.headers.get('content-disposition')).toBe('attachment; filename=warren.json');

    const perVhost = (await api.get('/api/definitions/defs')).json as Record<string, unknown[]>;
    expect(perVhost['queues']).toContainEqual(expect.objectContaining({ name: 'd-q' }));
    expect(perVhost['users']).toBeUndefined();

    // Import into a new vhost (per-vhost document), as JSON.
    await api.call('PUT', '/api/vhosts/copy');
    expect((await api.call('POST', '/api/definitions/copy', { body: perVhost })).status).toBe(204);
    const copied = (await api.get('/api/definitions/copy')).json as Record<string, unknown[]>;
    expect(copied['bindings']).toContainEqual(expect.objectContaining({ source: 'd-x', destination: 'd-q', routing_key: 'a.#' }));

    // A multipart upload (field `file`) as the web UI and curl -F send it.
    const boundary = '----warren-test';
    const upload = { users: [{ name: 'frank', password_hash: 'kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR', tags: [] }], vhosts: [{ name: 'uploaded' }] };
    const raw = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="defs.json"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(upload)}\r\n--${boundary}--\r\n`;
    const m = await api.call('POST', '/api/definitions', { raw, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
    expect(m.status).toBe(204);
    expect((await api.get('/api/users/frank')).status).toBe(200);
    expect((await api.get('/api/vhosts/uploaded')).status).toBe(200);

    expect((await api.call('POST', '/api/definitions', { body: { queues: [{ name: 'x', vhost: 'nosuch-vhost' }] } })).status).toBe(400);
    expect((await api.call('POST', '/api/definitions/nosuch', { body: perVhost })).json).toEqual({ error: 'not_found', reason: 'vhost_not_found' });
  });
});

describe('server', () => {
  it('bad JSON: 400 not_json; OPTIONS answers without credentials', async () => {
    const r = await api.call('PUT', '/api/vhosts/x', { raw: '{bad', headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: 'bad_request', reason: 'not_json' });
    const o = await api.call('OPTIONS', '/api/vhosts/x', { auth: null });
    expect(o.status).toBe(200);
    expect(o.headers.get('allow')).toContain('PUT');
  });

  it('a body over the cap is refused with 413 and the server keeps serving', async () => {
    const big = 'x'.repeat(21 * 1024 * 1024);
    const r = await api.call('POST', '/api/definitions', { raw: big, headers: { 'content-type': 'application/json' } }).catch((err: unknown) => ({ status: -1, err }));
    expect([413, -1]).toContain(r.status);
    expect((await api.get('/api/whoami')).status).toBe(200);
  });

  it('the admin socket in the data dir answers as an administrator without credentials', async () => {
    const path = join(api.running.broker.config.dataDir, 'ctl.sock');
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ socketPath: path, path: '/api/whoami', method: 'GET' }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ tags: ['administrator'] });
  });
});
