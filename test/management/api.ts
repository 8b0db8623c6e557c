// Test helper: a broker with its management API on port 0, and a small HTTP client for it
// (Node's fetch, Basic auth as guest unless told otherwise).

import { useBroker, type BrokerHandle } from '../helpers/broker.js';
import type { StartOptions } from '../../src/index.js';

export interface ApiReply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (undefined when empty). */
  json: unknown;
}

export interface ApiHandle extends BrokerHandle {
  readonly base: string;
  call(method: string, path: string, opts?: { body?: unknown; auth?: [string, string] | null; headers?: Record<string, string>; raw?: string }): Promise<ApiReply>;
  get(path: string, auth?: [string, string] | null): Promise<ApiReply>;
}

export function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

export function useApi(options: Partial<StartOptions> = {}): ApiHandle {
  const b = useBroker({ managementPort: 0, ...options });
  const handle: ApiHandle = Object.create(b) as ApiHandle;
  Object.defineProperty(handle, 'base', { get: () => `http://127.0.0.1:${String(b.running.managementPort)}` });
  handle.call = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    const auth: [string, string] | null = opts.auth === undefined ? ['guest', 'guest'] : opts.auth;
    if (auth !== null) headers['authorization'] = basic(auth[0], auth[1]);
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${handle.base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
  handle.get = (path, auth) => handle.call('GET', path, auth === undefined ? {} : { auth });
  return handle;
}
