// The hand-written basic.deliver writer (the hot path) produces exactly the bytes of the
// generated method encoder, for any strings, tags and flags.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_DELIVER_FRAME, encodeMethodFrame, writeDeliverFrame } from '../../src/protocol/frame-writer.js';
import { BASIC_DELIVER } from '../../src/protocol/generated/amqp.js';

/** Strings that fit a shortstr: ASCII or not, up to 255 UTF-8 bytes. */
const shortstr = fc.oneof(fc.string({ maxLength: 255 }), fc.string({ unit: 'grapheme', maxLength: 60 })).filter((s) => Buffer.byteLength(s) <= 255);

describe('writeDeliverFrame', () => {
  it('matches the generated encoder byte for byte', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 65535 }),
        shortstr,
        fc.maxSafeNat(),
        fc.boolean(),
        shortstr,
        shortstr,
        fc.integer({ min: 0, max: 50 }),
        (channel, consumerTag, deliveryTag, redelivered, exchange, routingKey, at) => {
          const want = encodeMethodFrame(channel, { id: BASIC_DELIVER, consumerTag, deliveryTag, redelivered, exchange, routingKey });
          const buf = Buffer.alloc(at + MAX_DELIVER_FRAME, 0xaa);
          const end = writeDeliverFrame(buf, at, channel, consumerTag, deliveryTag, redelivered, exchange, routingKey);
          expect(end - at).toBe(want.length);
          expect(buf.subarray(at, end).equals(want)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a name over 255 bytes, ASCII or not', () => {
    const buf = Buffer.alloc(4 * MAX_DELIVER_FRAME);
    expect(() => writeDeliverFrame(buf, 0, 1, 'a'.repeat(256), 1, false, '', 'k')).toThrow(RangeError);
    expect(() => writeDeliverFrame(buf, 0, 1, 'tag', 1, false, 'é'.repeat(128), 'k')).toThrow(RangeError);
  });
});
