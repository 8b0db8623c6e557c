// The node: status, liveness probes, listeners, alarms, and definitions export/import.

import { readFile, writeFile } from 'node:fs/promises';
import { expectOk, rowsOf, type Command, type CtlContext } from '../command.js';
import { CtlError, EXIT } from '../errors.js';
import type { Row } from '../format.js';
import { reasonOf } from '../api-client.js';
import { systemClock } from '../../../util/clock.js';

async function overview(ctx: CtlContext): Promise<Row> {
  return expectOk(await ctx.api.get('/api/overview')).body as Row;
}

/** A health check route: 200 passes, 503 fails with its reason (exit 69, as rabbitmq-diagnostics). */
function check(name: string, path: string, passed: string): Command {
  return {
    name,
    usage: '',
    args: [0, 0],
    async run(ctx) {
      const r = await ctx.api.get(path);
      if (r.status === 200) return ctx.out.line(passed);
      if (r.status === 503) throw new CtlError(EXIT.unavailable, `Error:\n${reasonOf(r)}`);
      expectOk(r);
    },
  };
}

/** The progress ticker must not keep the process alive; waiting for start-up must. */
const sleep = (ms: number, keepAlive = false): Promise<void> => new Promise((resolve) => { systemClock.after(ms, resolve, { keepAlive }); });

export const nodeCommands: readonly Command[] = [
  {
    name: 'status',
    usage: '',
    args: [0, 0],
    async run(ctx) {
      const o = await overview(ctx);
      const nodes = rowsOf(expectOk(await ctx.api.get('/api/nodes')));
      const n = nodes[0] ?? {};
      ctx.out.banner(`Status of node ${String(o.node ?? '')} ...`);
      const listeners = Array.isArray(o.listeners) ? (o.listeners as Row[]) : [];
      const alarms: string[] = [];
      if (n.mem_alarm === true) alarms.push('memory');
      if (n.disk_free_alarm === true) alarms.push('disk');
      if (ctx.out.opts.formatter === 'json') {
        return ctx.out.json({ node: o.node, product_name: o.product_name, product_version: o.product_version, rabbitmq_version: o.rabbitmq_version, uptime: n.uptime, listeners, alarms, mem_used: n.mem_used, mem_limit: n.mem_limit, disk_free: n.disk_free, fd_used: n.fd_used, fd_total: n.fd_total });
      }
      const lines = [
        'Runtime', '',
        `OS PID: ${String(n.os_pid ?? '')}`,
        `Uptime (seconds): ${Math.floor(Number(n.uptime ?? 0) / 1000)}`,
        `Product name: ${String(o.product_name ?? '')}`,
        `Product version: ${String(o.product_version ?? '')}`,
        `RabbitMQ version: ${String(o.rabbitmq_version ?? '')}`,
        `Node name: ${String(o.node ?? '')}`, '',
        'Alarms', '',
        alarms.length === 0 ? '(none)' : alarms.map((a) => `${a} resource limit alarm in effect`).join('\n'), '',
        'Memory', '',
        `Total memory used: ${String(n.mem_used ?? '')} bytes`,
        `Memory high watermark: ${String(n.mem_limit ?? '')} bytes`, '',
        'Free Disk Space', '',
        `Free disk space: ${String(n.disk_free ?? '')} bytes`,
        `Low free disk space watermark: ${String(n.disk_free_limit ?? '')} bytes`, '',
        'File Descriptors', '',
        `Used: ${String(n.fd_used ?? '')}, limit: ${String(n.fd_total ?? '')}`, '',
        'Listeners', '',
        ...listeners.map((l) => `Interface: ${String(l.ip_address)}, port: ${String(l.port)}, protocol: ${String(l.protocol)}`),
      ];
      for (const l of lines) ctx.out.line(l);
    },
  },
  {
    name: 'ping',
    usage: '',
    args: [0, 0],
    async run(ctx) {
      const o = await overview(ctx);
      ctx.out.banner(`Will ping ${String(o.node ?? '')}. This only checks if the broker answers on its management API.`);
      ctx.out.line('Ping succeeded');
    },
  },
  {
    name: 'await_startup',
    usage: '[--timeout <seconds>]',
    args: [0, 0],
    async run(ctx) {
      const deadline = performance.now() + ctx.timeoutMs;
      for (;;) {
        try {
          const r = await ctx.api.get('/api/health/checks/ready-to-serve-clients');
          if (r.status === 200) return;
          // A broker without that check (RabbitMQ before 3.11) is up once the API answers.
          if (r.status !== 503 && (await ctx.api.get('/api/overview')).status === 200) return;
        } catch (err) {
          if (!(err instanceof CtlError) || err.code !== EXIT.unavailable) throw err;
        }
        if (performance.now() > deadline) throw new CtlError(EXIT.tempfail, `Error:\nwarren did not start within ${ctx.timeoutMs / 1000} seconds`);
        await sleep(200, true);
      }
    },
  },
  check('check_running', '/api/health/checks/ready-to-serve-clients', 'warren is fully booted and running'),
  check('check_local_alarms', '/api/health/checks/local-alarms', 'Node reported no local alarms'),
  check('check_alarms', '/api/health/checks/alarms', 'Node reported no alarms'),
  check('check_virtual_hosts', '/api/health/checks/virtual-hosts', 'Node reported all vhosts as running'),
  check('check_port_connectivity', '/api/health/checks/protocol-listener/amqp091', 'Successfully connected to ports'),
  {
    name: 'listeners',
    usage: '',
    args: [0, 0],
    async run(ctx) {
      const o = await overview(ctx);
      ctx.out.banner(`Asking node ${String(o.node ?? '')} to report its protocol listeners ...`);
      const ls = Array.isArray(o.listeners) ? (o.listeners as Row[]) : [];
      for (const l of ls) ctx.out.line(`Interface: ${String(l.ip_address)}, port: ${String(l.port)}, protocol: ${String(l.protocol)}`);
    },
  },
  {
    name: 'alarms',
    usage: '',
    args: [0, 0],
    async run(ctx) {
      ctx.out.banner('Asking node to report any known resource alarms ...');
      const r = await ctx.api.get('/api/health/checks/alarms');
      if (r.status === 200) return ctx.out.line('Node reported no alarms, local or clusterwide');
      ctx.out.line(reasonOf(r));
    },
  },
  {
    name: 'export_definitions',
    usage: '<file | ->',
    args: [1, 1],
    async run(ctx, [file = '']) {
      const r = expectOk(await ctx.api.get('/api/definitions'));
      if (file === '-') return ctx.out.line(JSON.stringify(r.body));
      ctx.out.banner(`Exporting definitions in JSON to a file at "${file}" ...`);
      // It holds every user's password hash: readable by its owner only.
      await writeFile(file, JSON.stringify(r.body, null, 2), { mode: 0o600 });
    },
  },
  {
    name: 'import_definitions',
    usage: '<file>',
    args: [1, 1],
    async run(ctx, [file = '']) {
      ctx.out.banner(`Importing definitions in JSON from a file at "${file}" ...`);
      let doc: unknown;
      try {
        doc = JSON.parse(await readFile(file, 'utf8'));
      } catch (err) {
        throw new CtlError(EXIT.dataErr, `Error:\ncould not read definitions from ${file}: ${err instanceof Error ? err.message : String(err)}`);
      }
      // The import runs server-side all or nothing; show that it is alive while it runs.
      const started = performance.now();
      let done = false;
      const tick = async (): Promise<void> => {
        while (!done) {
          await sleep(1000);
          if (!done) ctx.progress(`... importing, ${Math.round((performance.now() - started) / 1000)} s`);
        }
      };
      void tick();
      try {
        expectOk(await ctx.api.post('/api/definitions', doc));
      } finally {
        done = true;
      }
      ctx.out.banner('Successfully started definition import. This process is asynchronous and can take some time.');
    },
  },
];
