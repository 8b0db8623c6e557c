// Listing and acting on queues, exchanges, bindings, consumers, connections and channels.

import { seg } from '../api-client.js';
import { columnsFor, expectOk, flag, pick, rowsOf, type Command, type CtlContext } from '../command.js';
import { CtlError, EXIT } from '../errors.js';
import type { Row } from '../format.js';

const QUEUE_COLUMNS = [
  'name', 'durable', 'auto_delete', 'arguments', 'policy', 'pid', 'owner_pid', 'exclusive', 'exclusive_consumer_pid',
  'exclusive_consumer_tag', 'messages_ready', 'messages_unacknowledged', 'messages', 'messages_ready_ram',
  'messages_unacknowledged_ram', 'messages_ram', 'messages_persistent', 'message_bytes', 'message_bytes_ready',
  'message_bytes_unacknowledged', 'message_bytes_ram', 'message_bytes_persistent', 'head_message_timestamp',
  'disk_reads', 'disk_writes', 'consumers', 'consumer_utilisation', 'consumer_capacity', 'memory', 'state', 'type',
  'effective_policy_definition', 'operator_policy', 'single_active_consumer_tag', 'idle_since',
];
const EXCHANGE_COLUMNS = ['name', 'type', 'durable', 'auto_delete', 'internal', 'arguments', 'policy', 'user_who_performed_action'];
const BINDING_COLUMNS = ['source_name', 'source_kind', 'destination_name', 'destination_kind', 'routing_key', 'arguments'];
const CONSUMER_COLUMNS = ['queue_name', 'channel_pid', 'consumer_tag', 'ack_required', 'prefetch_count', 'active', 'activity_status', 'arguments', 'exclusive'];
const CONNECTION_COLUMNS = [
  'pid', 'name', 'port', 'host', 'peer_port', 'peer_host', 'ssl', 'ssl_protocol', 'ssl_key_exchange', 'ssl_cipher', 'ssl_hash',
  'peer_cert_subject', 'peer_cert_issuer', 'peer_cert_validity', 'state', 'channels', 'protocol', 'auth_mechanism', 'user', 'vhost',
  'timeout', 'frame_max', 'channel_max', 'client_properties', 'recv_oct', 'recv_cnt', 'send_oct', 'send_cnt', 'send_pend',
  'connected_at', 'user_provided_name',
];
const CHANNEL_COLUMNS = [
  'pid', 'connection', 'name', 'number', 'user', 'vhost', 'transactional', 'confirm', 'consumer_count', 'messages_unacknowledged',
  'messages_uncommitted', 'acks_uncommitted', 'messages_unconfirmed', 'prefetch_count', 'global_prefetch_count',
];

const vq = (ctx: CtlContext): string => seg(ctx.vhost);

/** rabbitmqctl's column name → the management API's field. */
function field(kind: 'binding' | 'consumer' | 'connection' | 'channel' | 'plain', column: string, row: Row): unknown {
  switch (kind) {
    case 'binding':
      if (column === 'source_name') return row.source;
      if (column === 'source_kind') return 'exchange';
      if (column === 'destination_name') return row.destination;
      if (column === 'destination_kind') return row.destination_type;
      return row[column];
    case 'consumer':
      if (column === 'queue_name') return pick(row, 'queue.name');
      if (column === 'channel_pid') return pick(row, 'channel_details.name');
      if (column === 'activity_status') return row.activity_status ?? (row.active === false ? 'waiting' : 'up');
      return row[column];
    case 'connection':
      if (column === 'pid') return row.name;
      if (column === 'protocol') return row.protocol === 'AMQP 0-9-1' ? '{0,9,1}' : row.protocol;
      return row[column];
    case 'channel':
      if (column === 'pid') return row.name;
      if (column === 'connection') return pick(row, 'connection_details.name');
      if (column === 'messages_uncommitted' || column === 'acks_uncommitted') return row[column] ?? 0;
      return row[column];
    default:
      return row[column];
  }
}

function lister(
  name: string,
  kind: Parameters<typeof field>[0],
  path: (ctx: CtlContext) => string,
  banner: (ctx: CtlContext) => string[],
  defaults: readonly string[],
  valid: readonly string[],
): Command {
  return {
    name,
    usage: `[--vhost <vhost>] [--no-table-headers] [<column> ...]`,
    args: [0, 64],
    async run(ctx, args) {
      const columns = columnsFor(name, args, defaults, valid);
      for (const b of banner(ctx)) ctx.out.banner(b);
      const r = await ctx.api.get(path(ctx));
      // rabbitmqctl lists an unknown vhost as empty.
      if (r.status === 404) return;
      const rows = rowsOf(expectOk(r)).map((row) => Object.fromEntries(columns.map((c) => [c, field(kind, c, row)])));
      ctx.out.table(columns, rows);
    },
  };
}

const timeoutBanner = (ctx: CtlContext): string => `Timeout: ${(ctx.timeoutMs / 1000).toFixed(1)} seconds ...`;

export const objectCommands: readonly Command[] = [
  lister('list_queues', 'plain', (c) => `/api/queues/${vq(c)}`, (c) => [timeoutBanner(c), `Listing queues for vhost ${c.vhost} ...`], ['name', 'messages'], QUEUE_COLUMNS),
  lister('list_exchanges', 'plain', (c) => `/api/exchanges/${vq(c)}`, (c) => [`Listing exchanges for vhost ${c.vhost} ...`], ['name', 'type'], EXCHANGE_COLUMNS),
  lister('list_bindings', 'binding', (c) => `/api/bindings/${vq(c)}`, (c) => [`Listing bindings for vhost ${c.vhost}...`], BINDING_COLUMNS, BINDING_COLUMNS),
  lister('list_consumers', 'consumer', (c) => `/api/consumers/${vq(c)}`, (c) => [`Listing consumers in vhost ${c.vhost} ...`], ['queue_name', 'channel_pid', 'consumer_tag', 'ack_required', 'prefetch_count', 'active', 'arguments'], CONSUMER_COLUMNS),
  lister('list_connections', 'connection', () => '/api/connections', () => ['Listing connections ...'], ['user', 'peer_host', 'peer_port', 'state'], CONNECTION_COLUMNS),
  lister('list_channels', 'channel', () => '/api/channels', () => ['Listing channels ...'], ['pid', 'user', 'consumer_count', 'messages_unacknowledged'], CHANNEL_COLUMNS),
  {
    name: 'purge_queue',
    usage: '[--vhost <vhost>] <queue>',
    args: [1, 1],
    async run(ctx, [q = '']) {
      ctx.out.banner(`Purging queue '${q}' in vhost '${ctx.vhost}' ...`);
      expectOk(await ctx.api.delete(`/api/queues/${vq(ctx)}/${seg(q)}/contents`));
    },
  },
  {
    name: 'delete_queue',
    usage: '[--vhost <vhost>] <queue> [--if-empty|-e] [--if-unused|-u]',
    args: [1, 1],
    async run(ctx, [q = '']) {
      ctx.out.banner(`Deleting queue '${q}' on vhost '${ctx.vhost}' ...`);
      const info = expectOk(await ctx.api.get(`/api/queues/${vq(ctx)}/${seg(q)}`));
      const messages = typeof (info.body as Row | undefined)?.messages === 'number' ? ((info.body as Row).messages as number) : 0;
      const params = new URLSearchParams();
      if (flag(ctx, 'if-empty')) params.set('if-empty', 'true');
      if (flag(ctx, 'if-unused')) params.set('if-unused', 'true');
      const qs = params.size > 0 ? `?${params}` : '';
      expectOk(await ctx.api.delete(`/api/queues/${vq(ctx)}/${seg(q)}${qs}`));
      ctx.out.line(`Queue was successfully deleted with ${messages} ready messages`);
    },
  },
  {
    name: 'close_connection',
    usage: '<connection name> <explanation>',
    args: [2, 2],
    async run(ctx, [name = '', reason = '']) {
      ctx.out.banner(`Closing connection ${name}, reason: ${reason}...`);
      const r = await ctx.api.delete(`/api/connections/${seg(name)}`, { 'x-reason': reason });
      if (r.status === 404) throw new CtlError(EXIT.dataErr, `Error:\nno connection named "${name}"`);
      expectOk(r);
    },
  },
  {
    name: 'close_all_connections',
    usage: '[--vhost <vhost>] <explanation>',
    args: [1, 1],
    async run(ctx, [reason = '']) {
      const all = ctx.options.has('vhost') ? `/api/vhosts/${vq(ctx)}/connections` : '/api/connections';
      const conns = rowsOf(expectOk(await ctx.api.get(all)));
      ctx.out.banner(`Closing all connections${ctx.options.has('vhost') ? ` in vhost ${ctx.vhost}` : ''}, reason: ${reason}...`);
      for (const c of conns) await ctx.api.delete(`/api/connections/${seg(String(c.name))}`, { 'x-reason': reason });
    },
  },
  {
    name: 'close_all_user_connections',
    usage: '<username> <explanation>',
    args: [2, 2],
    async run(ctx, [user = '', reason = '']) {
      ctx.out.banner(`Closing connections of user '${user}', reason: ${reason}...`);
      const conns = rowsOf(expectOk(await ctx.api.get(`/api/connections/username/${seg(user)}`), 200, 404));
      for (const c of conns) await ctx.api.delete(`/api/connections/${seg(String(c.name))}`, { 'x-reason': reason });
    },
  },
];
