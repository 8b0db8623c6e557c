// Runs the conformance suite against the segment store in every sync mode and with tiny segments.

import type { SyncMode } from '../../src/store/message-store.js';
import { SegmentStore } from '../../src/store/segment-store.js';
import { messageStoreConformance } from './conformance.js';
import { removeDir, tempDir } from './helpers.js';

const variants: Array<[string, SyncMode, number]> = [
  ['sync always', 'always', 8 * 1024 * 1024],
  ['sync batch', 'batch', 8 * 1024 * 1024],
  ['sync off', 'off', 8 * 1024 * 1024],
  ['sync always, 4 KiB segments', 'always', 4096],
];

for (const [label, sync, segmentSize] of variants) {
  messageStoreConformance(`SegmentStore (${label})`, () => {
    const dir = tempDir('seg');
    const make = (): SegmentStore => new SegmentStore({ dir, sync, segmentSize, batchIntervalMs: 2 });
    return Promise.resolve({ create: make, reopen: make, cleanup: () => removeDir(dir) });
  });
}
