// One queue: details, charts, consumers, bindings, effective policy; publish, get, peek, move (a
// DLQ back to its source), pause/resume, unacked messages, purge and delete.

import { del, get, post, put, qs, seg } from '../api.js';
import { TimeChart } from '../chart.js';
import { act, button, confirmAction, field, fill, form, h, input, kv, section, select } from '../dom.js';
import { features, json, num, rate, time } from '../format.js';
import { href } from '../router.js';
import { table } from '../table.js';
import { bindForm, bindingsView, publishForm } from './forms.js';
import { messageList } from './messages.js';

export async function render(main, [vhost, name]) {
  const base = `/api/queues/${seg(vhost)}/${seg(name)}`;
  const extra = `/api/warren/queues/${seg(vhost)}/${seg(name)}`;
  const details = h('div', { id: 'queue-details' });
  const consumers = h('div');
  const unacked = h('div');
  const results = h('div', { id: 'message-results', 'aria-live': 'polite' });
  const queued = new TimeChart('Queued messages', ['Ready', 'Unacked', 'Total'], { key: `q:${vhost}/${name}:queued` });
  const rates = new TimeChart('Message rates', ['Publish', 'Deliver / get', 'Ack', 'Redeliver'], { unit: '/s', key: `q:${vhost}/${name}:rates` });
  const bindings = bindingsView(() => `${base}/bindings`, { showDestination: false });
  const pauseBtn = h('button', { type: 'button', class: 'secondary', id: 'pause' });
  let paused = false;

  pauseBtn.addEventListener('click', () => act(async () => {
    const op = paused ? 'resume' : 'pause';
    await put(`${extra}/${op}`);
    await refresh();
    return op;
  }, (op) => (op === 'pause' ? 'Delivery paused' : 'Delivery resumed')));

  const getForm = form('Get messages', [
    h('p', { class: 'muted' }, 'Get takes messages like a consumer; requeued ones come back marked redelivered. Peek below does not touch the queue.'),
    field('Ack mode', select('ackmode', [
      ['ack_requeue_true', 'Nack message requeue true'],
      ['ack_requeue_false', 'Automatic ack'],
      ['reject_requeue_true', 'Reject requeue true'],
      ['reject_requeue_false', 'Reject requeue false'],
    ], 'ack_requeue_true')),
    field('Encoding', select('encoding', [['auto', 'Auto string / base64'], ['base64', 'base64']], 'auto')),
    field('Messages', input('count', { type: 'number', min: 1, value: 1 })),
  ], 'Get messages', (fd) => act(async () => {
    const ackmode = fd.get('ackmode');
    if (ackmode === 'ack_requeue_false' || ackmode === 'reject_requeue_false') {
      if (!confirmAction(`Take up to ${fd.get('count')} messages off ${name} for good?`)) return;
    }
    const msgs = await post(`${base}/get`, { count: Number(fd.get('count')), ackmode, encoding: fd.get('encoding'), truncate: 50000 });
    fill(results, h('h3', {}, `Got ${msgs.length}`), messageList(msgs));
    await refresh();
  }), { id: 'get-messages' });

  const peekForm = form('Peek messages', [
    field('Messages', input('count', { type: 'number', min: 1, value: 10 })),
  ], 'Peek', (fd) => act(async () => {
    const msgs = await get(`${extra}/peek${qs({ count: Number(fd.get('count')), encoding: 'auto', truncate: 50000 })}`);
    fill(results, h('h3', {}, `Peeked ${msgs.length}`), messageList(msgs));
  }), { id: 'peek-messages' });

  const moveForm = form('Move messages', [
    h('p', { class: 'muted' }, 'Ready messages leave this queue from the head. With no target, each dead-lettered message goes back to the queue it died in (x-death).'),
    field('Target queue (empty: dead-letter origin)', input('target')),
    field('Most messages (empty: all)', input('count', { type: 'number', min: 1 })),
  ], 'Move messages', (fd) => act(async () => {
    const target = String(fd.get('target') ?? '').trim();
    const count = String(fd.get('count') ?? '').trim();
    if (!confirmAction(`Move ${count === '' ? 'all' : count} messages from ${name} to ${target === '' ? 'their dead-letter origin' : target}?`)) return;
    const r = await post(`${extra}/move`, { ...(target === '' ? {} : { target }), ...(count === '' ? {} : { count: Number(count) }) });
    await refresh();
    return r;
  }, (r) => `Moved ${num(r?.moved ?? 0)} messages${r?.stopped ? ` (stopped: ${r.stopped})` : ''}`), { id: 'move-messages' });

  const danger = section('Delete or purge',
    button('Purge messages', () => {
      if (!confirmAction(`Purge all ready messages of ${name}?`)) return;
      act(async () => { await del(`${base}/contents`); await refresh(); }, 'Queue purged');
    }, { class: 'danger', id: 'purge' }), ' ',
    button('Delete queue', () => {
      if (!confirmAction(`Delete queue ${name} and its messages?`)) return;
      act(async () => { await del(base); location.hash = '#/queues'; }, 'Queue deleted');
    }, { class: 'danger', id: 'delete-queue' }));

  main.append(
    h('h1', {}, `Queue ${name}`),
    h('p', { class: 'muted' }, `Virtual host ${vhost}`),
    h('div', { class: 'charts' }, queued.el, rates.el),
    section('Details', details, h('p', {}, pauseBtn)),
    section('Consumers', consumers),
    section('Bindings', bindings.el, bindForm(vhost, { destination: name }, () => bindings.refresh())),
    section('Messages', publishForm(vhost, '', { routingKey: name }), getForm, peekForm, moveForm, results),
    section('Unacknowledged messages', unacked),
    danger,
  );

  async function refresh() {
    let q;
    try {
      q = await get(base);
    } catch (err) {
      fill(details, h('p', { class: 'banner alarm' }, err.message));
      return;
    }
    queued.push([q.messages_ready ?? 0, q.messages_unacknowledged ?? 0, q.messages ?? 0]);
    const ms = q.message_stats ?? {};
    rates.push(['publish', 'deliver_get', 'ack', 'redeliver'].map((k) => ms[`${k}_details`]?.rate ?? 0));
    paused = q.state === 'paused' || q.paused === true;
    pauseBtn.textContent = paused ? 'Resume delivery' : 'Pause delivery';
    fill(details, h('div', { class: 'grid2' },
      kv([
        ['Type', q.type ?? 'classic'],
        ['Features', features(q)],
        ['Arguments', json(q.arguments)],
        ['State', h('span', { class: `state-${q.state}`, id: 'queue-state' }, q.state ?? '')],
        ['Policy', h('span', { id: 'queue-policy' }, q.policy ?? '')],
        ['Operator policy', q.operator_policy ?? ''],
        ['Effective policy definition', h('span', { id: 'queue-effective-policy' }, json(q.effective_policy_definition))],
        ['Exclusive owner', q.exclusive_consumer_tag ?? ''],
      ]),
      kv([
        ['Ready', h('span', { id: 'queue-ready' }, num(q.messages_ready))],
        ['Unacked', num(q.messages_unacknowledged)],
        ['Total', h('span', { id: 'queue-total' }, num(q.messages))],
        ['Consumers', num(q.consumers)],
        ['Publish', rate(ms.publish_details)],
        ['Deliver / get', rate(ms.deliver_get_details)],
        ['Ack', rate(ms.ack_details)],
        ['Idle since', q.idle_since ?? ''],
      ])));
    fill(consumers, table([
      { title: 'Channel', value: (c) => (c.channel_details?.name ? h('a', { href: href('channels', c.channel_details.name) }, c.channel_details.name) : '') },
      { title: 'Consumer tag', value: (c) => c.consumer_tag },
      { title: 'Ack required', value: (c) => (c.ack_required ? 'yes' : 'no') },
      { title: 'Exclusive', value: (c) => (c.exclusive ? 'yes' : 'no') },
      { title: 'Prefetch', num: true, value: (c) => num(c.prefetch_count) },
      { title: 'Active', value: (c) => (c.active === false ? 'no' : 'yes') },
      { title: 'Arguments', value: (c) => json(c.arguments) },
    ], q.consumer_details ?? [], { empty: 'No consumers.' }));
    await Promise.all([
      bindings.refresh().catch(() => {}),
      get(`${extra}/unacked${qs({ page: 1, page_size: 100, sort: "delivered_at" })}`).then((rows) => fill(unacked, table([
        { title: 'Connection', value: (u) => (u.connection_name ? h('a', { href: href('connections', u.connection_name) }, u.connection_name) : '') },
        { title: 'Channel', value: (u) => (u.channel_name ? h('a', { href: href('channels', u.channel_name) }, u.channel_name) : '') },
        { title: 'Consumer tag', value: (u) => u.consumer_tag ?? '(basic.get)' },
        { title: 'Routing key', value: (u) => u.routing_key ?? '' },
        { title: 'Delivery tag', num: true, value: (u) => num(u.delivery_tag) },
        { title: 'Age', num: true, value: (u) => (u.age_ms === undefined ? (u.delivered_at ? time(u.delivered_at) : '') : `${Math.round(u.age_ms / 1000)} s`) },
      ], Array.isArray(rows) ? rows : rows.items ?? [], { empty: 'No unacknowledged messages.' }))).catch((err) => fill(unacked, h('p', { class: 'muted' }, err.message))),
    ]);
  }

  await refresh();
  return { refresh, dispose: () => { queued.destroy(); rates.destroy(); } };
}
