// Message reads delivery-mode straight from the raw content header; it must agree with
// the full property decoder for any combination of the properties that precede it.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Message } from '../../src/broker/message.js';
import { encodeContentHeaderPayload } from '../../src/protocol/frame-writer.js';
import type { BasicProperties } from '../../src/protocol/generated/amqp.js';
import { TypedValue } from '../../src/protocol/field-table.js';
import { canonicalValue, utf8String } from '../protocol/arbitraries.js';

const propsArb: fc.Arbitrary<BasicProperties> = fc.record(
  {
    contentType: utf8String(255),
    contentEncoding: utf8String(255),
    headers: fc.dictionary(utf8String(40), canonicalValue(2), { maxKeys: 5 }),
    deliveryMode: fc.integer({ min: 0, max: 255 }),
    priority: fc.integer({ min: 0, max: 9 }),
    correlationId: utf8String(20),
  },
  { requiredKeys: [] },
);

describe('Message.persistent', () => {
  it('agrees with the decoded delivery-mode for any preceding properties', () => {
    fc.assert(
      fc.property(propsArb, (props) => {
        const header = encodeContentHeaderPayload(60, 5, props);
        const raw = new Message('x', 'k', header, [Buffer.from('hello')], 5);
        const decoded = new Message('x', 'k', header, [Buffer.from('hello')], 5);
        expect(raw.persistent).toBe(decoded.properties.deliveryMode === 2);
        expect(decoded.persistent).toBe(props.deliveryMode === 2);
      }),
      { numRuns: 300 },
    );
  });
});

describe('Message.headerWithDeliveryCount', () => {
  it('patches the raw header to exactly what decoding, adding the header and re-encoding gives', () => {
    fc.assert(
      fc.property(propsArb, fc.integer({ min: 0, max: 2 ** 40 }), (props, count) => {
        const header = encodeContentHeaderPayload(60, 5, props);
        const m = new Message('x', 'k', header, [Buffer.from('hello')], 5);
        const want = m.headerWith('x-delivery-count', new TypedValue('l', count));
        expect(m.headerWithDeliveryCount(count).equals(want)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('with an x-delivery-count of any type already in the headers, still matches the decode/re-encode path (replaced in place)', () => {
    fc.assert(
      fc.property(propsArb, canonicalValue(1), fc.nat(5), fc.integer({ min: 0, max: 2 ** 40 }), (props, existing, at, count) => {
        const entries = Object.entries(props.headers ?? {});
        entries.splice(Math.min(at, entries.length), 0, ['x-delivery-count', existing]);
        const header = encodeContentHeaderPayload(60, 5, { ...props, headers: Object.fromEntries(entries) });
        const m = new Message('x', 'k', header, [Buffer.from('hello')], 5);
        const want = m.headerWith('x-delivery-count', new TypedValue('l', count));
        expect(m.headerWithDeliveryCount(count).toString('hex')).toBe(want.toString('hex'));
      }),
      { numRuns: 300 },
    );
  });

  it('never decodes the rest of the header: a 200-byte content-type that is not UTF-8 and holds the key bytes, and a timestamp of 2^64-1, pass through', () => {
    const ct = Buffer.alloc(200, 0xff);
    Buffer.from('x-delivery-count').copy(ct, 50);
    const ts = Buffer.alloc(8, 0xff);
    const header = Buffer.concat([Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x40, 200]), ct, ts]);
    const m = new Message('x', 'k', header, [], 0);
    const out = m.headerWithDeliveryCount(2);
    // flags gain headers; content-type as sent; a table with the one entry; the timestamp as sent.
    expect(out.readUInt16BE(12)).toBe(0x8040 | 0x2000);
    expect(out.subarray(15, 215).equals(ct)).toBe(true);
    expect(out.readUInt32BE(215)).toBe(1 + 16 + 1 + 8);
    expect(out.subarray(220, 236).toString()).toBe('x-delivery-count');
    expect(out.readBigInt64BE(237)).toBe(2n);
    expect(out.subarray(245).equals(ts)).toBe(true);
  });

  it('replaces a count the header already carries (client-set or from an earlier queue)', () => {
    const header = encodeContentHeaderPayload(60, 0, { headers: { 'x-delivery-count': 7, a: 'b' }, deliveryMode: 2 });
    const m = new Message('x', 'k', header, [], 0);
    const patched = new Message('x', 'k', m.headerWithDeliveryCount(3), [], 0);
    expect(patched.properties.headers).toEqual({ 'x-delivery-count': new TypedValue('l', 3), a: 'b' });
    expect(patched.persistent).toBe(true);
  });
});

describe('Message.hasHeaders', () => {
  it('is true exactly when the decoded headers table has an entry (an empty table counts as none), before and after decoding', () => {
    fc.assert(
      fc.property(propsArb, (props) => {
        const header = encodeContentHeaderPayload(60, 0, props);
        const want = props.headers !== undefined && Object.keys(props.headers).length > 0;
        const m = new Message('x', 'k', header, [], 0);
        expect(m.hasHeaders).toBe(want);
        void m.properties;
        expect(m.hasHeaders).toBe(want);
        m.forgetProperties();
        expect(m.hasHeaders).toBe(want);
      }),
      { numRuns: 300 },
    );
  });
});
