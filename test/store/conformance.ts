// The MessageStore conformance suite: every implementation runs it through its own *.test.ts.

import { afterEach, describe, expect, it } from 'vitest';
import type { MessageStore, RecoveredMessage, StoredMessage } from '../../src/store/message-store.js';
import { recoveredLists } from '../../src/store/recovered-queue.js';

export interface StoreHarness {
  /** A new, unopened store over fresh storage. */
  create(): MessageStore;
  /** For persistent stores: a new, unopened store over the same storage as the last create()/reopen(). */
  reopen: (() => MessageStore) | null;
  cleanup(): Promise<void>;
}

/** Default arrival time of msg(): a fixed epoch-ms value above 2^32, so both u64 halves are exercised. */
export const T0 = 1_700_000_000_123;

export function msg(
  body: string | Buffer,
  routingKey = 'rk',
  exchange = 'ex',
  header?: Buffer,
  enqueuedAt = T0,
): StoredMessage {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  // A plausible basic content header: class 60, weight 0, body size, no properties.
  const h = header ?? Buffer.alloc(14);
  if (header === undefined) {
    h.writeUInt16BE(60, 0);
    h.writeBigUInt64BE(BigInt(b.length), 4);
  }
  return { exchange, routingKey, header: h, body: b, enqueuedAt };
}

export function durable(store: MessageStore): Promise<void> {
  return new Promise((resolve, reject) => store.whenDurable((err) => (err ? reject(err) : resolve())));
}

function bodies(store: MessageStore, queue: string, list: RecoveredMessage[] | undefined): string[] {
  return (list ?? []).map((m) => store.read(queue, m.seq).body.toString());
}

export function messageStoreConformance(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`MessageStore conformance: ${name}`, () => {
    let h: StoreHarness | null = null;
    const open: MessageStore[] = [];

    async function start(): Promise<MessageStore> {
      h = await makeHarness();
      const s = h.create();
      open.push(s);
      await s.open();
      return s;
    }

    async function restart(s: MessageStore): Promise<[MessageStore, Map<string, RecoveredMessage[]>]> {
      await s.close();
      const harness = h;
      if (harness === null || harness.reopen === null) throw new Error('not persistent');
      const s2 = harness.reopen();
      open.push(s2);
      return [s2, recoveredLists(await s2.open())];
    }

    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
      await h?.cleanup();
      h = null;
    });

    it('opens empty', async () => {
      h = await makeHarness();
      const s = h.create();
      open.push(s);
      expect((await s.open()).size).toBe(0);
      expect(s.stats().messages).toBe(0);
    });

    it('refuses use before open and a second open', async () => {
      h = await makeHarness();
      const s = h.create();
      open.push(s);
      expect(() => s.append('q', msg('x'))).toThrow();
      await s.open();
      await expect(s.open()).rejects.toThrow();
    });

    it('append returns increasing seqs and read returns the exact bytes, before and after durability', async () => {
      const s = await start();
      const header = Buffer.from([0, 60, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0x80, 0, 9]);
      const a = s.append('q', msg('hello', 'key.a', 'amq.topic', header));
      const b = s.append('q', msg(''));
      expect(b).toBeGreaterThan(a);
      const check = (): void => {
        const m = s.read('q', a);
        expect(m.exchange).toBe('amq.topic');
        expect(m.routingKey).toBe('key.a');
        expect(Buffer.compare(m.header, header)).toBe(0);
        expect(m.body.toString()).toBe('hello');
        expect(s.read('q', b).body.length).toBe(0);
      };
      check();
      await durable(s);
      check();
      expect(s.messageCount('q')).toBe(2);
    });

    it('read returns enqueuedAt and readBody the body, before and after durability', async () => {
      const s = await start();
      const times = [0, 1, T0, 2 ** 32, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER];
      const seqs = times.map((t, i) => s.append('q', msg(`b${i}`, 'rk', 'ex', undefined, t)));
      const check = (): void => {
        seqs.forEach((seq, i) => {
          expect(s.read('q', seq).enqueuedAt).toBe(times[i]);
          expect(s.readBody('q', seq).toString()).toBe(`b${i}`);
        });
      };
      check();
      await durable(s);
      check();
      const empty = s.append('q', msg(''));
      await durable(s);
      expect(s.readBody('q', empty).length).toBe(0);
    });

    it('readBody of a large body written from the caller buffer, and errors like read', async () => {
      const s = await start();
      const big = Buffer.alloc(200_000);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
      const seq = s.append('q', msg(big));
      expect(s.readBody('q', seq).equals(big)).toBe(true);
      await durable(s);
      expect(s.readBody('q', seq).equals(big)).toBe(true);
      expect(() => s.readBody('other', seq)).toThrow();
      expect(() => s.readBody('q', seq + 1000)).toThrow();
      s.ack('q', seq);
      expect(() => s.readBody('q', seq)).toThrow();
    });

    it('rejects an enqueuedAt the record cannot carry exactly, and stays usable', async () => {
      const s = await start();
      for (const t of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
        expect(() => s.append('q', msg('x', 'rk', 'ex', undefined, t))).toThrow(RangeError);
      }
      expect(s.messageCount('q')).toBe(0);
      const seq = s.append('q', msg('ok'));
      await durable(s);
      expect(s.read('q', seq).enqueuedAt).toBe(T0);
      expect(s.stats().messages).toBe(1);
    });

    it('keeps large bodies, unicode names and 255-byte names intact', async () => {
      const s = await start();
      const big = Buffer.alloc(3 * 1024 * 1024 + 7);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
      const q = 'ü'.repeat(127); // 254 bytes
      const ex = 'é'.repeat(127) + 'x'; // 255 bytes
      const seq = s.append(q, msg(big, '€'.repeat(85), ex));
      await durable(s);
      const m = s.read(q, seq);
      expect(Buffer.compare(m.body, big)).toBe(0);
      expect(m.exchange).toBe(ex);
      expect(m.routingKey).toBe('€'.repeat(85));
    });

    it('rejects names over 255 bytes and stays usable', async () => {
      const s = await start();
      expect(() => s.append('q'.repeat(256), msg('x'))).toThrow(RangeError);
      expect(() => s.append('q', msg('x', 'r'.repeat(256)))).toThrow(RangeError);
      expect(() => s.append('q', msg('x', 'r', 'é'.repeat(128)))).toThrow(RangeError);
      const seq = s.append('q', msg('ok'));
      await durable(s);
      expect(s.read('q', seq).body.toString()).toBe('ok');
      expect(s.messageCount('q')).toBe(1);
    });

    it('ack removes a message; unknown acks return false', async () => {
      const s = await start();
      const a = s.append('q', msg('a'));
      const b = s.append('q', msg('b'));
      expect(s.ack('q', a)).toBe(true);
      expect(s.ack('q', a)).toBe(false);
      expect(s.ack('other', b)).toBe(false);
      expect(s.ack('q', 999_999)).toBe(false);
      expect(() => s.read('q', a)).toThrow();
      expect(s.messageCount('q')).toBe(1);
      const st = s.stats();
      expect(st.acked).toBe(1);
      expect(st.unknownPositions).toBe(3);
      expect(st.messages).toBe(1);
      expect(st.messageBytes).toBe(14 + 1);
    });

    it('purge and deleteQueue remove only that queue and return the count', async () => {
      const s = await start();
      for (let i = 0; i < 5; i++) s.append('a', msg(`a${i}`));
      for (let i = 0; i < 3; i++) s.append('b', msg(`b${i}`));
      s.ack('a', 1);
      expect(s.purge('a')).toBe(4);
      expect(s.purge('a')).toBe(0);
      expect(s.messageCount('a')).toBe(0);
      const after = s.append('a', msg('new'));
      expect(s.read('a', after).body.toString()).toBe('new');
      expect(s.deleteQueue('b')).toBe(3);
      expect(s.deleteQueue('nope')).toBe(0);
      expect(s.stats().messages).toBe(1);
    });

    it('a deep queue under out-of-order acks, deliveries and reads while publishing continues', async () => {
      const s = await start();
      const live = new Map<number, string>();
      let rnd = 4242;
      const next = (): number => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff);
      for (let round = 0; round < 6; round++) {
        for (let i = 0; i < 5000; i++) {
          const body = `r${round}m${i}`;
          live.set(s.append('deep', msg(body)), body);
        }
        // Let the writer start on this batch, then keep publishing and reading while it writes.
        await new Promise((r) => setImmediate(r));
        for (let i = 0; i < 300; i++) {
          const body = `r${round}x${i}`;
          live.set(s.append('deep', msg(body)), body);
        }
        const seqs = [...live.keys()];
        for (let k = 0; k < 2000; k++) {
          const seq = seqs[next() % seqs.length] as number;
          if (!live.has(seq)) continue;
          const op = next() % 4;
          if (op === 0) {
            expect(s.ack('deep', seq)).toBe(true);
            live.delete(seq);
          } else if (op === 1) {
            s.markDelivered('deep', seq);
          } else {
            expect(s.readBody('deep', seq).toString()).toBe(live.get(seq));
          }
        }
        await durable(s);
        expect(s.messageCount('deep')).toBe(live.size);
      }
      for (const [seq, body] of live) expect(s.read('deep', seq).body.toString()).toBe(body);
      let bytes = 0;
      for (const body of live.values()) bytes += 14 + Buffer.byteLength(body);
      expect(s.stats().messageBytes).toBe(bytes);
    });

    it('whenDurable callbacks run asynchronously, in call order', async () => {
      const s = await start();
      const order: number[] = [];
      s.append('q', msg('1'));
      s.whenDurable(() => order.push(1));
      s.append('q', msg('2'));
      s.whenDurable(() => order.push(2));
      s.whenDurable(() => order.push(3));
      expect(order).toEqual([]);
      await durable(s);
      expect(order).toEqual([1, 2, 3]);
    });

    it('group commit: many confirms share few syncs', async () => {
      const s = await start();
      const before = s.stats().syncs;
      const n = 2000;
      let done = 0;
      await new Promise<void>((resolve, reject) => {
        for (let i = 0; i < n; i++) {
          s.append('q', msg(`m${i}`));
          s.whenDurable((err) => {
            if (err) reject(err);
            else if (++done === n) resolve();
          });
        }
      });
      expect(s.stats().syncs - before).toBeLessThan(n / 10);
    });

    it('close finishes pending callbacks; use after close throws', async () => {
      const s = await start();
      s.append('q', msg('x'));
      let called = false;
      s.whenDurable(() => (called = true));
      await s.close();
      expect(called).toBe(true);
      expect(() => s.append('q', msg('y'))).toThrow();
    });

    describe('persistence', () => {
      it('reopen returns surviving messages per queue, in order, readable', async () => {
        const s = await start();
        if (h?.reopen === null) return;
        const seqs: number[] = [];
        for (let i = 0; i < 50; i++) seqs.push(s.append(i % 2 ? 'odd' : 'even', msg(`m${i}`)));
        for (let i = 0; i < 50; i += 5) s.ack(i % 2 ? 'odd' : 'even', seqs[i] as number);
        await durable(s);
        const [s2, rec] = await restart(s);
        const even = bodies(s2, 'even', rec.get('even'));
        const odd = bodies(s2, 'odd', rec.get('odd'));
        expect(even).toEqual([...Array(50).keys()].filter((i) => i % 2 === 0 && i % 5 !== 0).map((i) => `m${i}`));
        expect(odd).toEqual([...Array(50).keys()].filter((i) => i % 2 === 1 && i % 5 !== 0).map((i) => `m${i}`));
        expect(s2.stats().messages).toBe(40);
        expect(s2.stats().recoveredMessages).toBe(40);
        expect(s2.messageCount('even')).toBe(20);
      });

      it('delivered marks come back as redelivered with a count', async () => {
        const s = await start();
        if (h?.reopen === null) return;
        const a = s.append('q', msg('a'));
        const b = s.append('q', msg('b'));
        s.markDelivered('q', a);
        s.markDelivered('q', a);
        s.markDelivered('q', 12345); // unknown: ignored
        await durable(s);
        const [, rec] = await restart(s);
        const list = rec.get('q') ?? [];
        expect(list.map((m) => [m.seq, m.redelivered, m.deliveryCount])).toEqual([
          [a, true, 2],
          [b, false, 0],
        ]);
        expect(list[0]?.size).toBe(15);
      });

      it('recovered messages carry enqueuedAt, exchange, routing key and header; bodies come from readBody', async () => {
        const s = await start();
        if (h?.reopen === null) return;
        const sent: Array<[string, StoredMessage]> = [];
        for (let i = 0; i < 30; i++) {
          const header = Buffer.alloc(14 + (i % 5));
          header.writeUInt16BE(60, 0);
          header.fill(i, 14);
          const q = i % 3 === 0 ? 'a' : 'b';
          const m = msg(`body-${i}`.repeat(i), `rk.${i}`, i % 2 ? 'amq.direct' : 'é', header, T0 + i * 1000);
          sent.push([q, m]);
          s.append(q, m);
        }
        await durable(s);
        const [s2, rec] = await restart(s);
        for (const q of ['a', 'b']) {
          const want = sent.filter(([wq]) => wq === q).map(([, m]) => m);
          const got = rec.get(q) ?? [];
          expect(got.length).toBe(want.length);
          got.forEach((r, i) => {
            const m = want[i] as StoredMessage;
            expect(r.enqueuedAt).toBe(m.enqueuedAt);
            expect(r.exchange).toBe(m.exchange);
            expect(r.routingKey).toBe(m.routingKey);
            expect(r.header.equals(m.header)).toBe(true);
            expect(r.size).toBe(m.header.length + m.body.length);
            expect(s2.readBody(q, r.seq).equals(m.body)).toBe(true);
            const full = s2.read(q, r.seq);
            expect(full.enqueuedAt).toBe(m.enqueuedAt);
            expect(full.header.equals(m.header)).toBe(true);
          });
        }
      });

      it('purge and deleteQueue survive a restart; the queue can be used again', async () => {
        const s = await start();
        if (h?.reopen === null) return;
        for (let i = 0; i < 10; i++) s.append('p', msg(`p${i}`));
        for (let i = 0; i < 10; i++) s.append('d', msg(`d${i}`));
        s.purge('p');
        s.deleteQueue('d');
        s.append('p', msg('after'));
        await durable(s);
        const [s2, rec] = await restart(s);
        expect(bodies(s2, 'p', rec.get('p'))).toEqual(['after']);
        expect(rec.has('d')).toBe(false);
      });

      it('seqs are never reused across restarts, even when everything was acked', async () => {
        const s = await start();
        if (h?.reopen === null) return;
        let last = 0;
        for (let i = 0; i < 10; i++) last = s.append('q', msg(`${i}`));
        for (let i = 1; i <= last; i++) s.ack('q', i);
        await durable(s);
        const [s2, rec] = await restart(s);
        expect(rec.size).toBe(0);
        expect(s2.append('q', msg('x'))).toBeGreaterThan(last);
        const [s3] = await restart(s2);
        expect(s3.append('q', msg('y'))).toBeGreaterThan(last + 1);
      });

      it('messages acked after a restart stay acked', async () => {
        const s = await start();
        if (h?.reopen === null) return;
        const seqs = [1, 2, 3].map((i) => s.append('q', msg(`${i}`)));
        await durable(s);
        const [s2] = await restart(s);
        expect(s2.ack('q', seqs[1] as number)).toBe(true);
        await durable(s2);
        const [s3, rec] = await restart(s2);
        expect(bodies(s3, 'q', rec.get('q'))).toEqual(['1', '3']);
      });
    });
  });
}
