// Channels: paged list with prefetch, unacked, unconfirmed, confirm mode and rates.

import { h } from '../dom.js';
import { num, rate } from '../format.js';
import { href } from '../router.js';
import { pagedList } from '../table.js';

export async function render(main, _params, ctx) {
  const list = pagedList({
    path: () => (ctx.vhost() === '' ? '/api/channels' : `/api/vhosts/${encodeURIComponent(ctx.vhost())}/channels`),
    label: 'channels',
    columns: [
      { title: 'Channel', sort: 'name', value: (c) => h('a', { href: href('channels', c.name) }, c.name) },
      { title: 'User', sort: 'user', value: (c) => c.user },
      { title: 'Mode', value: (c) => (c.confirm ? 'C' : '') },
      { title: 'State', sort: 'state', value: (c) => c.state },
      { title: 'Prefetch', num: true, value: (c) => num(c.prefetch_count) },
      { title: 'Unacked', sort: 'messages_unacknowledged', num: true, value: (c) => num(c.messages_unacknowledged) },
      { title: 'Unconfirmed', sort: 'messages_unconfirmed', num: true, value: (c) => num(c.messages_unconfirmed) },
      { title: 'Publish', num: true, sort: 'message_stats.publish_details.rate', value: (c) => rate(c.message_stats?.publish_details) },
      { title: 'Deliver / get', num: true, sort: 'message_stats.deliver_get_details.rate', value: (c) => rate(c.message_stats?.deliver_get_details) },
      { title: 'Ack', num: true, sort: 'message_stats.ack_details.rate', value: (c) => rate(c.message_stats?.ack_details) },
    ],
  });
  main.append(h('h1', {}, 'Channels'), h('section', {}, list.el));
  await list.refresh();
  return { refresh: list.refresh };
}
