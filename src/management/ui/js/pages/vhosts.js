// Admin → virtual hosts: list with limits and message counts, add, set/clear limits, delete.

import { del, get, put, seg } from '../api.js';
import { act, button, confirmAction, field, fill, form, h, input, section, select } from '../dom.js';
import { num } from '../format.js';
import { table } from '../table.js';
import { adminTabs } from './admin-tabs.js';

export async function render(main, _params, ctx) {
  const region = h('div');
  const add = form('Add a virtual host', [
    field('Name', input('name', { required: true })),
    field('Description', input('description')),
    field('Tags (comma separated)', input('tags')),
  ], 'Add virtual host', (fd, f) => act(async () => {
    await put(`/api/vhosts/${seg(fd.get('name'))}`, { description: fd.get('description'), tags: fd.get('tags') });
    f.reset();
    await refresh();
  }, 'Virtual host added'), { id: 'add-vhost' });
  const limitSelect = select('vhost', ctx.vhosts, ctx.vhosts[0]);
  const limit = form('Set a limit', [
    field('Virtual host', limitSelect),
    field('Limit', select('limit', ['max-connections', 'max-queues'], 'max-connections')),
    field('Value (-1: unlimited)', input('value', { type: 'number', required: true })),
  ], 'Set limit', (fd) => act(async () => {
    await put(`/api/vhost-limits/${seg(fd.get('vhost'))}/${seg(fd.get('limit'))}`, { value: Number(fd.get('value')) });
    await refresh();
  }, 'Limit set'), { id: 'set-limit' });
  main.append(h('h1', {}, 'Virtual hosts'), adminTabs('Virtual hosts'), section(null, region), section(null, add, limit));
  async function refresh() {
    const [vhosts, limits] = await Promise.all([get('/api/vhosts'), get('/api/vhost-limits')]);
    const limitsOf = new Map(limits.map((l) => [l.vhost, l.value ?? {}]));
    fill(region, table([
      { title: 'Name', value: (v) => v.name },
      { title: 'Description', value: (v) => v.description ?? v.metadata?.description ?? '' },
      { title: 'Tags', value: (v) => (v.tags ?? []).join(', ') },
      { title: 'Limits', value: (v) => Object.entries(limitsOf.get(v.name) ?? {}).map(([k, n]) => h('span', {}, `${k}: ${n} `, button(`Clear ${k}`, () => {
        if (!confirmAction(`Clear ${k} of ${v.name}?`)) return;
        act(async () => { await del(`/api/vhost-limits/${seg(v.name)}/${seg(k)}`); await refresh(); }, 'Limit cleared');
      }, { class: 'secondary' }))) },
      { title: 'Ready', num: true, value: (v) => num(v.messages_ready) },
      { title: 'Unacked', num: true, value: (v) => num(v.messages_unacknowledged) },
      { title: '', value: (v) => button('Delete', () => {
        if (!confirmAction(`Delete virtual host ${v.name} with all its queues, exchanges and messages?`)) return;
        act(async () => { await del(`/api/vhosts/${seg(v.name)}`); await refresh(); }, 'Virtual host deleted');
      }, { class: 'danger', 'data-focus': `del:${v.name}` }) },
    ], vhosts));
  }
  await refresh();
  return { refresh };
}
