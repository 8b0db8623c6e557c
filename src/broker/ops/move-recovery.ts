// Recovery's half of the message move (move.ts): an original whose marked copy survived a crash
// is dropped, so a move interrupted between the copy's group commit and the original's ack
// neither loses nor duplicates the message.

import type { RecoveredMessage } from '../../store/message-store.js';
import { numberValue, stringValue, type FieldTable } from '../../protocol/field-table.js';
import { Message } from '../message.js';
import { MOVED_HEADER } from './move.js';

const MARKER = Buffer.from(MOVED_HEADER);

/**
 * Store positions of originals that a surviving copy replaces, by queue. Reads only headers that
 * contain the marker's bytes (one byte search per recovered message).
 */
export function supersededOriginals(recovered: ReadonlyMap<string, readonly RecoveredMessage[]>): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const list of recovered.values()) {
    for (const r of list) {
      if (r.header.indexOf(MARKER) < 0) continue;
      let mark: unknown;
      try {
        mark = new Message(r.exchange, r.routingKey, r.header, [], 0).properties.headers?.[MOVED_HEADER];
      } catch {
        continue;
      }
      if (typeof mark !== 'object' || mark === null || Array.isArray(mark) || Buffer.isBuffer(mark)) continue;
      const queue = stringValue((mark as FieldTable)['queue']);
      const seq = numberValue((mark as FieldTable)['seq']);
      // A copy is appended after its original: a seq not below the copy's is not an original.
      if (queue === undefined || seq === undefined || seq >= r.seq) continue;
      let set = out.get(queue);
      if (set === undefined) out.set(queue, (set = new Set()));
      set.add(seq);
    }
  }
  return out;
}
