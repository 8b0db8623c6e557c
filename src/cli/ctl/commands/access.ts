// Users, permissions, topic permissions, vhosts and limits: rabbitmqctl's commands over the API.

import { seg } from '../api-client.js';
import { columnsFor, expectOk, option, rowsOf, type Command, type CtlContext } from '../command.js';
import { CtlError, EXIT } from '../errors.js';
import type { Row } from '../format.js';

const noUser = (name: string): CtlError => new CtlError(EXIT.noUser, `Error:\nUser "${name}" does not exist`);
const noVhost = (name: string): CtlError => new CtlError(EXIT.unavailable, `Error:\nVirtual host ${name} does not exist`);

async function getUser(ctx: CtlContext, name: string): Promise<Row> {
  const r = await ctx.api.get(`/api/users/${seg(name)}`);
  if (r.status === 404) throw noUser(name);
  return expectOk(r).body as Row;
}

/** Rewrites a user keeping what is not being changed (the API's PUT replaces the whole user). */
async function putUser(ctx: CtlContext, name: string, current: Row, change: Row): Promise<void> {
  const body: Row = {
    password_hash: current.password_hash ?? '',
    hashing_algorithm: current.hashing_algorithm ?? 'rabbit_password_hashing_sha256',
    tags: current.tags ?? [],
    ...change,
  };
  if ('password' in change) delete body.password_hash;
  expectOk(await ctx.api.put(`/api/users/${seg(name)}`, body));
}

async function vhostMustExist(ctx: CtlContext): Promise<void> {
  const r = await ctx.api.get(`/api/vhosts/${seg(ctx.vhost)}`);
  if (r.status === 404) throw noVhost(ctx.vhost);
  expectOk(r);
}

function simpleList(name: string, banner: (ctx: CtlContext, args: readonly string[]) => string, path: (ctx: CtlContext, args: readonly string[]) => string, columns: readonly string[], args: [number, number] = [0, 0]): Command {
  return {
    name,
    usage: args[1] > 0 ? '<user>' : '[--vhost <vhost>]',
    args,
    async run(ctx, a) {
      ctx.out.banner(banner(ctx, a));
      const r = await ctx.api.get(path(ctx, a));
      if (r.status === 404) return;
      ctx.out.table(columns, rowsOf(expectOk(r)));
    },
  };
}

function limitsJson(rows: Row[]): Row {
  const value = rows[0]?.value;
  return typeof value === 'object' && value !== null ? (value as Row) : {};
}

function parseJsonArg(text: string, what: string): Row {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Row;
  } catch {
    // fall through
  }
  throw new CtlError(EXIT.dataErr, `Error:\n${what} must be a JSON object, got: ${text}`);
}

export const accessCommands: readonly Command[] = [
  {
    name: 'add_user',
    usage: '<username> <password>',
    args: [2, 2],
    async run(ctx, [name = '', password = '']) {
      ctx.out.banner(`Adding user "${name}" ...`);
      const existing = await ctx.api.get(`/api/users/${seg(name)}`);
      if (existing.status === 200) throw new CtlError(EXIT.software, `Error:\nUser "${name}" already exists`);
      expectOk(await ctx.api.put(`/api/users/${seg(name)}`, { password, tags: '' }));
      ctx.out.banner(`Done. Don't forget to grant the user permissions to some virtual hosts! See 'warren ctl help set_permissions' to learn more.`);
    },
  },
  {
    name: 'delete_user',
    usage: '<username>',
    args: [1, 1],
    async run(ctx, [name = '']) {
      ctx.out.banner(`Deleting user "${name}" ...`);
      const r = await ctx.api.delete(`/api/users/${seg(name)}`);
      if (r.status === 404) throw noUser(name);
      expectOk(r);
    },
  },
  {
    name: 'change_password',
    usage: '<username> <password>',
    args: [2, 2],
    async run(ctx, [name = '', password = '']) {
      ctx.out.banner(`Changing password for user "${name}" ...`);
      await putUser(ctx, name, await getUser(ctx, name), { password });
    },
  },
  {
    name: 'clear_password',
    usage: '<username>',
    args: [1, 1],
    async run(ctx, [name = '']) {
      ctx.out.banner(`Clearing password for user "${name}" ...`);
      await putUser(ctx, name, await getUser(ctx, name), { password_hash: '' });
    },
  },
  {
    name: 'set_user_tags',
    usage: '<username> <tag> [...]',
    args: [1, 64],
    async run(ctx, [name = '', ...tags]) {
      ctx.out.banner(`Setting tags for user "${name}" to [${tags.join(', ')}] ...`);
      await putUser(ctx, name, await getUser(ctx, name), { tags });
    },
  },
  {
    name: 'authenticate_user',
    usage: '<username> <password>',
    args: [2, 2],
    async run(ctx, [name = '', password = '']) {
      ctx.out.banner(`Authenticating user "${name}" ...`);
      const r = await ctx.api.call('POST', '/api/warren/authenticate', { username: name, password });
      if (r.status === 200) return ctx.out.line('Success');
      if (r.status === 401 || r.status === 400) throw new CtlError(EXIT.dataErr, `Error:\nError: failed to authenticate user "${name}"\nuser '${name}' - invalid credentials`);
      expectOk(r);
    },
  },
  {
    name: 'hash_password',
    usage: '<password>',
    args: [1, 1],
    async run(ctx, [password = '']) {
      ctx.out.banner('Will hash provided password ...');
      const r = expectOk(await ctx.api.get(`/api/auth/hash_password/${seg(password)}`));
      ctx.out.line(String((r.body as Row).ok ?? ''));
    },
  },
  {
    name: 'list_users',
    usage: '',
    args: [0, 0],
    async run(ctx) {
      ctx.out.banner('Listing users ...');
      ctx.out.table(['user', 'tags'], rowsOf(expectOk(await ctx.api.get('/api/users'))).map((u) => ({ user: u.name, tags: u.tags })));
    },
  },
  {
    name: 'set_permissions',
    usage: '[--vhost <vhost>] <username> <conf> <write> <read>',
    args: [4, 4],
    async run(ctx, [user = '', configure = '', write = '', read = '']) {
      ctx.out.banner(`Setting permissions for user "${user}" in vhost "${ctx.vhost}" ...`);
      await vhostMustExist(ctx);
      expectOk(await ctx.api.put(`/api/permissions/${seg(ctx.vhost)}/${seg(user)}`, { configure, write, read }));
    },
  },
  {
    name: 'clear_permissions',
    usage: '[--vhost <vhost>] <username>',
    args: [1, 1],
    async run(ctx, [user = '']) {
      ctx.out.banner(`Clearing permissions for user "${user}" in vhost "${ctx.vhost}" ...`);
      await vhostMustExist(ctx);
      const r = await ctx.api.delete(`/api/permissions/${seg(ctx.vhost)}/${seg(user)}`);
      if (r.status !== 404) expectOk(r);
    },
  },
  simpleList('list_permissions', (c) => `Listing permissions for vhost "${c.vhost}" ...`, (c) => `/api/vhosts/${seg(c.vhost)}/permissions`, ['user', 'configure', 'write', 'read']),
  simpleList('list_user_permissions', (_c, [u = '']) => `Listing permissions for user "${u}" ...`, (_c, [u = '']) => `/api/users/${seg(u)}/permissions`, ['vhost', 'configure', 'write', 'read'], [1, 1]),
  {
    name: 'set_topic_permissions',
    usage: '[--vhost <vhost>] <username> <exchange> <write> <read>',
    args: [4, 4],
    async run(ctx, [user = '', exchange = '', write = '', read = '']) {
      ctx.out.banner(`Setting topic permissions on "${exchange}" for user "${user}" in vhost "${ctx.vhost}" ...`);
      await vhostMustExist(ctx);
      expectOk(await ctx.api.put(`/api/topic-permissions/${seg(ctx.vhost)}/${seg(user)}`, { exchange, write, read }));
    },
  },
  {
    name: 'clear_topic_permissions',
    usage: '[--vhost <vhost>] <username> [<exchange>]',
    args: [1, 2],
    async run(ctx, [user = '', exchange]) {
      ctx.out.banner(`Clearing topic permissions${exchange === undefined ? '' : ` on "${exchange}"`} for user "${user}" in vhost "${ctx.vhost}" ...`);
      const tail = exchange === undefined ? '' : `/${seg(exchange)}`;
      const r = await ctx.api.delete(`/api/topic-permissions/${seg(ctx.vhost)}/${seg(user)}${tail}`);
      if (r.status !== 404) expectOk(r);
    },
  },
  simpleList('list_topic_permissions', (c) => `Listing topic permissions for vhost "${c.vhost}" ...`, (c) => `/api/vhosts/${seg(c.vhost)}/topic-permissions`, ['user', 'exchange', 'write', 'read']),
  simpleList('list_user_topic_permissions', (_c, [u = '']) => `Listing topic permissions for user "${u}" ...`, (_c, [u = '']) => `/api/users/${seg(u)}/topic-permissions`, ['vhost', 'exchange', 'write', 'read'], [1, 1]),
  {
    name: 'add_vhost',
    usage: '<vhost> [--description <description> --tags "<tag1>,<tag2>" --default-queue-type <classic|quorum|stream>]',
    args: [1, 1],
    async run(ctx, [name = '']) {
      ctx.out.banner(`Adding vhost "${name}" ...`);
      const body: Row = {};
      const d = option(ctx, 'description');
      const t = option(ctx, 'tags');
      const q = option(ctx, 'default-queue-type');
      if (d !== undefined) body.description = d;
      if (t !== undefined) body.tags = t;
      if (q !== undefined) body.default_queue_type = q;
      expectOk(await ctx.api.put(`/api/vhosts/${seg(name)}`, body));
    },
  },
  {
    name: 'delete_vhost',
    usage: '<vhost>',
    args: [1, 1],
    async run(ctx, [name = '']) {
      ctx.out.banner(`Deleting vhost "${name}" ...`);
      const r = await ctx.api.delete(`/api/vhosts/${seg(name)}`);
      if (r.status === 404) throw new CtlError(EXIT.dataErr, `Virtual host '${name}' does not exist`);
      expectOk(r);
    },
  },
  {
    name: 'list_vhosts',
    usage: '[<column> ...]',
    args: [0, 16],
    async run(ctx, args) {
      const columns = columnsFor('list_vhosts', args, ['name'], ['name', 'description', 'tags', 'default_queue_type', 'tracing', 'cluster_state']);
      ctx.out.banner('Listing vhosts ...');
      ctx.out.table(columns, rowsOf(expectOk(await ctx.api.get('/api/vhosts'))));
    },
  },
  {
    name: 'set_vhost_limits',
    usage: '[--vhost <vhost>] <definition>',
    args: [1, 1],
    async run(ctx, [json = '']) {
      ctx.out.banner(`Setting vhost limits to "${json}" for vhost "${ctx.vhost}" ...`);
      for (const [k, v] of Object.entries(parseJsonArg(json, 'limits'))) {
        expectOk(await ctx.api.put(`/api/vhost-limits/${seg(ctx.vhost)}/${seg(k)}`, { value: v }));
      }
    },
  },
  {
    name: 'clear_vhost_limits',
    usage: '[--vhost <vhost>]',
    args: [0, 0],
    async run(ctx) {
      ctx.out.banner(`Clearing vhost "${ctx.vhost}" limits ...`);
      const current = limitsJson(rowsOf(expectOk(await ctx.api.get(`/api/vhost-limits/${seg(ctx.vhost)}`), 200, 404)));
      for (const k of Object.keys(current)) await ctx.api.delete(`/api/vhost-limits/${seg(ctx.vhost)}/${seg(k)}`);
    },
  },
  {
    name: 'list_vhost_limits',
    usage: '[--vhost <vhost>]',
    args: [0, 0],
    async run(ctx) {
      ctx.out.banner(`Listing limits for vhost "${ctx.vhost}" ...`);
      const r = await ctx.api.get(`/api/vhost-limits/${seg(ctx.vhost)}`);
      if (r.status === 404) throw noVhost(ctx.vhost);
      ctx.out.json(limitsJson(rowsOf(expectOk(r))));
    },
  },
  {
    name: 'set_user_limits',
    usage: '<username> <definition>',
    args: [2, 2],
    async run(ctx, [user = '', json = '']) {
      ctx.out.banner(`Setting user limits to "${json}" for user "${user}" ...`);
      for (const [k, v] of Object.entries(parseJsonArg(json, 'limits'))) {
        const r = await ctx.api.put(`/api/user-limits/${seg(user)}/${seg(k)}`, { value: v });
        if (r.status === 404) throw noUser(user);
        expectOk(r);
      }
    },
  },
  {
    name: 'clear_user_limits',
    usage: '<username> <limit>|all',
    args: [2, 2],
    async run(ctx, [user = '', limit = '']) {
      ctx.out.banner(`Clearing "${limit}" limit for user "${user}" ...`);
      const names = limit === 'all' ? ['max-connections', 'max-channels'] : [limit];
      for (const k of names) await ctx.api.delete(`/api/user-limits/${seg(user)}/${seg(k)}`);
    },
  },
  {
    name: 'list_user_limits',
    usage: '[--user <username>]',
    args: [0, 0],
    async run(ctx) {
      const user = option(ctx, 'user');
      ctx.out.banner(user === undefined ? 'Listing limits for all users ...' : `Listing limits for user "${user}" ...`);
      const r = await ctx.api.get(user === undefined ? '/api/user-limits' : `/api/user-limits/${seg(user)}`);
      if (r.status === 404 && user !== undefined) throw noUser(user);
      const rows = rowsOf(expectOk(r));
      if (user !== undefined) return ctx.out.json(limitsJson(rows));
      ctx.out.table(['user', 'limits'], rows.map((x) => ({ user: x.user, limits: JSON.stringify(x.value ?? {}) })));
    },
  },
];
