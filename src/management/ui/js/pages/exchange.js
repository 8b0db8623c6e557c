// One exchange: details and rates, bindings both ways, add binding, publish, delete.

import { del, get, seg } from '../api.js';
import { act, button, confirmAction, fill, h, kv, section } from '../dom.js';
import { features, json, rate } from '../format.js';
import { bindForm, bindingsView, publishForm } from './forms.js';

export async function render(main, [vhost, rawName]) {
  const name = rawName === 'amq.default' ? '' : rawName;
  const base = `/api/exchanges/${seg(vhost)}/${seg(name === '' ? 'amq.default' : name)}`;
  const details = h('div');
  const out = bindingsView(() => `${base}/bindings/source`, { showSource: false });
  const into = bindingsView(() => `${base}/bindings/destination`, { showDestination: false });
  const title = name === '' ? '(AMQP default)' : name;
  main.append(
    h('h1', {}, `Exchange ${title}`),
    h('p', { class: 'muted' }, `Virtual host ${vhost}`),
    section('Details', details),
    section('Bindings from this exchange', out.el, name === '' ? null : bindForm(vhost, { source: name }, () => out.refresh())),
    section('Bindings to this exchange', into.el),
    section('Publish', publishForm(vhost, name)),
    name === '' || name.startsWith('amq.') ? null : section('Delete',
      button('Delete exchange', () => {
        if (!confirmAction(`Delete exchange ${name}?`)) return;
        act(async () => { await del(base); location.hash = '#/exchanges'; }, 'Exchange deleted');
      }, { class: 'danger', id: 'delete-exchange' })),
  );
  async function refresh() {
    const x = await get(base);
    const ms = x.message_stats ?? {};
    fill(details, kv([
      ['Type', x.type], ['Features', [features(x), x.internal ? 'internal' : ''].join(' ')], ['Arguments', json(x.arguments)],
      ['Policy', x.policy ?? ''], ['Rate in', rate(ms.publish_in_details)], ['Rate out', rate(ms.publish_out_details)],
    ]));
    await Promise.all([out.refresh(), into.refresh()]);
  }
  await refresh();
  return { refresh };
}
