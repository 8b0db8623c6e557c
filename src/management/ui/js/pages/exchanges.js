// Exchanges: paged list and a form to add one (types from the overview's exchange_types).

import { get, put, seg } from '../api.js';
import { act, field, form, h, input, jsonField, select } from '../dom.js';
import { features, rate } from '../format.js';
import { href } from '../router.js';
import { pagedList } from '../table.js';

export async function render(main, _params, ctx) {
  const list = pagedList({
    path: () => ctx.scoped('exchanges'),
    apiColumns: 'name,vhost,type,durable,auto_delete,internal,arguments,policy,message_stats',
    label: 'exchanges',
    rowAttrs: (x) => ({ 'data-exchange': x.name }),
    columns: [
      ctx.vhost() === '' ? { title: 'Virtual host', sort: 'vhost', value: (x) => x.vhost } : null,
      { title: 'Name', sort: 'name', value: (x) => h('a', { href: href('exchanges', x.vhost, x.name) }, x.name === '' ? '(AMQP default)' : x.name) },
      { title: 'Type', sort: 'type', value: (x) => x.type },
      { title: 'Features', value: (x) => [features(x), x.internal ? 'I' : '', x.policy ?? ''].filter(Boolean).join(' ') },
      { title: 'Rate in', num: true, sort: 'message_stats.publish_in_details.rate', value: (x) => rate(x.message_stats?.publish_in_details) },
      { title: 'Rate out', num: true, sort: 'message_stats.publish_out_details.rate', value: (x) => rate(x.message_stats?.publish_out_details) },
    ].filter(Boolean),
  });
  const overview = await get('/api/overview');
  const types = (overview.exchange_types ?? [{ name: 'direct' }, { name: 'fanout' }, { name: 'topic' }, { name: 'headers' }]).map((t) => t.name);
  const add = form('Add a new exchange', [
    field('Virtual host', select('vhost', ctx.vhosts, ctx.vhost() || ctx.vhosts[0])),
    field('Name', input('name', { required: true })),
    field('Type', select('type', types, 'direct')),
    field('Durability', select('durable', [['true', 'Durable'], ['false', 'Transient']], 'true')),
    field('Auto delete', select('auto_delete', [['false', 'No'], ['true', 'Yes']], 'false')),
    field('Internal', select('internal', [['false', 'No'], ['true', 'Yes']], 'false')),
    field('Arguments (JSON)', h('textarea', { name: 'arguments', placeholder: '{"alternate-exchange": "ae"}' })),
  ], 'Add exchange', (fd, f) => act(async () => {
    await put(`/api/exchanges/${seg(fd.get('vhost'))}/${seg(fd.get('name'))}`, {
      type: fd.get('type'), durable: fd.get('durable') === 'true', auto_delete: fd.get('auto_delete') === 'true',
      internal: fd.get('internal') === 'true', arguments: jsonField(fd.get('arguments'), 'Arguments'),
    });
    f.reset();
    await list.refresh();
  }, 'Exchange added'), { id: 'add-exchange' });
  main.append(h('h1', {}, 'Exchanges'), h('section', {}, list.el), h('section', {}, add));
  await list.refresh();
  return { refresh: list.refresh };
}
