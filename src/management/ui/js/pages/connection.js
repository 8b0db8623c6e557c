// One connection: details, client properties, its channels, and close with a reason.

import { del, get, seg } from '../api.js';
import { act, confirmAction, field, fill, form, h, input, kv, section } from '../dom.js';
import { json, num, time } from '../format.js';
import { href } from '../router.js';
import { table } from '../table.js';

export async function render(main, [name]) {
  const base = `/api/connections/${seg(name)}`;
  const details = h('div');
  const props = h('div');
  const channels = h('div');
  const close = form('Close this connection', [
    field('Reason', input('reason', { value: 'Closed via management plugin', size: 40 })),
  ], 'Force close', (fd) => {
    if (!confirmAction(`Close connection ${name}?`)) return;
    return act(async () => {
      await del(base, { 'x-reason': String(fd.get('reason') ?? '') });
      location.hash = '#/connections';
    }, 'Connection closed');
  }, { id: 'close-connection' });
  main.append(h('h1', {}, `Connection ${name}`), section('Details', details), section('Client properties', props), section('Channels', channels), section(null, close));
  async function refresh() {
    const c = await get(base);
    fill(details, kv([
      ['User', c.user], ['Virtual host', c.vhost], ['State', c.state], ['Protocol', c.protocol], ['TLS', c.ssl ? 'yes' : 'no'],
      ['Authentication', c.auth_mechanism], ['Connected at', time(c.connected_at)], ['Heartbeat', `${num(c.timeout)} s`],
      ['Frame max', num(c.frame_max)], ['Channel max', num(c.channel_max)], ['Peer', `${c.peer_host}:${c.peer_port}`],
    ]));
    fill(props, kv(Object.entries(c.client_properties ?? {}).map(([k, v]) => [k, typeof v === 'object' ? json(v) : String(v)])));
    const chans = await get(`${base}/channels`).catch(() => []);
    fill(channels, table([
      { title: 'Channel', value: (ch) => h('a', { href: href('channels', ch.name) }, ch.name) },
      { title: 'Mode', value: (ch) => (ch.confirm ? 'confirm' : '') },
      { title: 'Prefetch', num: true, value: (ch) => num(ch.prefetch_count) },
      { title: 'Unacked', num: true, value: (ch) => num(ch.messages_unacknowledged) },
      { title: 'State', value: (ch) => ch.state },
    ], chans, { empty: 'No channels.' }));
  }
  await refresh();
  return { refresh };
}
