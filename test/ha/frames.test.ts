import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeDelete, encodeMark, encodeSegment, encodeVhostDelete, FRAME_VERSION, FrameType, PAYLOAD_HEADROOM, segmentToken, splitAccess, splitDefs, splitSegment } from '../../src/ha/frames.js';
import { crc32 } from '../../src/util/crc32.js';

describe('replication frames', () => {
  it('round-trip every type', () => {
    const seg = decodeFrame(encodeSegment('vhosts/ab/messages/000000000007.seg', 2 ** 40 + 3, Buffer.from('bytes')));
    expect(seg).toMatchObject({ type: FrameType.Segment, file: 'vhosts/ab/messages/000000000007.seg', position: 2 ** 40 + 3 });
    expect(seg.type === FrameType.Segment && Buffer.from(seg.bytes).toString()).toBe('bytes');
    expect(decodeFrame(encodeDelete(['a.seg', 'b/é.seg']))).toEqual({ type: FrameType.Delete, files: ['a.seg', 'b/é.seg'] });
    const [defsFrame] = splitDefs('vhosts/ab/definitions/definitions.log', 8, Buffer.from('record'), 1 << 20);
    const defs = decodeFrame(defsFrame as Buffer);
    expect(defs).toMatchObject({ type: FrameType.Defs, file: 'vhosts/ab/definitions/definitions.log', position: 8 });
    expect(defs.type === FrameType.Defs && Buffer.from(defs.bytes).toString()).toBe('record');
    expect(decodeFrame(encodeVhostDelete('vhosts/ab'))).toEqual({ type: FrameType.VhostDelete, dir: 'vhosts/ab' });
    const [accessFrame] = splitAccess(Buffer.from('snapshot'), 1 << 20);
    const access = decodeFrame(accessFrame as Buffer);
    expect(access).toMatchObject({ type: FrameType.Access, total: 8, offset: 0, crc: crc32(Buffer.from('snapshot')) });
    expect(access.type === FrameType.Access && Buffer.from(access.bytes).toString()).toBe('snapshot');
    expect(decodeFrame(encodeMark(FrameType.Barrier, 7, 1234.5, 'node-b'))).toEqual({ type: FrameType.Barrier, epoch: 7, time: 1234.5, node: 'node-b' });
    expect(decodeFrame(encodeMark(FrameType.Heartbeat, 2 ** 32 - 1, 0, ''))).toEqual({ type: FrameType.Heartbeat, epoch: 2 ** 32 - 1, time: 0, node: '' });
  });

  it('refuse malformed frames and other frame versions', () => {
    expect(FRAME_VERSION).toBe(2);
    // Version 1 DEFS frames carried no position: a follower must not apply them.
    expect(() => decodeFrame(Buffer.from([1, FrameType.Defs, 0, 0]))).toThrow(/version 1, this warren reads version 2 only/);
    expect(() => decodeFrame(Buffer.from([3, 1]))).toThrow(/version 3/);
    expect(() => decodeFrame(Buffer.from([2, 99]))).toThrow(/unknown type 99/);
    const bad = Buffer.from(splitAccess(Buffer.from('abc'), 1 << 20)[0] as Buffer);
    bad.writeUInt32BE(2, 2);
    expect(() => decodeFrame(bad)).toThrow(/beyond its snapshot/);
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

  it('split an access snapshot below max_payload minus the headroom, every part naming the whole', () => {
    const max = 4096;
    const snapshot = Buffer.alloc(9_000);
    for (let i = 0; i < snapshot.length; i++) snapshot[i] = (i * 13) % 256;
    const frames = splitAccess(snapshot, max);
    expect(frames.length).toBe(3);
    const parts: Buffer[] = [];
    for (const f of frames) {
      expect(f.length).toBeLessThanOrEqual(max - PAYLOAD_HEADROOM);
      const d = decodeFrame(f);
      if (d.type !== FrameType.Access) throw new Error('type');
      expect([d.total, d.crc, d.offset]).toEqual([snapshot.length, crc32(snapshot), parts.reduce((n, p) => n + p.length, 0)]);
      parts.push(Buffer.from(d.bytes));
    }
    expect(Buffer.concat(parts).equals(snapshot)).toBe(true);
    expect(() => splitAccess(snapshot, PAYLOAD_HEADROOM)).toThrow(/no room/);
  });

  it('turn file paths into valid subject tokens', () => {
    expect(segmentToken('vhosts/ab12/messages/000000000003.seg')).toBe('vhosts_ab12_messages_000000000003_seg');
  });
});
