// Policies, operator policies, runtime parameters and the cluster name.

import { seg } from '../api-client.js';
import { expectOk, option, rowsOf, type Command } from '../command.js';
import { CtlError, EXIT } from '../errors.js';
import type { Row } from '../format.js';

function policyCommands(kind: 'policy' | 'operator_policy'): Command[] {
  const route = kind === 'policy' ? 'policies' : 'operator-policies';
  const noun = kind === 'policy' ? 'policy' : 'operator policy';
  return [
    {
      name: `set_${kind}`,
      usage: '[--vhost <vhost>] [--priority <priority>] [--apply-to <apply-to>] <name> <pattern> <definition>',
      args: [3, 3],
      async run(ctx, [name = '', pattern = '', definition = '']) {
        const priority = option(ctx, 'priority') ?? '0';
        ctx.out.banner(`Setting ${noun} "${name}" for pattern "${pattern}" to "${definition}" with priority "${priority}" for vhost "${ctx.vhost}" ...`);
        let def: unknown;
        try {
          def = JSON.parse(definition);
        } catch {
          throw new CtlError(EXIT.dataErr, `Error:\nCould not parse JSON document: ${definition}`);
        }
        const prio = Number(priority);
        if (!Number.isInteger(prio)) throw new CtlError(EXIT.usage, `Error:\n--priority must be an integer, got: ${priority}`);
        const body: Row = { pattern, definition: def, priority: prio, 'apply-to': option(ctx, 'apply-to') ?? 'all' };
        expectOk(await ctx.api.put(`/api/${route}/${seg(ctx.vhost)}/${seg(name)}`, body));
      },
    },
    {
      name: `clear_${kind}`,
      usage: '[--vhost <vhost>] <name>',
      args: [1, 1],
      async run(ctx, [name = '']) {
        ctx.out.banner(`Clearing ${noun} "${name}" on vhost "${ctx.vhost}" ...`);
        const r = await ctx.api.delete(`/api/${route}/${seg(ctx.vhost)}/${seg(name)}`);
        if (r.status === 404) throw new CtlError(EXIT.dataErr, `Error:\nParameter does not exist`);
        expectOk(r);
      },
    },
    {
      name: kind === 'policy' ? 'list_policies' : 'list_operator_policies',
      usage: '[--vhost <vhost>]',
      args: [0, 0],
      async run(ctx) {
        ctx.out.banner(kind === 'policy' ? `Listing policies for vhost "${ctx.vhost}" ...` : `Listing operator policy overrides for vhost "${ctx.vhost}" ...`);
        const r = await ctx.api.get(`/api/${route}/${seg(ctx.vhost)}`);
        if (r.status === 404) return;
        const rows = rowsOf(expectOk(r)).map((p) => ({ ...p, definition: JSON.stringify(p.definition ?? {}) }));
        ctx.out.table(['vhost', 'name', 'pattern', 'apply-to', 'definition', 'priority'], rows);
      },
    },
  ];
}

export const policyCommandList: readonly Command[] = [
  ...policyCommands('policy'),
  ...policyCommands('operator_policy'),
  {
    name: 'list_parameters',
    usage: '[--vhost <vhost>]',
    args: [0, 0],
    async run(ctx) {
      ctx.out.banner(`Listing runtime parameters for vhost "${ctx.vhost}" ...`);
      const rows = rowsOf(expectOk(await ctx.api.get(`/api/parameters`), 200, 404)).filter((p) => p.vhost === ctx.vhost);
      ctx.out.table(['component', 'name', 'value'], rows.map((p) => ({ ...p, value: JSON.stringify(p.value) })));
    },
  },
  {
    name: 'list_global_parameters',
    usage: '',
    args: [0, 0],
    async run(ctx) {
      ctx.out.banner('Listing global runtime parameters ...');
      const rows = rowsOf(expectOk(await ctx.api.get('/api/global-parameters')));
      ctx.out.table(['name', 'value'], rows.map((p) => ({ name: p.name, value: JSON.stringify(p.value) })));
    },
  },
  {
    name: 'set_cluster_name',
    usage: '<name>',
    args: [1, 1],
    async run(ctx, [name = '']) {
      ctx.out.banner(`Setting cluster name to ${name} ...`);
      expectOk(await ctx.api.put('/api/cluster-name', { name }));
    },
  },
];
