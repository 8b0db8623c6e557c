// Access-control set-up for the interop scenarios: users, vhosts, permissions, topic permissions
// and limits, made the same way on both sides. RabbitMQ gets `rabbitmqctl` (through
// `rabbitmq.sh ctl`); the in-process warren gets the same operations on its broker object
// (users / permissions / limits). Everything created is removed after the scenario.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const here = fileURLToPath(new URL('.', import.meta.url));

function rabbitmqctl(args) {
  return new Promise((resolve, reject) => {
    execFile('bash', [join(here, 'rabbitmq.sh'), 'ctl', ...args], { timeout: 60000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`rabbitmqctl ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * One step of set-up, in rabbitmqctl's own words:
 *   ['add_vhost', vhost] ['add_user', user, password] ['set_user_tags', user, ...tags]
 *   ['set_permissions', vhost, user, configure, write, read]
 *   ['set_topic_permissions', vhost, user, exchange, write, read]
 *   ['set_vhost_limits', vhost, json] ['set_user_limits', user, json]
 *   ['delete_user', user] ['delete_vhost', vhost]
 */
function ctlArgs(op) {
  const [verb, ...a] = op;
  switch (verb) {
    case 'add_vhost':
    case 'delete_vhost':
    case 'add_user':
    case 'set_user_tags':
    case 'delete_user':
    case 'set_user_limits':
      return [verb, ...a];
    case 'set_permissions':
    case 'set_topic_permissions':
    case 'set_vhost_limits':
      return [verb, '-p', a[0], ...a.slice(1)];
    default:
      throw new Error(`unknown admin operation ${verb}`);
  }
}

/** Runs operations against RabbitMQ; those of one wave run in parallel (each rabbitmqctl is a new VM). */
export function rabbitmqAdmin() {
  return {
    async run(waves) {
      for (const wave of waves) await Promise.all(wave.map((op) => rabbitmqctl(ctlArgs(op))));
    },
  };
}

/** The same operations on an in-process warren broker, through its durable access administration. */
export function warrenAdmin(broker) {
  const a = broker.access;
  const apply = async ([verb, ...x]) => {
    switch (verb) {
      case 'add_vhost':
        await a.putVhost(x[0]);
        return;
      case 'delete_vhost':
        await a.deleteVhost(x[0]);
        return;
      case 'add_user':
        await a.putUser({ name: x[0], password: x[1] });
        return;
      case 'set_user_tags':
        await a.setUserTags(x[0], x.slice(1));
        return;
      case 'delete_user':
        await a.deleteUser(x[0]);
        return;
      case 'set_permissions':
        await a.setPermissions(x[1], x[0], { configure: x[2], write: x[3], read: x[4] });
        return;
      case 'set_topic_permissions':
        await a.setTopicPermissions(x[1], x[0], x[2], { write: x[3], read: x[4] });
        return;
      case 'set_vhost_limits':
        await a.replaceVhostLimits(x[0], JSON.parse(x[1]));
        return;
      case 'set_user_limits':
        await a.replaceUserLimits(x[0], JSON.parse(x[1]));
        return;
      default:
        throw new Error(`unknown admin operation ${verb}`);
    }
  };
  return {
    async run(waves) {
      for (const wave of waves) for (const op of wave) await apply(op);
    },
  };
}

/**
 * A scenario's users (and optionally its own vhost), from a spec:
 *   { vhost: true, vhostLimits: {...}, users: { alice: { perms: [c, w, r], tags: [...],
 *     topics: { exchange: [w, r] }, limits: {...} } } }
 * Names get the run prefix; patterns may use `<P>` for it. Returns { vhost, users: { alice:
 * { name, url } } } and registers the clean-up with the context.
 */
export async function setUpAccess(ctx, spec) {
  if (!ctx.admin) throw new Error(`no admin for target ${ctx.target}: access scenarios need rabbitmqctl or the in-process warren`);
  const escaped = ctx.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pat = (s) => s.split('<P>').join(escaped);
  const vhost = spec.vhost ? ctx.name('vh') : '/';
  const password = 'interop-pw';
  const first = [];
  const second = [];
  const undo = [];
  if (spec.vhost) {
    first.push(['add_vhost', vhost]);
    // guest cleans up the scenario's queues and exchanges there, as in '/'.
    second.push(['set_permissions', vhost, 'guest', '.*', '.*', '.*']);
    undo.push(['delete_vhost', vhost]);
  }
  if (spec.vhostLimits) second.push(['set_vhost_limits', vhost, JSON.stringify(spec.vhostLimits)]);
  const users = {};
  for (const [label, u] of Object.entries(spec.users ?? {})) {
    const name = ctx.name(label);
    first.push(['add_user', name, password]);
    undo.push(['delete_user', name]);
    if (u.tags?.length) second.push(['set_user_tags', name, ...u.tags]);
    if (u.perms) second.push(['set_permissions', vhost, name, ...u.perms.map(pat)]);
    for (const [exchange, [w, r]] of Object.entries(u.topics ?? {})) second.push(['set_topic_permissions', vhost, name, exchange, pat(w), pat(r)]);
    if (u.limits) second.push(['set_user_limits', name, JSON.stringify(u.limits)]);
    users[label] = { name, password, url: `amqp://${encodeURIComponent(name)}:${password}@${ctx.host}:${ctx.port}/${encodeURIComponent(vhost)}` };
  }
  ctx.cleanups.push(() => ctx.admin.run([undo]));
  await ctx.admin.run([first, second]);
  return { vhost, users };
}
