// Connections: paged list with user, state, TLS, protocol, channels, client and traffic rates.

import { h } from '../dom.js';
import { num, rate } from '../format.js';
import { href } from '../router.js';
import { pagedList } from '../table.js';

export async function render(main, _params, ctx) {
  const list = pagedList({
    path: () => (ctx.vhost() === '' ? '/api/connections' : `/api/vhosts/${encodeURIComponent(ctx.vhost())}/connections`),
    label: 'connections',
    columns: [
      { title: 'Name', sort: 'name', value: (c) => h('a', { href: href('connections', c.name) }, c.name) },
      { title: 'User', sort: 'user', value: (c) => c.user },
      { title: 'Virtual host', sort: 'vhost', value: (c) => c.vhost },
      { title: 'State', sort: 'state', value: (c) => c.state },
      { title: 'TLS', value: (c) => (c.ssl ? 'yes' : 'no') },
      { title: 'Protocol', value: (c) => c.protocol },
      { title: 'Channels', sort: 'channels', num: true, value: (c) => num(c.channels) },
      { title: 'Client', value: (c) => [c.client_properties?.product, c.client_properties?.version].filter(Boolean).join(' ') },
      { title: 'From client', sort: 'recv_oct_details.rate', num: true, value: (c) => rate(c.recv_oct_details) },
      { title: 'To client', sort: 'send_oct_details.rate', num: true, value: (c) => rate(c.send_oct_details) },
    ],
  });
  main.append(h('h1', {}, 'Connections'), h('section', {}, list.el));
  await list.refresh();
  return { refresh: list.refresh };
}
