// A delivery that throws costs that one message (dead-lettered as rejected, logged and counted by
// the host), never the dispatch loop: the messages behind it are still delivered, and nothing
// escapes dispatch (it also runs from setImmediate, where a throw would end the process).

import { describe, expect, it } from 'vitest';
import type { Queue, QueueEntry, QueueHost } from '../../src/broker/queue/queue.js';
import { Consumer, type ConsumerOwner } from '../../src/broker/consumer.js';
import type { DeadLetterReason } from '../../src/broker/queue/dead-letter.js';
import { message, newQueue, queueHost } from './queue/queue-fixture.js';

function host(log: { deadLettered: [string, DeadLetterReason][]; failed: string[] }): QueueHost {
  return queueHost({
    deadLetter: (_q: Queue, e: QueueEntry, reason: DeadLetterReason) => void log.deadLettered.push([e.message.bodyBuffer().toString(), reason]),
    deliveryFailed: (_q: Queue, e: QueueEntry, err: unknown) => void log.failed.push(`${e.message.bodyBuffer().toString()}: ${(err as Error).message}`),
  });
}

describe('queue dispatch when a delivery throws', () => {
  it('dead-letters only the message that failed (reason rejected), reports it, and goes on delivering', () => {
    const log = { deadLettered: [] as [string, DeadLetterReason][], failed: [] as string[] };
    const q = newQueue(host(log));
    const delivered: string[] = [];
    const owner: ConsumerOwner = {
      hasCapacity: () => true,
      deliver: (_c, e) => {
        const body = e.message.bodyBuffer().toString();
        if (body === 'poison') throw new RangeError('cannot encode');
        delivered.push(body);
      },
      cancelledByBroker: () => undefined,
    };
    for (const b of ['a', 'poison', 'b']) q.enqueue(message(b), undefined);
    expect(() => q.addConsumer(new Consumer('c', q, owner, { noAck: true, exclusive: false, args: {}, prefetch: 0, priority: 0 }))).not.toThrow();
    expect(delivered).toEqual(['a', 'b']);
    expect(log.failed).toEqual(['poison: cannot encode']);
    expect(log.deadLettered).toEqual([['poison', 'rejected']]);
    expect(q.depth).toBe(0);
  });
});
