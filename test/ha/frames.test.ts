import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeDefs, encodeDelete, encodeMark, encodeSegment, FrameType, PAYLOAD_HEADROOM, segmentToken, splitSegment } from '../../src/ha/frames.js';

describe('replication frames', () => {
  it('round-trip every type', () => {
    const seg = decodeFrame(encodeSegment('vhosts/ab/messages/000000000007.seg', 2 ** 40 + 3, Buffer.from('bytes')));
    expect(seg).toMatchObject({ type: FrameType.Segment, file: 'vhosts/ab/messages/000000000007.seg', position: 2 ** 40 + 3 });
    expect(seg.type === FrameType.Segment && Buffer.from(seg.bytes).toString()).toBe('bytes');
    expect(decodeFrame(encodeDelete(['a.seg', 'b/é.seg']))).toEqual({ type: FrameType.Delete, files: ['a.seg', 'b/é.seg'] });
    const defs = decodeFrame(encodeDefs('vhosts/ab', Buffer.from('{"op":"putVhost"}')));
    expect(defs.type === FrameType.Defs && [defs.dir, Buffer.from(defs.op).toString()]).toEqual(['vhosts/ab', '{"op":"putVhost"}']);
    expect(decodeFrame(encodeMark(FrameType.Barrier, 7, 1234.5, 'node-b'))).toEqual({ type: FrameType.Barrier, epoch: 7, time: 1234.5, node: 'node-b' });
    expect(decodeFrame(encodeMark(FrameType.Heartbeat, 2 ** 32 - 1, 0, ''))).toEqual({ type: FrameType.Heartbeat, epoch: 2 ** 32 - 1, time: 0, node: '' });
  });

  it('refuse malformed frames', () => {
    expect(() => decodeFrame(Buffer.from([2, 1]))).toThrow(/version 2/);
    expect(() => decodeFrame(Buffer.from([1, 99]))).toThrow(/unknown type 99/);
    const seg = encodeSegment('file', 0, Buffer.from('x'));
    expect(() => decodeFrame(seg.subarray(0, 8))).toThrow(/truncated/);
    expect(() => decodeFrame(encodeDelete(['abc']).subarray(0, 6))).toThrow(/truncated/);
    expect(() => encodeSegment('f', -1, Buffer.alloc(0))).toThrow(/position/);
  });

  it('split segment bytes below max_payload minus the headroom, contiguous and complete', () => {
    const max = 4096;
    const bytes = Buffer.alloc(10_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 256;
    const frames = splitSegment('vhosts/x/messages/000000000001.seg', 500, bytes, max);
    expect(frames.length).toBeGreaterThan(3);
    let pos = 500;
    const parts: Buffer[] = [];
    for (const f of frames) {
      expect(f.length).toBeLessThanOrEqual(max - PAYLOAD_HEADROOM);
      const d = decodeFrame(f);
      if (d.type !== FrameType.Segment) throw new Error('type');
      expect(d.position).toBe(pos);
      pos += d.bytes.length;
      parts.push(Buffer.from(d.bytes));
    }
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
    // An empty write still yields one frame (a segment header-only file is still a file).
    expect(splitSegment('f', 0, Buffer.alloc(0), max).length).toBe(1);
  });

  it('turn file paths into valid subject tokens', () => {
    expect(segmentToken('vhosts/ab12/messages/000000000003.seg')).toBe('vhosts_ab12_messages_000000000003_seg');
  });
});
