// Recovery's half of a message move: an original is dropped only when a copy that comes back
// names it and matches it. A forged marker (the header is one a client can send) or a copy in a
// queue that is not restored must never cost a confirmed message.

import { describe, expect, it } from 'vitest';
import { MOVED_HEADER } from '../../../src/broker/ops/move.js';
import { supersededOriginals } from '../../../src/broker/ops/move-recovery.js';
import { encodeContentHeaderPayload } from '../../../src/protocol/frame-writer.js';
import type { RecoveredMessage, RecoveredQueueMessages } from '../../../src/store/message-store.js';

interface Rec {
  seq: number;
  bodySize: number;
  header: Buffer;
}

/** A recovered queue as open() returns it, over plain records. */
function queue(name: string, recs: Rec[]): RecoveredQueueMessages {
  const flags = (h: Buffer): number => (h.length >= 14 ? h.readUInt16BE(12) : 0);
  const q = {
    name,
    length: recs.length,
    seqAt: (i: number) => (recs[i] as Rec).seq,
    sizeAt: (i: number) => (recs[i] as Rec).bodySize + (recs[i] as Rec).header.length,
    bodySizeAt: (i: number) => (recs[i] as Rec).bodySize,
    enqueuedAtAt: () => 0,
    deliveryCountAt: () => 0,
    exchangeAt: () => '',
    routingKeyAt: () => name,
    headerAt: (i: number) => (recs[i] as Rec).header,
    propertyFlagsAt: (i: number) => flags((recs[i] as Rec).header),
    at: (): RecoveredMessage => {
      throw new Error('not used');
    },
    [Symbol.iterator]: function* (): Generator<RecoveredMessage> {
      yield* [];
    },
  };
  return q as unknown as RecoveredQueueMessages;
}

const plain = (bodySize: number): Buffer => encodeContentHeaderPayload(60, bodySize, {});
const marked = (bodySize: number, from: string, seq: number): Buffer => encodeContentHeaderPayload(60, bodySize, { headers: { [MOVED_HEADER]: { queue: from, seq } } });

describe('supersededOriginals', () => {
  const src = queue('dlq', [{ seq: 1, bodySize: 10, header: plain(10) }, { seq: 2, bodySize: 20, header: plain(20) }]);

  it('drops an original whose copy came back in a restored queue with the same body size', () => {
    const target = queue('work', [{ seq: 5, bodySize: 10, header: marked(10, 'dlq', 1) }]);
    const out = supersededOriginals(new Map([['dlq', src], ['work', target]]), () => true);
    expect([...(out.get('dlq') ?? [])]).toEqual([1]);
  });

  it('keeps the original when the copy does not match it (a forged marker)', () => {
    const forged = queue('other', [{ seq: 9, bodySize: 3, header: marked(3, 'dlq', 2) }]);
    const out = supersededOriginals(new Map([['dlq', src], ['other', forged]]), () => true);
    expect(out.size).toBe(0);
  });

  it('keeps the original when the copy\'s queue is not restored', () => {
    const gone = queue('deleted', [{ seq: 5, bodySize: 10, header: marked(10, 'dlq', 1) }]);
    const out = supersededOriginals(new Map([['dlq', src], ['deleted', gone]]), (q) => q !== 'deleted');
    expect(out.size).toBe(0);
  });
});
