// Runs the conformance suite against the in-memory store.

import { MemoryStore } from '../../src/store/memory-store.js';
import { messageStoreConformance } from './conformance.js';

messageStoreConformance('MemoryStore', () =>
  Promise.resolve({
    create: () => new MemoryStore(),
    reopen: null,
    cleanup: () => Promise.resolve(),
  }),
);
