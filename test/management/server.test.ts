// The management HTTP server: authentication and tag rules with RabbitMQ 3.10's exact 401s, the
// generic 404 and 405, loose JSON bodies, and that a handler failure is a 500, not a crash.

import { describe, expect, it } from 'vitest';
import { useApi } from './api.js';

const api = useApi();

describe('authentication', () => {
  it('no credentials: 401 with the Basic challenge and no body', async () => {
    const r = await api.get('/api/overview', null);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Basic realm="RabbitMQ Management"');
    expect(r.text).toBe('');
  });

  it('wrong password: 401 not_authorized "Login failed" with the challenge', async () => {
    const r = await api.get('/api/whoami', ['guest', 'nope']);
    expect(r.status).toBe(401);
    expect(r.json).toEqual({ error: 'not_authorized', reason: 'Login failed' });
    expect(r.headers.get('www-authenticate')).toBe('Basic realm="RabbitMQ Management"');
  });

  it('a user without a management tag: 401 "Not management user", no challenge', async () => {
    api.running.broker.users.put({ name: 'plain', password: 'p', tags: [] });
    const r = await api.get('/api/whoami', ['plain', 'p']);
    expect(r.status).toBe(401);
    expect(r.json).toEqual({ error: 'not_authorised', reason: 'Not management user' });
    expect(r.headers.get('www-authenticate')).toBeNull();
  });

  it('whoami names the user and its tags', async () => {
    const r = await api.get('/api/whoami');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ name: 'guest', tags: ['administrator'] });
  });
});

describe('wire', () => {
  it('unknown path: the generic 404 body', async () => {
    const r = await api.get('/api/nope');
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ error: 'Object Not Found', reason: 'Not Found' });
  });

  it('a known path with another method: 405 with Allow', async () => {
    const r = await api.call('POST', '/api/overview');
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toContain('GET');
  });

  it('a trailing slash is accepted', async () => {
    const r = await api.get('/api/whoami/');
    expect(r.status).toBe(200);
  });

  it('overview carries identity, totals and the AMQP listener', async () => {
    const r = await api.get('/api/overview');
    expect(r.status).toBe(200);
    const o = r.json as Record<string, unknown>;
    expect(o['rabbitmq_version']).toBe('3.10.8');
    expect(o['product_name']).toBe('warren');
    expect(o['object_totals']).toMatchObject({ queues: 0, connections: 0 });
    expect(o['listeners']).toContainEqual(expect.objectContaining({ protocol: 'amqp', port: api.port, ip_address: '127.0.0.1' }));
  });

  it('columns trims the object', async () => {
    const r = await api.get('/api/overview?columns=rabbitmq_version,object_totals.queues');
    expect(r.json).toEqual({ rabbitmq_version: '3.10.8', object_totals: { queues: 0 } });
  });
});
