// Micro-benchmark of the x-delivery-count patch quorum and delivery-limit queues apply to every
// delivery (dist/broker/message.js): the raw patch that steps over the headers table's entries,
// next to the full decode/add/re-encode it replaces as reference (Message.headerWith).
//
//   npm run build && node bench/delivery-count.mjs [--ms N]
import { performance } from 'node:perf_hooks';
import { Message } from '../dist/broker/message.js';
import { encodeContentHeaderPayload } from '../dist/protocol/frame-writer.js';
import { TypedValue } from '../dist/protocol/field-table.js';

const ms = Number(process.argv[process.argv.indexOf('--ms') + 1]) || 1000;

const shapes = {
  'no headers (persistent, content-type)': { contentType: 'application/json', deliveryMode: 2 },
  'empty headers table (amqplib default)': { contentType: 'application/json', headers: {}, deliveryMode: 2 },
  '10 headers incl. x-delivery-count': {
    contentType: 'application/json',
    deliveryMode: 2,
    headers: Object.fromEntries([...Array(9)].map((_, i) => [`h${i}`, i % 2 ? `value-${i}` : i]).concat([['x-delivery-count', 3]])),
  },
};

function rate(fn) {
  let n = 0;
  const end = performance.now() + ms;
  let sink = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) sink += fn(i).length;
    n += 1000;
  }
  if (sink === 0) throw new Error('unreachable');
  return (ms * 1e6) / n; // ns per op
}

console.log(`| header | raw patch (ns/op) | decode + re-encode (ns/op) |`);
console.log(`| --- | ---: | ---: |`);
for (const [name, props] of Object.entries(shapes)) {
  const m = new Message('', 'q', encodeContentHeaderPayload(60, 10, props), [Buffer.alloc(10)], 10);
  const patch = rate((i) => m.headerWithDeliveryCount(i));
  const full = rate((i) => {
    m.forgetProperties();
    return m.headerWith('x-delivery-count', new TypedValue('l', i));
  });
  console.log(`| ${name} | ${patch.toFixed(0)} | ${full.toFixed(0)} |`);
}
