// Queues: one server-side page at a time (regex filter, sort by any column), and a form to add one.

import { put, seg } from '../api.js';
import { act, field, form, h, input, jsonField, select } from '../dom.js';
import { features, num, rate } from '../format.js';
import { href } from '../router.js';
import { pagedList } from '../table.js';

const API_COLUMNS = 'name,vhost,type,durable,auto_delete,exclusive,arguments,policy,state,consumers,messages_ready,messages_unacknowledged,messages,message_stats';

export async function render(main, _params, ctx) {
  const list = pagedList({
    path: () => ctx.scoped('queues'),
    apiColumns: API_COLUMNS,
    label: 'queues',
    rowAttrs: (q) => ({ 'data-queue': q.name }),
    columns: [
      ctx.vhost() === '' ? { title: 'Virtual host', sort: 'vhost', value: (q) => q.vhost } : null,
      { title: 'Name', sort: 'name', value: (q) => h('a', { href: href('queues', q.vhost, q.name) }, q.name) },
      { title: 'Type', value: (q) => q.type ?? 'classic' },
      { title: 'Features', value: (q) => [features(q), q.policy ? ` ${q.policy}` : ''].join('') },
      { title: 'State', sort: 'state', value: (q) => h('span', { class: `state-${q.state}` }, q.state ?? '') },
      { title: 'Ready', sort: 'messages_ready', num: true, value: (q) => h('span', { 'data-col': 'ready' }, num(q.messages_ready)) },
      { title: 'Unacked', sort: 'messages_unacknowledged', num: true, value: (q) => num(q.messages_unacknowledged) },
      { title: 'Total', sort: 'messages', num: true, value: (q) => h('span', { 'data-col': 'total' }, num(q.messages)) },
      { title: 'Consumers', sort: 'consumers', num: true, value: (q) => num(q.consumers) },
      { title: 'Incoming', sort: 'message_stats.publish_details.rate', num: true, value: (q) => h('span', { 'data-col': 'incoming' }, rate(q.message_stats?.publish_details)) },
      { title: 'Deliver / get', sort: 'message_stats.deliver_get_details.rate', num: true, value: (q) => rate(q.message_stats?.deliver_get_details) },
      { title: 'Ack', sort: 'message_stats.ack_details.rate', num: true, value: (q) => rate(q.message_stats?.ack_details) },
    ].filter(Boolean),
  });

  const add = form('Add a new queue', [
    field('Virtual host', select('vhost', ctx.vhosts, ctx.vhost() || ctx.vhosts[0])),
    field('Name', input('name', { required: true })),
    field('Durability', select('durable', [['true', 'Durable'], ['false', 'Transient']], 'true')),
    field('Auto delete', select('auto_delete', [['false', 'No'], ['true', 'Yes']], 'false')),
    field('Arguments (JSON)', h('textarea', { name: 'arguments', placeholder: '{"x-message-ttl": 60000, "x-dead-letter-exchange": ""}' })),
  ], 'Add queue', (fd, f) => act(async () => {
    const args = jsonField(fd.get('arguments'), 'Arguments');
    await put(`/api/queues/${seg(fd.get('vhost'))}/${seg(fd.get('name'))}`, {
      durable: fd.get('durable') === 'true', auto_delete: fd.get('auto_delete') === 'true', arguments: args,
    });
    f.reset();
    await list.refresh();
  }, 'Queue added'), { id: 'add-queue' });

  main.append(h('h1', {}, 'Queues'), h('section', {}, list.el), h('section', {}, add));
  await list.refresh();
  return { refresh: list.refresh };
}
