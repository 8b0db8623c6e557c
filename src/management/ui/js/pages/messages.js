// Rendering of messages returned by get and peek (RabbitMQ's get shape: payload, properties, ...).

import { h, kv } from '../dom.js';
import { json, num } from '../format.js';

export function messageList(messages) {
  if (messages.length === 0) return h('p', { class: 'muted' }, 'Queue is empty.');
  return h('ol', { class: 'messages' }, messages.map((m, i) => h('li', { 'data-message': i },
    kv([
      ['Exchange', m.exchange === '' ? '(AMQP default)' : m.exchange],
      ['Routing key', m.routing_key],
      ['Redelivered', String(m.redelivered)],
      ['Messages left', num(m.message_count)],
      ['Properties', json(m.properties)],
      m.properties?.headers?.['x-death'] ? ['x-death', json(m.properties.headers['x-death'])] : null,
      ['Payload', h('span', {}, `${num(m.payload_bytes)} bytes, encoding: ${m.payload_encoding}`)],
    ]),
    h('pre', { class: 'payload' }, m.payload))));
}
