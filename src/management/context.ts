// What every route module gets: the broker, a logger, and `route()`, which registers a fastify
// route behind RabbitMQ's authentication and tag rules and turns the handler's result into the
// reply (a value → 200 JSON; `created()`/`noContent()` → 201/204 as RabbitMQ answers PUT/DELETE).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Broker } from '../broker/broker.js';
import type { User } from '../broker/auth/users.js';
import type { Logger } from '../log.js';
import { login, requireTag, requireVhostAccess, SOCKET_ADMIN, type Requirement } from './auth.js';
import { HTTP } from './errors.js';
import type { Query } from './lists.js';

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** A reply other than 200 with a JSON body. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown = undefined,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

export const created = (headers: Record<string, string> = {}): Reply => new Reply(HTTP.CREATED, undefined, headers);
export const noContent = (): Reply => new Reply(HTTP.NO_CONTENT);
/** PUT answers 201 when it created the object and 204 when it replaced one. */
export const putResult = (outcome: 'created' | 'updated'): Reply => (outcome === 'created' ? created() : noContent());

export interface ApiRequest {
  readonly user: User;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Query;
  readonly body: unknown;
  readonly headers: FastifyRequest['headers'];
  readonly raw: FastifyRequest;
}

export interface RouteSpec {
  readonly method: Method | readonly Method[];
  /** fastify path; `:name` segments arrive percent-decoded (`%2F` is `/`). */
  readonly url: string;
  /** Tag the user needs; vhost-scoped routes also check access to `params[vhostParam]`. */
  readonly auth: Requirement;
  /** is_authorized_vhost: the parameter naming the vhost the user must have permissions in. */
  readonly vhostParam?: string;
  /** JSON schema of the body (RabbitMQ's loose types are coerced: "true", "5"). */
  readonly body?: object;
  handler(req: ApiRequest): unknown;
}

export interface ManagementContext {
  readonly broker: Broker;
  readonly log: Logger;
  /** warren's version (product_version). */
  readonly productVersion: string;
  /** Ports the broker listens on, for overview listeners and health checks (HTTP included). */
  readonly listeners: () => readonly ListenerInfo[];
  /** The management API's own listeners (overview `contexts`). */
  readonly contexts: () => readonly ListenerInfo[];
  route(app: FastifyInstance, spec: RouteSpec): void;
}

export interface ListenerInfo {
  readonly protocol: string;
  readonly port: number;
  readonly ip: string;
}

const USER = Symbol('user');
type Authed = FastifyRequest & { [USER]?: User };

/** Registers routes; also remembers each path pattern so an unknown method is told 405. */
export class RouteTable {
  readonly patterns: { re: RegExp; methods: Set<string> }[] = [];

  constructor(
    private readonly broker: Broker,
    private readonly onLoginRefused: (user: string, detail: string) => void,
    /** The admin socket: whoever can open it is an administrator with access everywhere. */
    private readonly trusted: boolean = false,
  ) {}

  add(app: FastifyInstance, spec: RouteSpec): void {
    const methods = typeof spec.method === 'string' ? [spec.method] : [...spec.method];
    this.remember(spec.url, methods);
    const broker = this.broker;
    app.route({
      method: methods,
      url: spec.url,
      ...(spec.body === undefined ? {} : { schema: { body: spec.body } }),
      // Authentication runs before the body is read: an anonymous client cannot make us parse it.
      onRequest: async (req: Authed) => {
        if (this.trusted) {
          req[USER] = SOCKET_ADMIN;
          return;
        }
        const user = login(broker, req.headers.authorization, req.socket.remoteAddress, this.onLoginRefused);
        requireTag(user, spec.auth);
        if (spec.vhostParam !== undefined) {
          const vhost = (req.params as Record<string, string>)[spec.vhostParam];
          // A vhost that does not exist is the handler's 404, as in RabbitMQ.
          if (vhost !== undefined && broker.vhosts.has(vhost)) requireVhostAccess(broker, user, vhost);
        }
        req[USER] = user;
      },
      // An empty body is an empty object (RabbitMQ: `PUT /api/vhosts/v` with no body creates it).
      preValidation: async (req: Authed) => {
        if (req.body === undefined || req.body === null) req.body = {};
      },
      handler: async (req: Authed, reply: FastifyReply) => {
        const user = req[USER] as User;
        const result = await spec.handler({
          user,
          params: req.params as Record<string, string>,
          query: req.query as Query,
          body: req.body,
          headers: req.headers,
          raw: req,
        });
        return send(reply, result);
      },
    });
  }

  private remember(url: string, methods: string[]): void {
    const source = url
      .split('/')
      .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    const re = new RegExp(`^${source}/?$`);
    const existing = this.patterns.find((p) => p.re.source === re.source);
    if (existing !== undefined) for (const m of methods) existing.methods.add(m);
    else this.patterns.push({ re, methods: new Set(methods) });
  }

  /** The methods a path allows, for a 405 and OPTIONS; empty when no route has that shape. */
  allowed(path: string): string[] {
    const out = new Set<string>();
    for (const p of this.patterns) if (p.re.test(path)) for (const m of p.methods) out.add(m);
    return [...out];
  }
}

export function send(reply: FastifyReply, result: unknown): FastifyReply {
  if (result instanceof Reply) {
    reply.code(result.status);
    for (const [k, v] of Object.entries(result.headers)) reply.header(k, v);
    if (result.body === undefined) return reply.send();
    return reply.type('application/json').send(JSON.stringify(result.body));
  }
  return reply.code(HTTP.OK).type('application/json').send(JSON.stringify(result));
}
