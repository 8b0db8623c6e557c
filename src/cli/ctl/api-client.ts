// How `warren ctl` reaches a running warren: the management HTTP API over TCP, or over the local
// Unix socket that the management server trusts as an administrator (as LavinMQ's ctl does), so a
// shell on the broker's host needs no password.

import { request, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CtlError, EXIT } from './errors.js';

export interface ApiTarget {
  /** Base URL, e.g. http://127.0.0.1:15672 (ignored when socketPath is set). */
  readonly url: string;
  readonly socketPath?: string | undefined;
  readonly username: string;
  readonly password: string;
  readonly timeoutMs: number;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
  readonly text: string;
}

/** One segment of an API path: RabbitMQ's routes take `/` inside a name as %2F. */
export function seg(s: string): string {
  return encodeURIComponent(s);
}

export class ApiClient {
  constructor(private readonly target: ApiTarget) {}

  get(path: string): Promise<ApiResponse> {
    return this.call('GET', path);
  }

  put(path: string, body: unknown): Promise<ApiResponse> {
    return this.call('PUT', path, body);
  }

  post(path: string, body: unknown): Promise<ApiResponse> {
    return this.call('POST', path, body);
  }

  delete(path: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
    return this.call('DELETE', path, undefined, headers);
  }

  /** The request; a refused or unreachable node is EXIT.unavailable, a slow one EXIT.tempfail. */
  call(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<ApiResponse> {
    const t = this.target;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
    if (t.socketPath === undefined) headers.authorization = `Basic ${Buffer.from(`${t.username}:${t.password}`).toString('base64')}`;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const url = new URL(t.url);
    if (t.socketPath === undefined && url.protocol !== 'http:' && url.protocol !== 'https:') {
      return Promise.reject(new CtlError(EXIT.usage, `Error: --url must be http:// or https://, got ${url.protocol}`));
    }
    // Basic credentials go over TLS when the URL says https (management.ssl.*).
    const send = t.socketPath === undefined && url.protocol === 'https:' ? httpsRequest : request;
    const defaultPort = url.protocol === 'https:' ? 15671 : 15672;
    return new Promise((resolve, reject) => {
      const req = send(
        t.socketPath !== undefined
          ? { socketPath: t.socketPath, path, method, headers, timeout: t.timeoutMs }
          : { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? defaultPort : Number(url.port), path, method, headers, timeout: t.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = undefined;
            if (text.length > 0) {
              try {
                parsed = JSON.parse(text);
              } catch {
                parsed = undefined;
              }
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, text });
          });
          res.on('error', reject);
        },
      );
      // The socket's idle timeout (request option), not a timer: a silent node fails with 75.
      req.on('timeout', () => req.destroy(new CtlError(EXIT.tempfail, `Error: operation timed out after ${t.timeoutMs / 1000} seconds`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof CtlError) return reject(err);
        // The origin only: a URL may carry user:password@.
        const where = t.socketPath ?? url.origin;
        reject(new CtlError(EXIT.unavailable, `Error: unable to reach warren at ${where} (${err.code ?? err.message}).\nIs the broker running, with its management API enabled?`));
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}

/** The API's `{error, reason}` body as text. */
export function reasonOf(r: ApiResponse): string {
  const b = r.body;
  if (typeof b === 'object' && b !== null && 'reason' in b) {
    const reason = (b as { reason: unknown }).reason;
    return typeof reason === 'string' ? reason : JSON.stringify(reason);
  }
  return r.text.length > 0 ? r.text : `HTTP ${r.status}`;
}
