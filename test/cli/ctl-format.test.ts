// warren ctl's output contract without a broker: rabbitmqctl's banners, headers, Erlang-style
// cells, JSON and CSV, and its argument errors (exit 64) before any request is made.

import { describe, expect, it } from 'vitest';
import { Output, cell, term } from '../../src/cli/ctl/format.js';
import { runCtl } from '../../src/cli/ctl/main.js';

function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  // Port 9 on loopback: nothing listens, so a command that reaches the network fails with 69.
  return runCtl(['--url', 'http://127.0.0.1:9', ...args], { env: {}, cwd: '/nonexistent', stdout: (t) => (out += t), stderr: (t) => (err += t) }).then((code) => ({ code, out, err }));
}

describe('warren ctl output', () => {
  const rows = [{ name: 'q1', messages: 3, durable: true, arguments: { 'x-max-length': 10, 'x-queue-mode': 'lazy' } }];

  it('prints banners, a header and tab-separated rows; -q drops banners, -s also the header', () => {
    const o = new Output({ formatter: 'table', quiet: false, silent: false, tableHeaders: true });
    o.banner('Listing queues for vhost / ...');
    o.table(['name', 'messages', 'durable', 'arguments'], rows);
    expect(o.text()).toBe('Listing queues for vhost / ...\nname\tmessages\tdurable\targuments\nq1\t3\ttrue\t[{"x-max-length",10},{"x-queue-mode","lazy"}]\n');
    const q = new Output({ formatter: 'table', quiet: true, silent: false, tableHeaders: true });
    q.banner('Listing ...');
    q.table(['name'], rows);
    expect(q.text()).toBe('name\nq1\n');
    const s = new Output({ formatter: 'table', quiet: false, silent: true, tableHeaders: true });
    s.banner('Listing ...');
    s.table(['name'], rows);
    expect(s.text()).toBe('q1\n');
  });

  it('prints nothing after the banner for an empty list, as rabbitmqctl does', () => {
    const o = new Output({ formatter: 'table', quiet: false, silent: false, tableHeaders: true });
    o.banner('Listing connections ...');
    o.table(['user', 'peer_host'], []);
    expect(o.text()).toBe('Listing connections ...\n');
  });

  it('renders JSON one object per line and CSV quoted', () => {
    const j = new Output({ formatter: 'json', quiet: true, silent: false, tableHeaders: true });
    j.table(['name', 'messages'], [{ name: 'a', messages: 1 }, { name: 'b', messages: 2 }]);
    expect(j.text()).toBe('[\n{"name":"a","messages":1}\n,{"name":"b","messages":2}\n]\n');
    const c = new Output({ formatter: 'csv', quiet: true, silent: false, tableHeaders: true });
    c.table(['name', 'messages'], [{ name: 'a"b', messages: 1 }]);
    expect(c.text()).toBe('"name","messages"\n"a""b","1"\n');
  });

  it('renders tags in brackets and tables as Erlang proplists', () => {
    expect(cell('tags', ['management', 'monitoring'])).toBe('[management, monitoring]');
    expect(cell('tags', [])).toBe('[]');
    expect(cell('arguments', {})).toBe('[]');
    expect(term({ a: [1, 'x'], b: { c: true } })).toBe('[{"a",[1,"x"]},{"b",[{"c",true}]}]');
    expect(cell('policy', null)).toBe('');
  });

  it('refuses unknown commands, columns and options with exit 64, and an unreachable node with 69', async () => {
    const unknown = await run(['bogus_cmd']);
    expect(unknown.code).toBe(64);
    expect(unknown.err).toContain("Command 'bogus_cmd' not found.");
    const column = await run(['list_queues', 'bogus_col']);
    expect(column.code).toBe(64);
    expect(column.err).toContain('Info key(s) bogus_col are not supported');
    const args = await run(['add_vhost']);
    expect(args.code).toBe(64);
    expect(args.err).toContain('not enough arguments');
    const formatter = await run(['--formatter', 'xml', 'list_queues']);
    expect(formatter.code).toBe(64);
    const down = await run(['list_queues']);
    expect(down.code).toBe(69);
    expect(down.err).toContain('unable to reach warren');
  });
});
