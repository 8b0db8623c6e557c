// Every method in the generated table round-trips through encode -> frame reader ->
// decode, with random arguments generated from the spec's argument types.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameReader } from '../../src/protocol/frame-reader.js';
import { encodeContentHeaderPayload, encodeHeaderFrame, encodeMethodFrame } from '../../src/protocol/frame-writer.js';
import * as M from '../../src/protocol/generated/amqp.js';
import { argArbitrary, argType, camel, canonicalTable, loadSpec, utf8String } from './arbitraries.js';

const spec = loadSpec();

function methodArbitrary(classId: number, methodId: number, args: { name: string; type: string }[]): fc.Arbitrary<M.Method> {
  const rec: Record<string, fc.Arbitrary<unknown>> = {};
  for (const a of args) rec[camel(a.name)] = argArbitrary(a.type);
  return fc.record(rec).map((r) => ({ id: (classId << 16) | methodId, ...r }) as unknown as M.Method);
}

function decodeFrames(bytes: Buffer): { channel: number; payload: Buffer }[] {
  const out: { channel: number; payload: Buffer }[] = [];
  const r = new FrameReader(
    {
      onMethodFrame: (channel, payload) => out.push({ channel, payload: Buffer.from(payload) }),
      onHeaderFrame: () => undefined,
      onBodyFrame: () => undefined,
      onBodyParts: () => undefined,
      onHeartbeatFrame: () => undefined,
    },
    0,
  );
  r.push(bytes);
  return out;
}

describe('generated method table', () => {
  const all = spec.classes.flatMap((c) => c.methods.map((m) => ({ c, m })));

  it('METHOD_INFO lists exactly the spec methods with their ids and content flags', () => {
    expect(M.METHOD_INFO.size).toBe(all.length);
    for (const { c, m } of all) {
      const info = M.METHOD_INFO.get((c.id << 16) | m.id);
      expect(info, `${c.name}.${m.name}`).toBeDefined();
      expect(info?.name).toBe(`${c.name}.${m.name}`);
      expect(info?.classId).toBe(c.id);
      expect(info?.methodId).toBe(m.id);
      expect(info?.content).toBe(m.content === true);
    }
  });

  it('has the RabbitMQ extensions with their ids', () => {
    expect(M.EXCHANGE_UNBIND_OK).toBe((40 << 16) | 51);
    expect(M.BASIC_NACK).toBe((60 << 16) | 120);
    expect(M.CONFIRM_SELECT).toBe((85 << 16) | 10);
    expect(M.CONNECTION_BLOCKED).toBe((10 << 16) | 60);
    expect(M.CONNECTION_UPDATE_SECRET).toBe((10 << 16) | 70);
  });

  for (const { c, m } of all) {
    const args = m.arguments.map((a) => ({ name: a.name, type: argType(spec, a) }));
    it(`${c.name}.${m.name} round-trips (${args.map((a) => a.type).join(', ') || 'no arguments'})`, () => {
      fc.assert(
        fc.property(methodArbitrary(c.id, m.id, args), fc.integer({ min: 0, max: 65535 }), (method, channel) => {
          const frame = encodeMethodFrame(channel, method);
          expect(frame.length).toBe(M.methodPayloadSize(method) + 8);
          const frames = decodeFrames(frame);
          expect(frames).toHaveLength(1);
          expect(frames[0]?.channel).toBe(channel);
          const decoded = M.decodeMethod(frames[0]?.payload as Buffer);
          expect(decoded).toEqual(method);
          // Re-encoding the decoded method gives the same bytes.
          expect(encodeMethodFrame(channel, decoded as M.Method).equals(frame)).toBe(true);
        }),
        { numRuns: 40 },
      );
    });
  }

  it('decodeMethod returns undefined for an unknown class/method', () => {
    expect(M.decodeMethod(Buffer.from([0, 60, 0, 99]))).toBeUndefined();
    expect(M.decodeMethod(Buffer.from([0, 77, 0, 10]))).toBeUndefined();
  });

  it('decodeMethod throws (does not return garbage) on truncated arguments', () => {
    const full = encodeMethodFrame(0, { id: M.CONNECTION_TUNE, channelMax: 1, frameMax: 2, heartbeat: 3 });
    const payload = full.subarray(7, full.length - 1);
    for (let n = 4; n < payload.length; n++) {
      expect(() => M.decodeMethod(Buffer.from(payload.subarray(0, n)))).toThrow();
    }
  });

  it('a shortstr over 255 bytes is refused at encode time', () => {
    expect(() =>
      encodeMethodFrame(1, { id: M.QUEUE_DELETE, ticket: 0, queue: 'q'.repeat(256), ifUnused: false, ifEmpty: false, nowait: false }),
    ).toThrow(RangeError);
  });
});

describe('basic properties', () => {
  const shortstr = utf8String(255);
  const props = fc.record(
    {
      contentType: shortstr,
      contentEncoding: shortstr,
      headers: canonicalTable(2),
      deliveryMode: fc.integer({ min: 0, max: 255 }),
      priority: fc.integer({ min: 0, max: 255 }),
      correlationId: shortstr,
      replyTo: shortstr,
      expiration: shortstr,
      messageId: shortstr,
      timestamp: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      type: shortstr,
      userId: shortstr,
      appId: shortstr,
      clusterId: shortstr,
    },
    { requiredKeys: [] },
  );

  it('round-trip through a content header, any subset of properties', () => {
    fc.assert(
      fc.property(props, fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (p, bodySize) => {
        const payload = encodeContentHeaderPayload(60, bodySize, p as M.BasicProperties);
        expect(payload.readUInt16BE(0)).toBe(60);
        expect(payload.readUInt16BE(2)).toBe(0);
        expect(payload.readUInt32BE(4) * 2 ** 32 + payload.readUInt32BE(8)).toBe(bodySize);
        const decoded = M.decodeBasicProperties(payload, 12);
        expect(decoded).toEqual(p);
        expect(encodeContentHeaderPayload(60, bodySize, decoded).equals(payload)).toBe(true);
        // The frame carries it unchanged.
        const frame = encodeHeaderFrame(3, payload);
        expect(frame.subarray(7, frame.length - 1).equals(payload)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('property flags follow the spec order (content-type is bit 15, cluster-id bit 2)', () => {
    const flagsOf = (p: M.BasicProperties): number => encodeContentHeaderPayload(60, 0, p).readUInt16BE(12);
    expect(flagsOf({})).toBe(0);
    expect(flagsOf({ contentType: 'a' })).toBe(0x8000);
    expect(flagsOf({ headers: {} })).toBe(0x2000);
    expect(flagsOf({ deliveryMode: 2 })).toBe(0x1000);
    expect(flagsOf({ timestamp: 1 })).toBe(0x0040);
    expect(flagsOf({ userId: 'guest' })).toBe(0x0010);
    expect(flagsOf({ clusterId: 'c' })).toBe(0x0004);
  });
});
