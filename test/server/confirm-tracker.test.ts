// The confirm tracker on its own: sequence numbers, acks coalesced per read batch, waits for the
// store's fsynced watermark (one group commit shared by many publishes and channels), nacks for
// refused publishes and after a store failure. The store is a MessageDurability whose group
// commits the test completes by hand.

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MessageDurability } from '../../src/broker/publish/durability.js';
import { PublishResult } from '../../src/broker/publish/publish-result.js';
import type { DurableCallback } from '../../src/store/message-store.js';
import * as M from '../../src/protocol/generated/amqp.js';
import { ConfirmTracker } from '../../src/server/confirm-tracker.js';

/** A store whose group commits complete when the test says so. */
class FakeStore {
  readonly syncs: DurableCallback[] = [];
  readonly durability = new MessageDurability((cb) => this.syncs.push(cb));

  /** A publish that appended `n` times (0: nothing written). */
  publish(n = 1, rejected = false): PublishResult {
    const r = new PublishResult();
    r.routed = 1;
    r.rejected = rejected;
    for (let i = 0; i < n; i++) {
      r.durability = this.durability;
      r.durableMark = this.durability.appended();
    }
    return r;
  }

  /** Complete the oldest pending group commit. */
  commit(err: Error | null = null): void {
    const cb = this.syncs.shift();
    if (cb === undefined) throw new Error('no group commit pending');
    cb(err);
  }
}

function transient(rejected = false): PublishResult {
  const r = new PublishResult();
  r.routed = 1;
  r.rejected = rejected;
  return r;
}

type Confirm = ['ack' | 'nack', number, boolean];

function tracker(): { t: ConfirmTracker; sent: Confirm[]; pending: Set<ConfirmTracker> } {
  const sent: Confirm[] = [];
  const pending = new Set<ConfirmTracker>();
  const out = {
    send(m: M.Method): void {
      if (m.id === M.BASIC_ACK) sent.push(['ack', m.deliveryTag, m.multiple]);
      else if (m.id === M.BASIC_NACK) sent.push(['nack', m.deliveryTag, m.multiple]);
      else throw new Error(`unexpected method ${m.id}`);
    },
  };
  const t = new ConfirmTracker(out, { markConfirmsPending: (x) => pending.add(x) }, pino({ level: 'silent' }));
  return { t, sent, pending };
}

describe('ConfirmTracker', () => {
  it('publishes that need no disk are acked at the end of the read batch, coalesced with multiple', () => {
    const { t, sent, pending } = tracker();
    t.published(transient());
    expect(pending.has(t)).toBe(true);
    t.flush();
    expect(sent).toEqual([['ack', 1, false]]);
    t.published(transient());
    t.published(transient());
    t.published(transient());
    expect(sent).toHaveLength(1); // nothing before the batch ends
    t.flush();
    expect(sent).toEqual([['ack', 1, false], ['ack', 4, true]]);
  });

  it('a publish written to the store waits for the group commit, and later ones queue behind it', () => {
    const store = new FakeStore();
    const { t, sent } = tracker();
    t.published(transient());
    t.published(store.publish());
    t.published(transient());
    t.flush();
    expect(sent).toEqual([['ack', 1, false]]);
    expect(store.syncs).toHaveLength(1);
    store.commit();
    expect(sent).toEqual([['ack', 1, false], ['ack', 3, true]]);
    // With nothing waiting any more, the next transient publish is acked at the batch end.
    t.published(transient());
    t.flush();
    expect(sent.at(-1)).toEqual(['ack', 4, false]);
  });

  it('one group commit per batch however many publishes; confirms advance batch by batch under continuous load', () => {
    const store = new FakeStore();
    const { t, sent } = tracker();
    for (let i = 0; i < 100; i++) t.published(store.publish());
    t.flush();
    expect(store.syncs).toHaveLength(1);
    // The next batch arrives while the first commit is running: it needs a commit of its own.
    for (let i = 0; i < 50; i++) t.published(store.publish());
    t.flush();
    expect(store.syncs).toHaveLength(2);
    store.commit();
    expect(sent).toEqual([['ack', 100, true]]);
    store.commit();
    expect(sent).toEqual([['ack', 100, true], ['ack', 150, true]]);
  });

  it('channels share a group commit that already covers their marks', () => {
    const store = new FakeStore();
    const a = tracker();
    const b = tracker();
    a.t.published(store.publish());
    b.t.published(store.publish());
    a.t.flush(); // asks for a commit covering marks 1 and 2
    b.t.flush(); // mark 2 is covered by that request: no second commit
    expect(store.syncs).toHaveLength(1);
    store.commit();
    expect(a.sent).toEqual([['ack', 1, false]]);
    expect(b.sent).toEqual([['ack', 1, false]]);
  });

  it('a mark already on disk when the batch ends is acked without waiting', () => {
    const store = new FakeStore();
    const a = tracker();
    const b = tracker();
    a.t.published(store.publish());
    a.t.flush();
    b.t.published(transient());
    // b's transient publish is not behind anything of b's: acked at once.
    b.t.flush();
    expect(b.sent).toEqual([['ack', 1, false]]);
    store.commit();
    expect(a.sent).toEqual([['ack', 1, false]]);
    expect(store.syncs).toHaveLength(0);
  });

  it('refused publishes (x-overflow reject-publish) are nacked in sequence with the acks around them', () => {
    const { t, sent } = tracker();
    t.published(transient());
    t.published(transient());
    t.published(transient(true));
    t.published(transient());
    t.published(transient(true));
    t.flush();
    expect(sent).toEqual([
      ['ack', 2, true],
      ['nack', 3, false],
      ['ack', 4, false],
      ['nack', 5, false],
    ]);
  });

  it('when the store fails, publishes waiting for it are nacked; those already durable stay acked', () => {
    const store = new FakeStore();
    const { t, sent } = tracker();
    t.published(store.publish());
    t.flush();
    t.published(store.publish());
    t.published(transient());
    t.flush();
    store.commit(); // covers seq 1
    expect(sent).toEqual([['ack', 1, false]]);
    store.commit(new Error('ENOSPC'));
    expect(sent).toEqual([['ack', 1, false], ['nack', 2, false], ['nack', 3, false]]);
    // Later waits are nacked at once: nothing more reaches the disk.
    t.published(store.publish());
    t.flush();
    expect(sent.at(-1)).toEqual(['nack', 4, false]);
  });

  it('a closed tracker sends nothing and the store forgets it', () => {
    const store = new FakeStore();
    const { t, sent } = tracker();
    t.published(store.publish());
    t.flush();
    t.close();
    store.commit();
    t.flush();
    expect(sent).toEqual([]);
  });
});
