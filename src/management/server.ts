// The management HTTP server: RabbitMQ's management API (port 15672, /api) on fastify. Bodies are
// capped and slow or idle clients are cut off by timeouts, so an abandoned client cannot hold
// sockets or memory; a failing handler answers 500 JSON and is logged, never taking the broker down.

import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import type { Broker } from '../broker/broker.js';
import type { Logger } from '../log.js';
import { LogSummary } from '../util/log-summary.js';
import { ChallengeOnly } from './auth.js';
import { RouteTable, type ListenerInfo, type ManagementContext } from './context.js';
import { ApiError, BASIC_CHALLENGE, badRequest, HTTP, internalError, notFound } from './errors.js';
import { parseMultipartFile } from './multipart.js';
import { registerRoutes } from './routes/index.js';
import { registerStatic } from './static.js';

export interface ManagementOptions {
  /** Address to listen on; default 127.0.0.1 (loopback only). */
  host?: string;
  /** Port; 15672 is RabbitMQ's, 0 picks a free one. */
  port: number;
  /** HTTPS instead of HTTP: PEM certificate and key (and CA for client certificates). */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer };
  /** Largest request body in bytes (definitions imports are the big ones). */
  bodyLimit?: number;
  /** Overrides of the timeouts below (tests use short ones). */
  timeouts?: { headersMs?: number; requestMs?: number; keepAliveMs?: number; idleMs?: number };
  /** The broker's listeners, for overview and the port/protocol listener health checks. */
  listeners?: () => readonly ListenerInfo[];
  /** warren's version, reported as product_version. */
  productVersion?: string;
  /**
   * Also serve the API on this Unix socket (owner-only), trusting its caller as an administrator:
   * `warren ctl` on the broker's host needs no password (LavinMQ's lavinmqctl does the same).
   */
  adminSocket?: string;
  log: Logger;
}

export interface ManagementServer {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

/** RabbitMQ's management.http.max_body_size default: 20 MiB (definitions files can be large). */
export const DEFAULT_BODY_LIMIT = 20 * 1024 * 1024;
/** A client has this long to send its request headers (slowloris). */
const HEADERS_TIMEOUT_MS = 10_000;
/** ... and this long for the whole request, body included. */
const REQUEST_TIMEOUT_MS = 60_000;
/** An idle keep-alive connection is closed after this long (RabbitMQ's cowboy idle_timeout is 60 s; shorter frees sockets sooner). */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** How often Node checks the headers and request timeouts (its default, 30 s, would let them run that much longer). */
const TIMEOUT_CHECK_MS = 1_000;
/** A connection with no traffic at all for this long is destroyed. */
const CONNECTION_TIMEOUT_MS = 120_000;
/** Path parameters longer than this are refused (names are at most 255 bytes, %-encoded triple). */
const MAX_PARAM_LENGTH = 1024;

export async function startManagement(broker: Broker, opts: ManagementOptions): Promise<ManagementServer> {
  const log = opts.log;
  const host = opts.host ?? '127.0.0.1';
  const refused = new LogSummary(broker.clock, log, { level: 'warn', msg: 'management API login refused', countsField: 'refusals' });
  let self: ListenerInfo | null = null;
  const ownListener = (): ListenerInfo[] => (self === null ? [] : [self]);
  const ctx: ManagementContext = {
    broker,
    log,
    productVersion: opts.productVersion ?? '0.0.0',
    listeners: () => [...(opts.listeners?.() ?? []), ...ownListener()],
    contexts: ownListener,
    route: () => undefined,
  };
  const app = buildApp(ctx, opts, new RouteTable(broker, (user, detail) => refused.note(user, 'invalid_credentials', { user, detail })));
  const apps: FastifyInstance[] = [app];
  try {
    await app.listen({ host, port: opts.port });
    if (opts.adminSocket !== undefined) {
      const { tls: _tls, ...plain } = opts;
      const admin = buildApp(ctx, plain, new RouteTable(broker, () => undefined, true));
      try {
        await listenOnSocket(admin, opts.adminSocket);
        apps.push(admin);
      } catch (err) {
        // The TCP API still works; warren ctl then needs --url and credentials.
        log.warn({ path: opts.adminSocket, err: err instanceof Error ? err.message : String(err) }, 'admin socket not opened');
        await admin.close();
      }
    }
  } catch (err) {
    await Promise.all(apps.map((a) => a.close()));
    refused.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
  self = { protocol: opts.tls === undefined ? 'http' : 'https', port, ip: host };
  log.info({ host, port, tls: opts.tls !== undefined, adminSocket: opts.adminSocket }, 'management API listening');
  let closing: Promise<void> | null = null;
  return {
    port,
    host,
    close: () =>
      (closing ??= Promise.all(apps.map((a) => a.close())).then(() => {
        refused.close();
      })),
  };
}

/** A Unix socket only the broker's OS user may open; a stale file from a crash is replaced. */
async function listenOnSocket(app: FastifyInstance, path: string): Promise<void> {
  if (existsSync(path)) {
    const live = await new Promise<boolean>((resolve) => {
      const probe = connect(path, () => {
        probe.end();
        resolve(true);
      });
      probe.on('error', () => resolve(false));
    });
    if (live) throw new Error(`admin socket ${path} is in use by another process`);
    unlinkSync(path);
  }
  await app.listen({ path });
  chmodSync(path, 0o600);
}

function buildApp(ctxBase: ManagementContext, opts: ManagementOptions, routes: RouteTable): FastifyInstance {
  const log = ctxBase.log;
  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    connectionTimeout: opts.timeouts?.idleMs ?? CONNECTION_TIMEOUT_MS,
    keepAliveTimeout: opts.timeouts?.keepAliveMs ?? KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: opts.timeouts?.requestMs ?? REQUEST_TIMEOUT_MS,
    forceCloseConnections: true,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    // RabbitMQ's bodies are loosely typed: "true" for true, "5" for 5 (rabbitmqadmin v1 sends strings).
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false, useDefaults: true, allErrors: false } },
    http: { connectionsCheckingInterval: TIMEOUT_CHECK_MS },
    ...(opts.tls === undefined
      ? {}
      : { https: { cert: opts.tls.cert, key: opts.tls.key, connectionsCheckingInterval: TIMEOUT_CHECK_MS, ...(opts.tls.ca === undefined ? {} : { ca: opts.tls.ca }) } }),
  });
  app.server.headersTimeout = opts.timeouts?.headersMs ?? HEADERS_TIMEOUT_MS;

  // RabbitMQ reads every body as JSON whatever its content type (curl -d sends form encoding).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (req, body, done) => {
    try {
      done(null, parseMultipartFile(String(req.headers['content-type']), body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      done(badRequest('not_json'), undefined);
    }
  });

  const ctx: ManagementContext = { ...ctxBase, route: (a, spec) => routes.add(a, spec) };
  registerRoutes(app, ctx);
  registerStatic(app);

  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    const path = (req.raw.url ?? '/').split('?')[0] as string;
    const allowed = routes.allowed(path);
    if (allowed.length > 0) {
      const allow = [...(allowed.includes('GET') ? ['HEAD'] : []), ...allowed, 'OPTIONS'].join(', ');
      // OPTIONS needs no credentials (RabbitMQ answers CORS preflights unauthenticated).
      if (req.method === 'OPTIONS') return reply.code(HTTP.OK).header('allow', allow).send();
      return reply.code(HTTP.METHOD_NOT_ALLOWED).header('allow', allow).send();
    }
    const e = notFound();
    return reply.code(e.status).type('application/json').send(JSON.stringify(e.body()));
  });

  app.setErrorHandler((err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof ChallengeOnly) return reply.code(HTTP.UNAUTHORIZED).headers(BASIC_CHALLENGE).send();
    let e: ApiError;
    if (err instanceof ApiError) e = err;
    else if ('validation' in err && err.validation !== undefined) e = badRequest(validationReason(err));
    else if ('statusCode' in err && typeof err.statusCode === 'number' && err.statusCode >= HTTP.BAD_REQUEST && err.statusCode < HTTP.INTERNAL_ERROR) {
      // fastify's own refusals: body too large (413), bad content length, ...
      e = new ApiError(err.statusCode, err.statusCode === HTTP.PAYLOAD_TOO_LARGE ? 'payload_too_large' : 'bad_request', err.message);
    } else {
      log.error({ err: err.message, stack: err.stack, method: req.method, url: req.routeOptions.url }, 'management API handler failed');
      e = internalError();
    }
    for (const [k, v] of Object.entries(e.headers)) reply.header(k, v);
    return reply.code(e.status).type('application/json').send(JSON.stringify(e.body()));
  });

  // A socket-level problem (a reset mid-request) must not surface as an uncaught error.
  app.server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  return app;
}

/** ajv's complaint in RabbitMQ's style: what was wrong with which field. */
function validationReason(err: FastifyError): string {
  const v = err.validation?.[0];
  if (v === undefined) return err.message;
  const field = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (v.keyword === 'required') return `Missing key ${String((v.params as { missingProperty?: string }).missingProperty)}`;
  return field === '' ? `Body ${v.message ?? 'is invalid'}` : `${field} ${v.message ?? 'is invalid'}`;
}
