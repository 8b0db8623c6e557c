// Admin → policies and operator policies: lists, add/update, delete.

import { del, get, put, seg } from '../api.js';
import { act, button, confirmAction, field, fill, form, h, input, jsonField, section, select } from '../dom.js';
import { json } from '../format.js';
import { table } from '../table.js';
import { adminTabs } from './admin-tabs.js';

function policyKind(ctx, kind, title, singular, id) {
  const region = h('div');
  const add = form(`Add / update ${singular}`, [
    field('Virtual host', select('vhost', ctx.vhosts, ctx.vhost() || ctx.vhosts[0])),
    field('Name', input('name', { required: true })),
    field('Pattern', input('pattern', { required: true, placeholder: '^amq.' })),
    field('Apply to', select('apply-to', kind === 'policies' ? ['all', 'queues', 'exchanges', 'classic_queues', 'quorum_queues', 'streams'] : ['queues', 'classic_queues', 'quorum_queues', 'streams'], kind === 'policies' ? 'all' : 'queues')),
    field('Priority', input('priority', { type: 'number', value: 0 })),
    field('Definition (JSON)', h('textarea', { name: 'definition', required: true, placeholder: '{"max-length": 1000}' })),
  ], `Add ${singular}`, (fd, f) => act(async () => {
    await put(`/api/${kind}/${seg(fd.get('vhost'))}/${seg(fd.get('name'))}`, {
      pattern: fd.get('pattern'), 'apply-to': fd.get('apply-to'), priority: Number(fd.get('priority') || 0), definition: jsonField(fd.get('definition'), 'Definition'),
    });
    f.reset();
    await refresh();
  }, 'Policy saved'), { id });
  async function refresh() {
    const rows = await get(ctx.scoped(kind));
    fill(region, table([
      { title: 'Virtual host', value: (p) => p.vhost }, { title: 'Name', value: (p) => p.name },
      { title: 'Pattern', value: (p) => p.pattern }, { title: 'Apply to', value: (p) => p['apply-to'] },
      { title: 'Definition', value: (p) => json(p.definition) }, { title: 'Priority', num: true, value: (p) => String(p.priority) },
      { title: '', value: (p) => button('Delete', () => {
        if (!confirmAction(`Delete ${singular} ${p.name}?`)) return;
        act(async () => { await del(`/api/${kind}/${seg(p.vhost)}/${seg(p.name)}`); await refresh(); }, 'Policy deleted');
      }, { class: 'danger' }) },
    ], rows, { empty: `No ${title.toLowerCase()}.`, rowAttrs: (p) => ({ 'data-policy': p.name }) }));
  }
  return { el: section(title, region, add), refresh };
}

export async function render(main, _params, ctx) {
  const user = policyKind(ctx, 'policies', 'User policies', 'policy', 'add-policy');
  const operator = policyKind(ctx, 'operator-policies', 'Operator policies', 'operator policy', 'add-operator-policy');
  main.append(h('h1', {}, 'Policies'), adminTabs('Policies'), user.el, operator.el);
  const refresh = () => Promise.all([user.refresh(), operator.refresh()]);
  await refresh();
  return { refresh };
}
