// One channel: details, rates and its consumers.

import { get, seg } from '../api.js';
import { fill, h, kv, section } from '../dom.js';
import { num, rate } from '../format.js';
import { href } from '../router.js';
import { table } from '../table.js';

export async function render(main, [name]) {
  const details = h('div');
  const consumers = h('div');
  main.append(h('h1', {}, `Channel ${name}`), section('Details', details), section('Consumers', consumers));
  async function refresh() {
    const c = await get(`/api/channels/${seg(name)}`);
    const ms = c.message_stats ?? {};
    const conn = c.connection_details?.name;
    fill(details, kv([
      ['Connection', conn ? h('a', { href: href('connections', conn) }, conn) : ''], ['User', c.user], ['Virtual host', c.vhost],
      ['State', c.state], ['Confirm mode', c.confirm ? 'yes' : 'no'], ['Prefetch', num(c.prefetch_count)], ['Global prefetch', num(c.global_prefetch_count)],
      ['Unacked', num(c.messages_unacknowledged)], ['Unconfirmed', num(c.messages_unconfirmed)],
      ['Publish', rate(ms.publish_details)], ['Deliver / get', rate(ms.deliver_get_details)], ['Ack', rate(ms.ack_details)],
    ]));
    fill(consumers, table([
      { title: 'Queue', value: (k) => h('a', { href: href('queues', k.queue?.vhost ?? '', k.queue?.name ?? '') }, k.queue?.name ?? '') },
      { title: 'Consumer tag', value: (k) => k.consumer_tag },
      { title: 'Ack required', value: (k) => (k.ack_required ? 'yes' : 'no') },
      { title: 'Prefetch', num: true, value: (k) => num(k.prefetch_count) },
    ], c.consumer_details ?? [], { empty: 'No consumers.' }));
  }
  await refresh();
  return { refresh };
}
