// /api/connections and /api/channels: lists (paged and sorted server-side), one connection or
// channel, a connection's channels, a user's connections, and closing connections
// (DELETE; the X-Reason header becomes the text of the 320 CONNECTION_FORCED the client gets).
// Management users see their own connections; monitoring and administrator users see all.

import type { FastifyInstance } from 'fastify';
import type { User } from '../../broker/auth/users.js';
import type { ChannelInfo, ClientConnection } from '../../broker/clients.js';
import { isAdministrator, isMonitor } from '../auth.js';
import { noContent, type ApiRequest, type ManagementContext, type RouteSpec } from '../context.js';
import { notAuthorised } from '../errors.js';
import { listReply, objectReply, type Json } from '../lists.js';
import { nodeName } from '../views/identity.js';
import { rate } from '../views/stats.js';
import { notFound } from './object-helpers.js';

/** RabbitMQ's reason when DELETE /api/connections/{name} carries no X-Reason. */
const DEFAULT_CLOSE_REASON = 'Closed via management plugin';

function visible(user: User, c: ClientConnection): boolean {
  return isMonitor(user) || c.user === user.name;
}

/** RabbitMQ 3.10.8's connection keys; the TLS details are null on a plain socket, as there. */
export function connectionJson(c: ClientConnection): Json {
  const i = c.info();
  return {
    ...i,
    node: nodeName(),
    recv_oct_details: rate(0),
    send_oct_details: rate(0),
    send_pend: 0,
    peer_cert_issuer: null,
    peer_cert_subject: null,
    peer_cert_validity: null,
    ssl_cipher: null,
    ssl_hash: null,
    ssl_key_exchange: null,
    ssl_protocol: null,
    user_who_performed_action: i.user,
  };
}

export function channelJson(ch: ChannelInfo): Json {
  return { ...ch, node: nodeName(), pending_raft_commands: 0, user_who_performed_action: ch.user };
}

function connectionsList(req: ApiRequest, conns: readonly ClientConnection[]): unknown {
  return listReply(req.query, {
    items: conns.filter((c) => visible(req.user, c)),
    render: connectionJson,
    keys: { name: (c) => c.name, user: (c) => c.user, vhost: (c) => c.vhostName },
  });
}

function channelsList(req: ApiRequest, conns: readonly ClientConnection[]): unknown {
  const items: ChannelInfo[] = [];
  for (const c of conns) if (visible(req.user, c)) items.push(...c.channelInfos());
  return listReply(req.query, {
    items,
    render: channelJson,
    keys: { name: (ch) => ch.name, user: (ch) => ch.user, vhost: (ch) => ch.vhost, number: (ch) => ch.number },
  });
}

/** Close, with the reason an operator gave (X-Reason) or RabbitMQ's default. */
function close(c: ClientConnection, req: ApiRequest): void {
  const h = req.headers['x-reason'];
  const reason = Array.isArray(h) ? h[0] : h;
  c.forceClose(reason === undefined || reason === '' ? DEFAULT_CLOSE_REASON : reason);
}

function mayClose(user: User, c: ClientConnection): boolean {
  return isAdministrator(user) || c.user === user.name;
}

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const clients = ctx.broker.clients;

  const find = (req: ApiRequest): ClientConnection => {
    const c = clients.get(req.params['name'] as string);
    if (c === undefined || !visible(req.user, c)) throw notFound();
    return c;
  };

  ctx.route(app, { method: 'GET', url: '/api/connections', auth: 'management', handler: (req) => connectionsList(req, clients.list()) });

  ctx.route(app, { method: 'GET', url: '/api/connections/:name', auth: 'management', handler: (req) => objectReply(req.query, connectionJson(find(req))) });

  ctx.route(app, {
    method: 'DELETE',
    url: '/api/connections/:name',
    auth: 'management',
    handler: (req) => {
      const c = find(req);
      if (!mayClose(req.user, c)) throw notAuthorised('Not administrator user');
      close(c, req);
      return noContent();
    },
  });

  ctx.route(app, {
    method: 'GET',
    url: '/api/connections/:name/channels',
    auth: 'management',
    handler: (req) => listReply(req.query, { items: find(req).channelInfos(), render: channelJson, pageable: false }),
  });

  const byUser = (req: ApiRequest): ClientConnection[] => {
    const name = req.params['user'] as string;
    if (name !== req.user.name && !isMonitor(req.user)) throw notAuthorised('Not monitor user');
    return clients.ofUser(name);
  };
  ctx.route(app, { method: 'GET', url: '/api/connections/username/:user', auth: 'management', handler: (req) => connectionsList(req, byUser(req)) });
  ctx.route(app, {
    method: 'DELETE',
    url: '/api/connections/username/:user',
    auth: 'management',
    handler: (req) => {
      const conns = byUser(req);
      for (const c of conns) if (!mayClose(req.user, c)) throw notAuthorised('Not administrator user');
      for (const c of conns) close(c, req);
      return noContent();
    },
  });

  ctx.route(app, { method: 'GET', url: '/api/channels', auth: 'management', handler: (req) => channelsList(req, clients.list()) });

  const channelRoute: RouteSpec = {
    method: 'GET',
    url: '/api/channels/:name',
    auth: 'management',
    handler: (req) => {
      // `<connection name> (<number>)`
      const m = /^(.*) \((\d+)\)$/.exec(req.params['name'] as string);
      const c = m === null ? undefined : clients.get(m[1] as string);
      if (m === null || c === undefined || !visible(req.user, c)) throw notFound();
      const ch = c.channelInfos().find((i) => i.number === Number(m[2]));
      if (ch === undefined) throw notFound();
      const consumers = c.consumerInfos().filter((x) => x.channel_details.number === ch.number);
      return objectReply(req.query, { ...channelJson(ch), consumer_details: consumers.map((x) => ({ ...x, channel_details: { ...x.channel_details, node: nodeName() } })) });
    },
  };
  ctx.route(app, channelRoute);
}
