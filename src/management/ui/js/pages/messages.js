// Rendering of messages returned by get and peek (RabbitMQ's get shape: payload, properties, ...).
// Headers and x-death get their own lines: x-death says where and why a message died.

import { h, kv } from '../dom.js';
import { num } from '../format.js';

function deaths(xDeath) {
  if (!Array.isArray(xDeath) || xDeath.length === 0) return null;
  return xDeath.map((d) => `${d.reason} in ${d.queue} (×${d.count}${d.exchange ? `, via ${d.exchange}` : ''})`).join('; ');
}

/** An object as one `key: value` line per entry (headers read better that way than as JSON). */
function lines(o) {
  const entries = Object.entries(o ?? {});
  if (entries.length === 0) return '';
  return h('span', {}, entries.map(([k, v], i) => [i > 0 ? h('br') : null, `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`]));
}

export function messageList(messages) {
  if (messages.length === 0) return h('p', { class: 'muted' }, 'Queue is empty.');
  return h('ol', { class: 'messages' }, messages.map((m, i) => {
    const { headers = {}, ...props } = m.properties ?? {};
    const { 'x-death': xDeath, ...otherHeaders } = headers;
    const died = deaths(xDeath);
    return h('li', { 'data-message': i },
      kv([
        ['Exchange', m.exchange === '' ? '(AMQP default)' : m.exchange],
        ['Routing key', m.routing_key],
        ['Redelivered', String(m.redelivered)],
        ['Messages left', num(m.message_count)],
        ['Properties', lines(props)],
        ['Headers', lines(otherHeaders)],
        died ? ['x-death', died] : null,
        ['Payload', `${num(m.payload_bytes)} bytes, encoding: ${m.payload_encoding}`],
      ]),
      h('pre', { class: 'payload' }, m.payload));
  }));
}
