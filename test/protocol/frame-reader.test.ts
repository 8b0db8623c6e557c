// FrameReader: any frame sequence decodes identically however the bytes are chunked;
// frame_max is enforced from the 7-byte header; bad frame-end and unknown types are 501.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameReader, type FrameHandler } from '../../src/protocol/frame-reader.js';
import { ConnectionError } from '../../src/protocol/errors.js';
import { HEARTBEAT_FRAME, encodeBodyFrame, encodeHeaderFrame } from '../../src/protocol/frame-writer.js';

interface Ev {
  type: number;
  channel: number;
  payload: string;
}

function collector(): { handler: FrameHandler; events: Ev[] } {
  const events: Ev[] = [];
  const handler: FrameHandler = {
    onMethodFrame: (channel, p) => events.push({ type: 1, channel, payload: p.toString('hex') }),
    onHeaderFrame: (channel, buf, start, end) => events.push({ type: 2, channel, payload: buf.toString('hex', start, end) }),
    onBodyFrame: (channel, p) => events.push({ type: 3, channel, payload: p.toString('hex') }),
    onBodyParts: (channel, parts) => events.push({ type: 3, channel, payload: parts.map((v) => v.toString('hex')).join('') }),
    onHeartbeatFrame: (channel) => events.push({ type: 8, channel, payload: '' }),
  };
  return { handler, events };
}

function frameBytes(type: number, channel: number, payload: Buffer, end = 0xce): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b[0] = type;
  b.writeUInt16BE(channel, 1);
  b.writeUInt32BE(payload.length, 3);
  payload.copy(b, 7);
  b[7 + payload.length] = end;
  return b;
}

// Valid frames only: a heartbeat is empty and a content header has at least its 12 fixed octets.
const frameArb = fc
  .record({
    type: fc.constantFrom(1, 2, 3, 8),
    channel: fc.integer({ min: 0, max: 65535 }),
    payload: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  })
  .map((f) => (f.type === 8 ? { ...f, payload: Buffer.alloc(0) } : f.type === 2 && f.payload.length < 12 ? { ...f, payload: Buffer.concat([f.payload, Buffer.alloc(12 - f.payload.length)]) } : f));

function expected(frames: { type: number; channel: number; payload: Buffer }[]): Ev[] {
  return frames.map((f) => ({ type: f.type, channel: f.channel, payload: f.type === 8 ? '' : f.payload.toString('hex') }));
}

/** `bytes` cut at the given points (taken modulo its length + 1; empty chunks included). */
function cutAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(prev, p));
    prev = p;
  }
  chunks.push(bytes.subarray(prev));
  return chunks;
}

function feed(chunks: Buffer[], frameMax = 0): Ev[] {
  const { handler, events } = collector();
  const r = new FrameReader(handler, frameMax);
  for (const c of chunks) r.push(c);
  return events;
}

describe('FrameReader chunking', () => {
  it('decodes a random frame sequence identically when split at every byte boundary', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 8 }), (frames) => {
        const bytes = Buffer.concat(frames.map((f) => frameBytes(f.type, f.channel, f.payload)));
        const want = expected(frames);
        expect(feed([bytes])).toEqual(want);
        for (let i = 0; i <= bytes.length; i++) {
          expect(feed([bytes.subarray(0, i), bytes.subarray(i)])).toEqual(want);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('decodes identically under random chunkings (including 1-byte chunks and empty chunks)', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 40 }),
        (frames, cuts) => {
          const bytes = Buffer.concat(frames.map((f) => frameBytes(f.type, f.channel, f.payload)));
          expect(feed(cutAt(bytes, cuts))).toEqual(expected(frames));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('decodes byte-at-a-time', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 5 }), (frames) => {
        const bytes = Buffer.concat(frames.map((f) => frameBytes(f.type, f.channel, f.payload)));
        const chunks: Buffer[] = [];
        for (let i = 0; i < bytes.length; i++) chunks.push(bytes.subarray(i, i + 1));
        expect(feed(chunks)).toEqual(expected(frames));
      }),
      { numRuns: 50 },
    );
  });

  it('large body frames spanning chunks (passed on as views) decode identically under any chunking', () => {
    const bigFrameArb = fc.record({
      type: fc.constantFrom(1, 3, 3, 3),
      channel: fc.integer({ min: 0, max: 65535 }),
      payload: fc.integer({ min: 0, max: 20_000 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })).map((a) => Buffer.from(a)),
    });
    fc.assert(
      fc.property(
        fc.array(bigFrameArb, { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 100_000 }), { maxLength: 60 }),
        (frames, cuts) => {
          const bytes = Buffer.concat(frames.map((f) => frameBytes(f.type, f.channel, f.payload)));
          expect(feed(cutAt(bytes, cuts))).toEqual(expected(frames));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a large body frame trickled in hundreds of pieces is copied once it exceeds the view limit, and still decodes', () => {
    const payload = Buffer.alloc(6000);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
    const bytes = Buffer.concat([frameBytes(3, 9, payload), frameBytes(1, 9, Buffer.from('after'))]);
    for (const step of [1, 7, 100, 4099]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += step) chunks.push(bytes.subarray(i, i + step));
      expect(feed(chunks)).toEqual([
        { type: 3, channel: 9, payload: payload.toString('hex') },
        { type: 1, channel: 9, payload: Buffer.from('after').toString('hex') },
      ]);
    }
  });

  it('a large body frame with a bad frame-end octet is 501 wherever the chunks split it', () => {
    const bytes = frameBytes(3, 1, Buffer.alloc(5000, 1), 0x00);
    for (const cut of [7, 8, 100, 4000, 5006, 5007]) {
      const r = new FrameReader(collector().handler, 0);
      let code: number | undefined;
      try {
        r.push(bytes.subarray(0, cut));
        r.push(bytes.subarray(cut));
      } catch (e) {
        if (e instanceof ConnectionError) code = e.replyCode;
      }
      expect(code).toBe(501);
    }
  });

  it('a bad frame-end octet on a large body frame gives the same reply text whether or not it arrived in pieces', () => {
    const payload = Buffer.alloc(5000);
    for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
    const bytes = frameBytes(3, 1, payload, 0x01);
    const textOf = (cuts: number[]): string => {
      const r = new FrameReader(collector().handler, 0);
      try {
        let prev = 0;
        for (const c of [...cuts, bytes.length]) {
          r.push(bytes.subarray(prev, c));
          prev = c;
        }
      } catch (e) {
        if (e instanceof ConnectionError) return e.replyText;
      }
      return 'no error';
    };
    const whole = textOf([]);
    expect(whole).toMatch(/^FRAME_ERROR - type 3, all octets = <<0,1,2,.*,39,\.\.\.>>: \{invalid_frame_end_marker,1\}$/);
    for (const cuts of [[8], [9, 12, 20, 30], [100, 4000], [5007]]) expect(textOf(cuts)).toBe(whole);
  });

  it('payloads handed out are not corrupted by later chunks (views are stable)', () => {
    const events: Buffer[] = [];
    const r = new FrameReader(
      {
        onMethodFrame: () => undefined,
        onHeaderFrame: () => undefined,
        onBodyFrame: (_c, p) => events.push(p),
        onBodyParts: (_c, parts) => events.push(...parts),
        onHeartbeatFrame: () => undefined,
      },
      0,
    );
    const a = encodeBodyFrame(1, Buffer.from('first-body'));
    const b = encodeBodyFrame(1, Buffer.from('second-body'));
    const both = Buffer.concat([a, b]);
    r.push(Buffer.from(both.subarray(0, 12)));
    r.push(Buffer.from(both.subarray(12)));
    expect(events.map((e) => e.toString())).toEqual(['first-body', 'second-body']);
  });

  it('writer helpers produce frames the reader accepts', () => {
    const hdr = encodeHeaderFrame(7, Buffer.from('0123456789abcd'));
    expect(feed([HEARTBEAT_FRAME, hdr])).toEqual([
      { type: 8, channel: 0, payload: '' },
      { type: 2, channel: 7, payload: Buffer.from('0123456789abcd').toString('hex') },
    ]);
  });
});

describe('FrameReader limits and errors', () => {
  function codeOf(fn: () => void): number | undefined {
    try {
      fn();
    } catch (e) {
      if (e instanceof ConnectionError) return e.replyCode;
      throw e;
    }
    return undefined;
  }

  it('rejects an oversize frame with 501 from its 7-byte header, before the payload arrives', () => {
    const { handler, events } = collector();
    const r = new FrameReader(handler, 4096);
    const header = Buffer.alloc(7);
    header[0] = 3;
    header.writeUInt16BE(1, 1);
    // RabbitMQ lets the payload reach frame_max (not frame_max - 8): one byte over that.
    header.writeUInt32BE(4096 + 1, 3);
    expect(codeOf(() => r.push(header))).toBe(501);
    expect(events).toEqual([]);
  });

  it('accepts a payload of frame_max octets, whole or in pieces, as RabbitMQ does', () => {
    const payload = Buffer.alloc(4096, 9);
    const frame = frameBytes(3, 1, payload);
    for (const chunks of [[frame], [frame.subarray(0, 5), frame.subarray(5, 3000), frame.subarray(3000)]]) {
      const { handler, events } = collector();
      const r = new FrameReader(handler, 4096);
      for (const c of chunks) r.push(c);
      expect(events.map((e) => e.payload.length)).toEqual([payload.length * 2]);
    }
  });

  it('a heartbeat frame with a payload is an unknown frame (501), as RabbitMQ answers', () => {
    const r = new FrameReader(collector().handler, 4096);
    let text = '';
    try {
      r.push(frameBytes(8, 0, Buffer.from('abc')));
    } catch (e) {
      text = (e as ConnectionError).replyText;
      expect((e as ConnectionError).replyCode).toBe(501);
    }
    expect(text).toBe('FRAME_ERROR - type 8, all octets = <<"abc">>: unknown_frame');
  });

  it('a content header shorter than its 12 fixed octets is an unknown frame (501), as RabbitMQ answers', () => {
    const r = new FrameReader(collector().handler, 4096);
    let text = '';
    try {
      r.push(frameBytes(2, 1, Buffer.from([0, 60, 0, 0, 0, 0])));
    } catch (e) {
      text = (e as ConnectionError).replyText;
    }
    expect(text).toBe('FRAME_ERROR - type 2, all octets = <<0,60,0,0,0,0>>: unknown_frame');
  });

  it('rejects an oversize frame whose header arrives split across chunks', () => {
    const r = new FrameReader(collector().handler, 4096);
    const header = Buffer.alloc(7);
    header[0] = 3;
    header.writeUInt32BE(1_000_000, 3);
    r.push(header.subarray(0, 4));
    expect(codeOf(() => r.push(header.subarray(4)))).toBe(501);
  });

  it('accepts a frame of exactly frame_max bytes', () => {
    const payload = Buffer.alloc(4096 - 8, 7);
    expect(feed([frameBytes(3, 1, payload)], 4096)).toHaveLength(1);
  });

  it('a bad frame-end octet is 501, wherever the chunk boundary falls', () => {
    fc.assert(
      fc.property(frameArb, fc.integer({ min: 0, max: 255 }).filter((e) => e !== 0xce), fc.nat(), (f, end, cut) => {
        const bytes = frameBytes(f.type, f.channel, f.payload, end);
        const at = cut % (bytes.length + 1);
        const r = new FrameReader(collector().handler, 0);
        expect(
          codeOf(() => {
            r.push(bytes.subarray(0, at));
            r.push(bytes.subarray(at));
          }),
        ).toBe(501);
      }),
      { numRuns: 100 },
    );
  });

  it('an unknown frame type is 501', () => {
    for (const type of [0, 4, 5, 9, 65, 255]) {
      const r = new FrameReader(collector().handler, 0);
      expect(codeOf(() => r.push(frameBytes(type, 0, Buffer.from([1, 2]))))).toBe(501);
    }
  });
});
