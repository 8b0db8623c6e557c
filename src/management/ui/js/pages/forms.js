// Forms shared by the exchange and queue pages: publish a message, bindings with add/remove.

import { del, get, post, seg } from '../api.js';
import { act, button, confirmAction, field, fill, form, h, input, jsonField, select } from '../dom.js';
import { json } from '../format.js';
import { href } from '../router.js';
import { table } from '../table.js';

/** Publish through an exchange ('' = the default exchange, routed by queue name). */
export function publishForm(vhost, exchange, { routingKey = '', id = 'publish' } = {}) {
  return form('Publish message', [
    field('Routing key', input('routing_key', { value: routingKey })),
    field('Delivery mode', select('delivery_mode', [['2', '2 - Persistent'], ['1', '1 - Non-persistent']], '2')),
    field('Headers (JSON)', h('textarea', { name: 'headers', placeholder: '{"trace": "a"}' })),
    field('Properties (JSON)', h('textarea', { name: 'properties', placeholder: '{"content_type": "text/plain"}' })),
    field('Payload', h('textarea', { name: 'payload' })),
    field('Payload encoding', select('payload_encoding', [['string', 'String'], ['base64', 'Base64']], 'string')),
  ], 'Publish message', (fd) => act(async () => {
    const properties = { ...jsonField(fd.get('properties'), 'Properties'), delivery_mode: Number(fd.get('delivery_mode')) };
    const headers = jsonField(fd.get('headers'), 'Headers');
    if (Object.keys(headers).length > 0) properties.headers = headers;
    const name = exchange === '' ? 'amq.default' : exchange;
    return post(`/api/exchanges/${seg(vhost)}/${seg(name)}/publish`, {
      routing_key: fd.get('routing_key'), payload: fd.get('payload'), payload_encoding: fd.get('payload_encoding'), properties,
    });
  }, (r) => (r.routed ? 'Message published.' : 'Message published, but not routed.')), { id });
}

const destLink = (b) => (b.destination_type === 'queue'
  ? h('a', { href: href('queues', b.vhost, b.destination) }, b.destination)
  : h('a', { href: href('exchanges', b.vhost, b.destination) }, b.destination));
const sourceLink = (b) => (b.source === '' ? '(AMQP default)' : h('a', { href: href('exchanges', b.vhost, b.source) }, b.source));

/** Bindings region: list plus an unbind button per row; `refresh()` redraws it. */
export function bindingsView(url, { showSource = true, showDestination = true } = {}) {
  const region = h('div');
  async function refresh() {
    const rows = await get(url());
    fill(region, table([
      showSource ? { title: 'From', value: sourceLink } : null,
      showDestination ? { title: 'To', value: destLink } : null,
      { title: 'Routing key', value: (b) => b.routing_key },
      { title: 'Arguments', value: (b) => json(b.arguments) },
      { title: '', value: (b) => (b.source === '' ? '' : button('Unbind', () => unbind(b), { class: 'secondary', 'data-focus': `unbind:${b.source}:${b.destination}:${b.properties_key}` })) },
    ].filter(Boolean), rows, { empty: 'No bindings.' }));
  }
  async function unbind(b) {
    if (!confirmAction(`Remove the binding from ${b.source} to ${b.destination} (${b.routing_key})?`)) return;
    const kind = b.destination_type === 'queue' ? 'q' : 'e';
    await act(() => del(`/api/bindings/${seg(b.vhost)}/e/${seg(b.source)}/${kind}/${seg(b.destination)}/${seg(b.properties_key)}`), 'Binding removed');
    await refresh();
  }
  return { el: region, refresh };
}

/** Add a binding: fixed source (exchange page) or fixed destination (queue page). */
export function bindForm(vhost, { source, destination, destinationType = 'queue' }, after) {
  const fields = [];
  if (source === undefined) fields.push(field('From exchange', input('source', { required: true })));
  else fields.push(field('To', select('destination_type', [['queue', 'Queue'], ['exchange', 'Exchange']], 'queue')), field('Destination', input('destination', { required: true })));
  fields.push(field('Routing key', input('routing_key')), field('Arguments (JSON)', h('textarea', { name: 'arguments' })));
  return form('Add binding', fields, 'Bind', (fd, f) => act(async () => {
    const src = source ?? fd.get('source');
    const dst = destination ?? fd.get('destination');
    const dtype = source === undefined ? destinationType : fd.get('destination_type');
    await post(`/api/bindings/${seg(vhost)}/e/${seg(src)}/${dtype === 'queue' ? 'q' : 'e'}/${seg(dst)}`, {
      routing_key: fd.get('routing_key'), arguments: jsonField(fd.get('arguments'), 'Arguments'),
    });
    f.reset();
    await after();
  }, 'Binding added'), { id: 'add-binding' });
}
