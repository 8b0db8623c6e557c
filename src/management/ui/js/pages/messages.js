// Rendering of messages returned by get and peek (RabbitMQ's get shape: payload, properties, ...).
// Headers and x-death get their own lines: x-death says where and why a message died.

import { h, kv } from '../dom.js';
import { json, num } from '../format.js';

function deaths(xDeath) {
  if (!Array.isArray(xDeath) || xDeath.length === 0) return null;
  return xDeath.map((d) => `${d.reason} in ${d.queue} (×${d.count}${d.exchange ? `, via ${d.exchange}` : ''})`).join('; ');
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
        ['Properties', json(props)],
        ['Headers', json(otherHeaders)],
        died ? ['x-death', died] : null,
        ['Payload', `${num(m.payload_bytes)} bytes, encoding: ${m.payload_encoding}`],
      ]),
      h('pre', { class: 'payload' }, m.payload));
  }));
}
