// Overview: alarms and alert-like conditions, queued messages and message rates over time, totals,
// node resources, listeners, and (administrators) definitions export/import.

import { call, get, post, qs } from '../api.js';
import { TimeChart } from '../chart.js';
import { act, button, fill, h, kv, section } from '../dom.js';
import { bytes, duration, num, rate } from '../format.js';
import { href } from '../router.js';
import { table } from '../table.js';

const RATES = [
  ['publish', 'Publish'],
  ['confirm', 'Confirm'],
  ['deliver', 'Deliver (manual ack)'],
  ['deliver_no_ack', 'Deliver (auto ack)'],
  ['ack', 'Ack'],
  ['redeliver', 'Redeliver'],
  ['get', 'Get'],
  ['get_empty', 'Get (empty)'],
  ['return_unroutable', 'Unroutable (return)'],
  ['drop_unroutable', 'Unroutable (drop)'],
];

/** Queues that look like dead-letter queues, by name (the API has no such flag). */
const DLQ_PATTERN = '(dlq|dead|\\.dlx|error)';

export async function render(main, _params, ctx) {
  const banner = h('div', { id: 'alerts' });
  const queued = new TimeChart('Queued messages', ['Ready', 'Unacked', 'Total'], { key: 'overview:queued' });
  const rates = new TimeChart('Message rates', RATES.map(([, l]) => l), { unit: '/s', key: 'overview:rates' });
  const totals = h('div');
  const nodes = h('div');
  const listeners = h('div');
  main.append(
    h('h1', {}, 'Overview'),
    banner,
    h('div', { class: 'charts' }, queued.el, rates.el),
    section('Totals', totals),
    ctx.isMonitor ? section('Nodes', nodes) : null,
    section('Listeners', listeners),
    ctx.isAdmin ? definitions() : null,
  );

  async function refresh() {
    const [o, nodeList, dlqs, idle] = await Promise.all([
      get('/api/overview'),
      ctx.isMonitor ? get('/api/nodes').catch(() => []) : [],
      get(ctx.scoped('queues') + qs({ page: 1, page_size: 20, name: DLQ_PATTERN, use_regex: 'true', sort: 'messages', sort_reverse: 'true', columns: 'name,vhost,messages' })).catch(() => ({ items: [] })),
      get(ctx.scoped('queues') + qs({ page: 1, page_size: 20, sort: 'messages_ready', sort_reverse: 'true', columns: 'name,vhost,messages_ready,consumers' })).catch(() => ({ items: [] })),
    ]);
    const qt = o.queue_totals ?? {};
    queued.push([qt.messages_ready ?? 0, qt.messages_unacknowledged ?? 0, qt.messages ?? 0]);
    const ms = o.message_stats ?? {};
    rates.push(RATES.map(([k]) => ms[`${k}_details`]?.rate ?? 0));

    const alarms = [];
    for (const n of nodeList) {
      if (n.mem_alarm) alarms.push(`Memory alarm on ${n.name}: publishers are blocked (${bytes(n.mem_used)} used, limit ${bytes(n.mem_limit)}).`);
      if (n.disk_free_alarm) alarms.push(`Disk alarm on ${n.name}: publishers are blocked (${bytes(n.disk_free)} free, limit ${bytes(n.disk_free_limit)}).`);
    }
    const alerts = [];
    for (const q of dlqs.items ?? []) {
      if (q.messages > 0) alerts.push(h('li', {}, 'Dead-letter queue ', h('a', { href: href('queues', q.vhost, q.name) }, q.name), ` holds ${num(q.messages)} messages.`));
    }
    for (const q of idle.items ?? []) {
      if (q.messages_ready > 0 && q.consumers === 0) alerts.push(h('li', {}, 'Queue ', h('a', { href: href('queues', q.vhost, q.name) }, q.name), ` has ${num(q.messages_ready)} ready messages and no consumers.`));
    }
    fill(banner,
      alarms.length > 0 ? h('div', { class: 'banner alarm', role: 'alert', id: 'alarms' }, h('strong', {}, 'Alarms'), h('ul', {}, alarms.map((a) => h('li', {}, a)))) : null,
      alerts.length > 0 ? h('div', { class: 'banner alert', id: 'conditions' }, h('strong', {}, 'Needs attention'), h('ul', {}, alerts)) : null);

    const ot = o.object_totals ?? {};
    fill(totals, h('div', { class: 'grid2' },
      kv([['Connections', num(ot.connections)], ['Channels', num(ot.channels)], ['Exchanges', num(ot.exchanges)], ['Queues', num(ot.queues)], ['Consumers', num(ot.consumers)]]),
      kv([['Ready', num(qt.messages_ready)], ['Unacked', num(qt.messages_unacknowledged)], ['Total', num(qt.messages)],
        ...RATES.slice(0, 5).map(([k, l]) => [l, rate(ms[`${k}_details`])])])));
    fill(nodes, table([
      { title: 'Name', value: (n) => n.name },
      { title: 'File descriptors', num: true, value: (n) => `${num(n.fd_used)} / ${num(n.fd_total)}` },
      { title: 'Sockets', num: true, value: (n) => `${num(n.sockets_used)} / ${num(n.sockets_total)}` },
      { title: 'Memory', num: true, value: (n) => `${bytes(n.mem_used)} / ${bytes(n.mem_limit)}` },
      { title: 'Disk free', num: true, value: (n) => `${bytes(n.disk_free)} (limit ${bytes(n.disk_free_limit)})` },
      { title: 'Uptime', num: true, value: (n) => duration(n.uptime ?? 0) },
    ], nodeList));
    fill(listeners, table([
      { title: 'Protocol', value: (l) => l.protocol },
      { title: 'Address', value: (l) => l.ip_address },
      { title: 'Port', num: true, value: (l) => String(l.port) },
    ], o.listeners ?? []));
  }

  await refresh();
  return { refresh, dispose: () => { queued.destroy(); rates.destroy(); } };
}

function definitions() {
  const file = h('input', { type: 'file', accept: 'application/json,.json', id: 'definitions-file' });
  return section('Definitions',
    h('p', {}, 'Users, vhosts, permissions, policies, queues, exchanges and bindings as one JSON file.'),
    button('Download definitions', () => act(async () => {
      const res = await call('GET', '/api/definitions', { raw: true });
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `warren-definitions-${new Date().toISOString().slice(0, 10)}.json` });
      document.body.append(a);
      a.click();
      a.remove();
      // The download has its own copy once started; free the blob soon after.
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    }, 'Definitions downloaded'), { id: 'definitions-export' }),
    h('form', { class: 'inline', id: 'definitions-import', onsubmit: (e) => {
      e.preventDefault();
      const f = file.files?.[0];
      if (!f) return;
      act(async () => post('/api/definitions', JSON.parse(await f.text())), 'Definitions imported');
    } }, h('label', {}, 'Definitions file', file), h('button', { type: 'submit' }, 'Upload definitions')));
}
