// warren's message move (beyond RabbitMQ, whose UI needs a shovel for it): ready messages leave a
// queue, from the head, for another queue of the same vhost; by default each dead-lettered message
// goes back to the queue it died in (the newest x-death entry), x-death kept.
//
// Per message it is atomic across a crash. A batch is taken from the source (in flight, like
// unacked deliveries), copied into its targets and written to the store; only once a group commit
// covers the copies are the originals acked. A crash before that commit keeps the originals (the
// copies, never confirmed, may survive too); so each copy of a message that was on disk carries
// MOVED_HEADER naming the original, and recovery (move-recovery.ts) drops an original whose copy
// survived. Neither lost nor duplicated.

import { stringValue, type FieldTable, type FieldValue } from '../../protocol/field-table.js';
import { Message } from '../message.js';
import { parseExpiration } from '../queue/arguments.js';
import type { Queue, QueueEntry } from '../queue/queue.js';
import type { VHost } from '../vhost.js';

/** Header on a moved copy: `{queue, seq}` of the original in the store. */
export const MOVED_HEADER = 'x-warren-moved-from';

/** Messages moved per group commit: bounds the work of one turn and the bodies held in memory. */
const BATCH = 1024;

export interface MoveRequest {
  /** Target queue; absent: each message's dead-letter origin. */
  target?: string | undefined;
  /** Most messages to move; absent: all. */
  count?: number | undefined;
  /** Whether the caller may write to a target queue (its AMQP permission); a refusal stops the move there. */
  mayWrite?: ((queue: string) => boolean) | undefined;
  /** Told the running total after each batch is settled (progress for long moves). */
  onProgress?: ((moved: number) => void) | undefined;
}

export interface MoveReport {
  moved: number;
  /** Why the move stopped before the queue was empty or `count` reached (the head message stays). */
  stopped: string | null;
}

/** The queue a dead-lettered message died in most recently (x-death is newest first). */
export function deathQueue(m: Message): string | undefined {
  if (!m.hasHeaders) return undefined;
  let deaths: FieldValue | undefined;
  try {
    deaths = new Message(m.exchange, m.routingKey, m.header, [], m.bodySize).properties.headers?.['x-death'];
  } catch {
    return undefined; // properties that cannot be decoded have no x-death to read
  }
  if (!Array.isArray(deaths) || deaths.length === 0) return undefined;
  const first = deaths[0] as FieldValue;
  if (typeof first !== 'object' || first === null || Array.isArray(first) || Buffer.isBuffer(first)) return undefined;
  return stringValue((first as FieldTable)['queue']);
}

/** A copy for the target queue, marked with its original's store position when it has one. */
export function movedCopy(e: QueueEntry, source: string): Message {
  const m = e.message;
  const copy = new Message(m.exchange, m.routingKey, m.header, [m.bodyBuffer()], m.bodySize);
  if (e.storeSeq < 0) return copy;
  const props = new Message(m.exchange, m.routingKey, m.header, [], m.bodySize).properties;
  copy.setProperties({ ...props, headers: { ...(props.headers ?? {}), [MOVED_HEADER]: { queue: source, seq: e.storeSeq } } });
  copy.forgetProperties();
  return copy;
}

function ttlOf(m: Message): number | undefined {
  return m.hasExpiration ? parseExpiration(m.properties.expiration ?? '') : undefined;
}

interface Moving {
  entry: QueueEntry;
  target: Queue;
}

/** Move messages out of `source` (see the file comment). `owner` stands for the connection (exclusive queues). */
export async function moveMessages(vhost: VHost, source: string, req: MoveRequest, owner: object): Promise<MoveReport> {
  const src = vhost.getQueue(source, owner);
  if (req.target !== undefined) {
    if (req.target === source) return { moved: 0, stopped: 'target is the source queue' };
    vhost.getQueue(req.target, owner); // 404 before anything moves
  }
  const limit = req.count ?? Infinity;
  let moved = 0;
  let stopped: string | null = null;
  while (moved < limit && stopped === null && !src.deleted) {
    const batch: Moving[] = [];
    while (batch.length < BATCH && moved + batch.length < limit) {
      const e = src.take();
      if (e === undefined) break;
      const name = req.target ?? deathQueue(e.message);
      const target = name === undefined ? undefined : vhost.queues.get(name);
      const why =
        name === undefined ? 'message has no x-death to move it back by'
        : target === undefined ? `no queue '${name}' in vhost '${vhost.name}'`
        : target === src ? 'message died in this queue'
        : target.exclusive && target.owner !== owner ? `queue '${name}' is exclusive`
        : req.mayWrite !== undefined && !req.mayWrite(name) ? `write access to queue '${name}' refused`
        : null;
      if (why !== null || target === undefined) {
        src.putBack([e]);
        stopped = why;
        break;
      }
      let result;
      try {
        result = target.enqueue(movedCopy(e, source), ttlOf(e.message));
      } catch (err) {
        src.putBack([e]);
        stopped = err instanceof Error ? err.message : String(err);
        break;
      }
      if (result === 'rejected') {
        src.putBack([e]);
        stopped = `queue '${target.name}' is full`;
        break;
      }
      batch.push({ entry: e, target });
    }
    if (batch.length === 0) break;
    const store = vhost.store;
    if (store !== null) {
      const err = await new Promise<Error | null>((resolve) => store.whenMessagesDurable(resolve));
      if (err !== null) {
        // The copies may not be on disk: the originals stay (recovery settles any that are).
        src.putBack(batch.map((b) => b.entry));
        throw err;
      }
    }
    // A target deleted meanwhile took its copies along: those originals stay.
    const back: QueueEntry[] = [];
    for (const b of batch) {
      if (b.target.deleted) back.push(b.entry);
      else {
        src.settle(b.entry);
        moved++;
      }
    }
    if (back.length > 0) {
      src.putBack(back);
      stopped = 'target queue deleted during the move';
    }
    req.onProgress?.(moved);
  }
  // The originals' acks are on disk before the reply (recovery would settle them anyway; this keeps the log tidy).
  const store = vhost.store;
  if (store !== null && moved > 0) await new Promise<Error | null>((resolve) => store.whenMessagesDurable(resolve));
  return { moved, stopped };
}
