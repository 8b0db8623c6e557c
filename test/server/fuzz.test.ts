// Property test over a real socket: random frame sequences after the handshake never
// produce 541 INTERNAL_ERROR or kill the broker; the answer is either a normal reply,
// a channel/connection error with a defined code, or nothing; other connections live on.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { useBroker } from '../helpers/broker.js';
import { useBystander } from './raw-connections.js';
import { RawClient, rawFrame } from '../helpers/raw-client.js';
import { encodeBodyFrame, encodeContentHeaderPayload, encodeHeaderFrame, encodeMethodFrame } from '../../src/protocol/frame-writer.js';
import type { FieldTable } from '../../src/protocol/field-table.js';
import { argType, camel, loadSpec, wireTableBody, withLength } from '../protocol/arbitraries.js';
import * as M from '../../src/protocol/generated/amqp.js';

const b = useBroker();

/** Seeded and reproducible: the seed is printed; WARREN_FUZZ_SEED=<n> replays a run. */
const SEED = process.env['WARREN_FUZZ_SEED'] !== undefined ? Number(process.env['WARREN_FUZZ_SEED']) : Date.now() % 0x7fffffff;
console.log(`fuzz seed ${SEED} (replay with WARREN_FUZZ_SEED=${SEED})`);
const bystander = useBystander(b);

const KNOWN_CODES = new Set([311, 312, 313, 403, 404, 405, 406, 320, 402, 501, 502, 503, 504, 505, 506, 530, 540]);
const methodIds = [...M.METHOD_INFO.keys()];

/** A frame: a known method id with random argument bytes, a random header/body, or a heartbeat. */
const frameArb = fc.oneof(
  fc
    .record({ id: fc.constantFrom(...methodIds), args: fc.uint8Array({ maxLength: 40 }), channel: fc.integer({ min: 0, max: 3 }) })
    .map(({ id, args, channel }) => {
      const p = Buffer.alloc(4 + args.length);
      p.writeUInt32BE(id, 0);
      Buffer.from(args).copy(p, 4);
      return rawFrame(1, channel, p);
    }),
  fc
    .record({ channel: fc.integer({ min: 0, max: 3 }), payload: fc.uint8Array({ maxLength: 40 }), type: fc.constantFrom(2, 3) })
    .map(({ channel, payload, type }) => rawFrame(type, channel, Buffer.from(payload))),
  fc.integer({ min: 0, max: 3 }).map((channel) => rawFrame(8, channel, Buffer.alloc(0))),
  // Well-formed methods that are valid in some states, to reach deeper code paths.
  fc.integer({ min: 1, max: 3 }).map((ch) => encodeMethodFrame(ch, { id: M.CHANNEL_OPEN, outOfBand: '' })),
  fc.integer({ min: 1, max: 3 }).map((ch) =>
    encodeMethodFrame(ch, { id: M.BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: 'fuzz', mandatory: true, immediate: false }),
  ),
  fc.integer({ min: 1, max: 3 }).map((ch) =>
    encodeMethodFrame(ch, { id: M.QUEUE_DECLARE, ticket: 0, queue: 'fuzz', passive: false, durable: false, exclusive: true, autoDelete: false, nowait: false, arguments: {} }),
  ),
  fc.integer({ min: 1, max: 3 }).map((ch) =>
    encodeMethodFrame(ch, { id: M.BASIC_CONSUME, ticket: 0, queue: 'fuzz', consumerTag: '', noLocal: false, noAck: false, exclusive: false, nowait: false, arguments: {} }),
  ),
  fc.integer({ min: 1, max: 3 }).map((ch) => encodeMethodFrame(ch, { id: M.CHANNEL_CLOSE, replyCode: 200, replyText: '', classId: 0, methodId: 0 })),
  fc.integer({ min: 1, max: 3 }).map((ch) => encodeMethodFrame(ch, { id: M.CHANNEL_CLOSE_OK })),
);

describe('fuzzed frame sequences', () => {
  it('never answer 541 INTERNAL_ERROR and never disturb other connections', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 20 }), async (frames) => {
        const c = await RawClient.open(b.port);
        try {
          await c.openChannel(1);
          c.send(Buffer.concat(frames));
          // A marker on a channel the fuzz never touches: its open-ok (or a connection close) ends the exchange.
          c.sendMethod(100, { id: M.CHANNEL_OPEN, outOfBand: '' });
          for (;;) {
            let f;
            try {
              f = await c.nextFrame(1000);
            } catch {
              break; // socket closed or quiet: both fine
            }
            if (f.type !== 'method') continue;
            const m = f.method;
            if (m.id === M.CONNECTION_CLOSE || m.id === M.CHANNEL_CLOSE) {
              expect(m.replyCode, m.replyText).not.toBe(541);
              expect(KNOWN_CODES.has(m.replyCode), `${m.replyCode} ${m.replyText}`).toBe(true);
              if (m.id === M.CONNECTION_CLOSE) break;
            }
            if (m.id === M.CHANNEL_OPEN_OK && f.channel === 100) break;
          }
        } finally {
          c.destroy();
        }
        const ok = await bystander().call(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false }, M.BASIC_QOS_OK);
        expect(ok.id).toBe(M.BASIC_QOS_OK);
      }),
      { numRuns: 150, seed: SEED },
    );
  }, 20_000);
});

// ---------------------------------------------------------------- well-formed random methods


const spec = loadSpec();
const NAMES = ['', 'q', 'q2', 'x', 'amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.rabbitmq.reply-to', 'amq.gen-x', 'direct', 'fanout', 'topic', 'headers', 'tag'];
const ARG_KEYS = [
  'x-message-ttl', 'x-expires', 'x-max-length', 'x-max-length-bytes', 'x-overflow', 'x-dead-letter-exchange',
  'x-dead-letter-routing-key', 'x-max-priority', 'x-single-active-consumer', 'x-delivery-limit', 'x-queue-type',
  'x-match', 'alternate-exchange', 'x-priority', 'CC', 'BCC', 'x-consumer-timeout',
];
const argValue = fc.oneof(
  fc.integer({ min: -5, max: 100 }),
  fc.constantFrom('drop-head', 'reject-publish', 'reject-publish-dlx', 'classic', 'quorum', 'stream', 'all', 'any', 'x', 'q', ''),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.constantFrom('q', 'q2', 'x'), { maxLength: 2 }),
  fc.double({ noNaN: true }),
);
const tableArb: fc.Arbitrary<FieldTable> = fc.dictionary(fc.constantFrom(...ARG_KEYS), argValue, { maxKeys: 3 }) as fc.Arbitrary<FieldTable>;

function wellFormedArg(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'bit':
      return fc.boolean();
    case 'octet':
      return fc.integer({ min: 0, max: 255 });
    case 'short':
      return fc.integer({ min: 0, max: 3 });
    case 'long':
      return fc.integer({ min: 0, max: 3 });
    case 'longlong':
    case 'timestamp':
      return fc.integer({ min: 0, max: 6 });
    case 'shortstr':
      return fc.constantFrom(...NAMES);
    case 'longstr':
      return fc.constant(Buffer.alloc(0));
    case 'table':
      return tableArb;
    default:
      throw new Error(type);
  }
}

/** Methods a client sends (server replies and server-initiated methods are left out). */
const SERVER_ONLY = new Set(['basic.return', 'basic.deliver', 'basic.get-empty', 'channel.open', 'access.request']);
const HOT = new Set(['queue.declare', 'queue.bind', 'basic.publish', 'basic.consume', 'basic.get', 'basic.ack', 'basic.nack', 'basic.reject', 'exchange.declare', 'exchange.bind', 'tx.commit']);
/** Narrow value sets per argument name, so that random sequences hit existing objects. */
const NAMED: Record<string, fc.Arbitrary<unknown>> = {
  queue: fc.constantFrom('q', 'q2', '', 'amq.rabbitmq.reply-to'),
  exchange: fc.constantFrom('', 'amq.direct', 'amq.topic', 'x', 'amq.headers'),
  source: fc.constantFrom('amq.direct', 'x', 'amq.fanout'),
  destination: fc.constantFrom('amq.direct', 'x', 'amq.fanout'),
  type: fc.constantFrom('direct', 'fanout', 'topic', 'headers'),
  'routing-key': fc.constantFrom('q', 'q2', '#', 'a.b', ''),
  'consumer-tag': fc.constantFrom('', 'tag', 'tag2'),
  'delivery-tag': fc.integer({ min: 0, max: 4 }),
  'prefetch-size': fc.constantFrom(0, 0, 0, 1),
  'prefetch-count': fc.integer({ min: 0, max: 3 }),
  immediate: fc.constantFrom(false, false, false, true),
  requeue: fc.constantFrom(true, true, false),
  passive: fc.constantFrom(false, false, true),
};

const clientMethods = spec.classes
  .filter((c) => c.name !== 'connection')
  .flatMap((c) => c.methods.map((m) => ({ c, m })))
  .filter(({ c, m }) => !m.name.endsWith('-ok') && !SERVER_ONLY.has(`${c.name}.${m.name}`));

const methodArb: fc.Arbitrary<Buffer> = fc.oneof(
  ...clientMethods.map(({ c, m }) => ({ weight: HOT.has(`${c.name}.${m.name}`) ? 6 : 1, arbitrary: methodFor(c, m) })),
);

function methodFor(c: (typeof clientMethods)[number]['c'], m: (typeof clientMethods)[number]['m']): fc.Arbitrary<Buffer> {
  {
    const rec: Record<string, fc.Arbitrary<unknown>> = {};
    for (const a of m.arguments) rec[camel(a.name)] = NAMED[a.name] ?? wellFormedArg(argType(spec, a));
    return fc.tuple(fc.record(rec), fc.integer({ min: 1, max: 3 }), fc.uint8Array({ maxLength: 20 })).map(([args, ch, body]) => {
      const method = { id: (c.id << 16) | m.id, ...args } as unknown as M.Method;
      const frames = [encodeMethodFrame(ch, method)];
      if (m.content === true) {
        frames.push(encodeHeaderFrame(ch, encodeContentHeaderPayload(60, body.length, { headers: { CC: ['q2'] }, replyTo: 'amq.rabbitmq.reply-to', userId: 'guest' })));
        if (body.length > 0) frames.push(encodeBodyFrame(ch, Buffer.from(body)));
      }
      return Buffer.concat(frames);
    });
  }
}

describe('fuzzed well-formed methods', () => {
  it('random valid methods with random arguments never produce 541 INTERNAL_ERROR', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(methodArb, { minLength: 1, maxLength: 25 }), async (cmds) => {
        const c = await RawClient.open(b.port);
        try {
          for (const ch of [1, 2, 3]) await c.openChannel(ch);
          c.send(Buffer.concat(cmds));
          c.sendMethod(100, { id: M.CHANNEL_OPEN, outOfBand: '' });
          for (;;) {
            let f;
            try {
              f = await c.nextFrame(1000);
            } catch {
              break;
            }
            if (f.type !== 'method') continue;
            const m = f.method;
            if (m.id === M.CONNECTION_CLOSE || m.id === M.CHANNEL_CLOSE) {
              expect(m.replyCode, m.replyText).not.toBe(541);
              expect(KNOWN_CODES.has(m.replyCode), `${m.replyCode} ${m.replyText}`).toBe(true);
              if (m.id === M.CONNECTION_CLOSE) break;
            }
            if (m.id === M.CHANNEL_OPEN_OK && f.channel === 100) break;
          }
        } finally {
          c.destroy();
        }
        await bystander().call(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 1, global: false }, M.BASIC_QOS_OK);
      }),
      { numRuns: 400, seed: SEED },
    );
  }, 20_000);
});

// ---------------------------------------------------------------- content headers with random tables

/** A headers table: random wire values (every tag, 'L', raw-byte keys), sometimes mutated, sometimes nested deep. */
const headersArb = fc.oneof(
  { arbitrary: wireTableBody(3), weight: 4 },
  {
    arbitrary: fc.tuple(wireTableBody(2), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([t, at, byte]) => {
      const m = Buffer.from(t);
      if (m.length > 0) m[at % m.length] = byte;
      return m;
    }),
    weight: 2,
  },
  {
    arbitrary: fc.tuple(fc.integer({ min: 1, max: 6000 }), fc.constantFrom('F', 'A')).map(([depth, tag]) => {
      let inner = Buffer.alloc(0);
      for (let i = 1; i < depth; i++) {
        inner = tag === 'F' ? Buffer.concat([Buffer.from([1, 0x61, 0x46]), withLength(inner)]) : Buffer.concat([Buffer.from('A'), withLength(inner)]);
      }
      return Buffer.concat([Buffer.from([1, 0x64]), Buffer.from(tag), withLength(inner)]);
    }),
    weight: 1,
  },
);

describe('fuzzed content headers and field tables', () => {
  it('publishing random headers tables (then consuming them from a quorum queue) never answers 541 nor disturbs others', async () => {
    const setup = await RawClient.open(b.port);
    await setup.openChannel(1);
    await setup.call(
      1,
      { id: M.QUEUE_DECLARE, ticket: 0, queue: 'fuzz-tables', passive: false, durable: true, exclusive: false, autoDelete: false, nowait: false, arguments: { 'x-queue-type': 'quorum' } },
      M.QUEUE_DECLARE_OK,
    );
    await setup.call(1, { id: M.BASIC_CONSUME, ticket: 0, queue: 'fuzz-tables', consumerTag: 'fz', noLocal: false, noAck: true, exclusive: false, nowait: false, arguments: {} }, M.BASIC_CONSUME_OK);
    await fc.assert(
      fc.asyncProperty(headersArb, fc.uint8Array({ maxLength: 300 }), async (table, contentType) => {
        const c = await RawClient.open(b.port);
        try {
          await c.openChannel(1);
          const ct = Buffer.from(contentType.subarray(0, 255));
          const h = Buffer.alloc(14);
          h.writeUInt16BE(60, 0);
          h.writeBigUInt64BE(1n, 4);
          h.writeUInt16BE((1 << 15) | (1 << 13), 12);
          const header = Buffer.concat([h, Buffer.from([ct.length]), ct, withLength(table)]);
          const publish = encodeMethodFrame(1, { id: M.BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: 'fuzz-tables', mandatory: false, immediate: false });
          c.send(Buffer.concat([publish, rawFrame(2, 1, header), rawFrame(3, 1, Buffer.from('x'))]));
          c.sendMethod(100, { id: M.CHANNEL_OPEN, outOfBand: '' });
          for (;;) {
            let f;
            try {
              f = await c.nextFrame(1000);
            } catch {
              break;
            }
            if (f.type !== 'method') continue;
            const m = f.method;
            if (m.id === M.CONNECTION_CLOSE || m.id === M.CHANNEL_CLOSE) {
              expect(m.replyCode, m.replyText).not.toBe(541);
              expect(KNOWN_CODES.has(m.replyCode), `${m.replyCode} ${m.replyText}`).toBe(true);
              if (m.id === M.CONNECTION_CLOSE) break;
            }
            if (m.id === M.CHANNEL_OPEN_OK && f.channel === 100) break;
          }
        } finally {
          c.destroy();
        }
        // The broker (whose quorum-queue consumer gets x-delivery-count patched into every header) still answers.
        const ok = await bystander().call(1, { id: M.BASIC_QOS, prefetchSize: 0, prefetchCount: 0, global: false }, M.BASIC_QOS_OK);
        expect(ok.id).toBe(M.BASIC_QOS_OK);
      }),
      { numRuns: 120, seed: SEED },
    );
    setup.destroy();
  }, 30_000);
});
