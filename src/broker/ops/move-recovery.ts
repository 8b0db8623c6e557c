// Recovery's half of the message move (move.ts): an original whose marked copy survived a crash
// is dropped, so a move interrupted between the copy's group commit and the original's ack
// neither loses nor duplicates the message.

import type { RecoveredQueueMessages } from '../../store/message-store.js';
import { numberValue, stringValue, type FieldTable } from '../../protocol/field-table.js';
import { Message } from '../message.js';
import { MOVED_HEADER } from './move.js';

const MARKER = Buffer.from(MOVED_HEADER);

/** The content header's `headers` property flag (AMQP 0-9-1 4.2.6.1, basic class). */
const HEADERS_FLAG = 0x2000;

/**
 * Store positions of originals that a surviving copy replaces, by queue. Reads only headers that
 * carry a headers table and contain the marker's bytes (no view cut for other messages).
 */
export function supersededOriginals(recovered: ReadonlyMap<string, RecoveredQueueMessages>, restored: (queue: string) => boolean): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  // Seq → index of the queues that markers name, built only for those (markers are rare).
  const indexes = new Map<string, Map<number, number>>();
  const indexOf = (queue: string): Map<number, number> | undefined => {
    let ix = indexes.get(queue);
    const list = recovered.get(queue);
    if (ix === undefined && list !== undefined) {
      ix = new Map();
      for (let j = 0; j < list.length; j++) ix.set(list.seqAt(j), j);
      indexes.set(queue, ix);
    }
    return ix;
  };
  for (const [copyQueue, list] of recovered) {
    // A copy in a queue that is not coming back (deleted, or its definition unreadable) replaces
    // nothing: dropping its original would lose the message.
    if (!restored(copyQueue)) continue;
    for (let i = 0; i < list.length; i++) {
      if ((list.propertyFlagsAt(i) & HEADERS_FLAG) === 0) continue;
      const header = list.headerAt(i);
      if (header.indexOf(MARKER) < 0) continue;
      let mark: unknown;
      try {
        mark = new Message(list.exchangeAt(i), list.routingKeyAt(i), header, [], 0).properties.headers?.[MOVED_HEADER];
      } catch {
        continue;
      }
      if (typeof mark !== 'object' || mark === null || Array.isArray(mark) || Buffer.isBuffer(mark)) continue;
      const queue = stringValue((mark as FieldTable)['queue']);
      const seq = numberValue((mark as FieldTable)['seq']);
      // A copy is appended after its original: a seq not below the copy's is not an original.
      if (queue === undefined || seq === undefined || seq >= list.seqAt(i) || !restored(queue)) continue;
      // The marker is a header a client could also send: only an original with the copy's body
      // size is taken as the one this copy replaces.
      const original = recovered.get(queue);
      const at = indexOf(queue)?.get(seq);
      if (original === undefined || at === undefined || original.bodySizeAt(at) !== list.bodySizeAt(i)) continue;
      let set = out.get(queue);
      if (set === undefined) out.set(queue, (set = new Set()));
      set.add(seq);
    }
  }
  return out;
}
