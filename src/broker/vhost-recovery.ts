// Recovery at start: the data dir's flat pre-vhost layout is migrated, every vhost directory is
// found, and each vhost's definitions (definitions-replay.ts) and messages are rebuilt from its
// own stores.

import type { Logger } from '../log.js';
import { numberValue } from '../protocol/field-table.js';
import { createVhostDir, listVhostDirs, migrateFlatLayout } from '../store/data-dir.js';
import { replayDefinitions, type ReplayReport } from './definitions-replay.js';
import { hasExpirationFlag, Message } from './message.js';
import { DELAYED_PREFIX, type Persistence } from './persistence.js';
import type { RecoveredQueueMessages } from '../store/message-store.js';
import type { VHost } from './vhost.js';
import { supersededOriginals } from './ops/move-recovery.js';

export interface RecoveryReport {
  /** Vhosts whose stores were opened. */
  vhosts: number;
  /** Policies and operator policies restored. */
  policies: number;
  exchanges: number;
  queues: number;
  bindings: number;
  messages: number;
  delayed: number;
  corruptRecords: number;
  truncatedBytes: number;
  /** Definition records logged and skipped (unreadable arguments, unknown type, missing ends). */
  skippedDefinitions: number;
  /** Stored messages of queues whose definition was skipped: kept on disk, not restored. */
  keptUnrestored: number;
  ms: number;
}

export function emptyReport(): RecoveryReport {
  return { vhosts: 0, policies: 0, exchanges: 0, queues: 0, bindings: 0, messages: 0, delayed: 0, corruptRecords: 0, truncatedBytes: 0, skippedDefinitions: 0, keptUnrestored: 0, ms: 0 };
}

function addInto(total: RecoveryReport, r: RecoveryReport): void {
  for (const k of Object.keys(total) as (keyof RecoveryReport)[]) total[k] += r[k];
}

/** Migrate a flat data dir, then name the vhosts that have a directory. */
export async function vhostsOnDisk(dataDir: string, log: Logger): Promise<string[]> {
  if ((await migrateFlatLayout(dataDir)) === 'migrated') {
    log.info({ dataDir, vhost: '/' }, 'data dir migrated to per-vhost stores');
  }
  const found = await listVhostDirs(dataDir, (dir, why) => log.error({ dir, why }, 'vhost directory without a valid name file, not opened'));
  return found.map((f) => f.name);
}

/**
 * Migrate a flat data dir, then open every vhost directory under `dataDir` (and one for each name
 * in `wanted`, created if missing) through `open`. Returns the sum of the per-vhost reports.
 */
export async function recoverDataDir(
  dataDir: string,
  wanted: Iterable<string>,
  log: Logger,
  open: (name: string, dir: string) => Promise<RecoveryReport>,
): Promise<RecoveryReport> {
  if ((await migrateFlatLayout(dataDir)) === 'migrated') {
    log.info({ dataDir, vhost: '/' }, 'data dir migrated to per-vhost stores');
  }
  // Bad directories were reported by vhostsOnDisk.
  const found = await listVhostDirs(dataDir, () => undefined);
  const dirs = new Map(found.map((f) => [f.name, f.dir]));
  for (const name of wanted) if (!dirs.has(name)) dirs.set(name, await createVhostDir(dataDir, name));
  const total = emptyReport();
  for (const [name, dir] of dirs) addInto(total, await open(name, dir));
  return total;
}

/**
 * A promoted HA copy whose vhost holds messages but not one definition record: the frames that
 * declared its queues never reached this copy. Started, it would delete every message as of an
 * unknown queue, and replicate the deletions to every other copy.
 */
export class CopyWithoutDefinitionsError extends Error {
  readonly vhost: string;
  readonly messages: number;
  constructor(vhost: string, messages: number) {
    super(`vhost '${vhost}': ${messages} stored messages but no definition records (its definitions log is missing or empty): this copy lacks the vhost's definitions; not starting on it, so that no message is deleted`);
    this.name = 'CopyWithoutDefinitionsError';
    this.vhost = vhost;
    this.messages = messages;
  }
}

export interface RecoverVhostOptions {
  /**
   * The stores replicate (an HA promotion, on a follower's copy): messages without any definition
   * record throw CopyWithoutDefinitionsError rather than being kept unrestored.
   */
  replicated?: boolean;
}

/** Rebuild definitions and messages of `vhost` from its opened-for-the-first-time stores, and attach them. */
export async function recoverVhost(p: Persistence, vhost: VHost, options: RecoverVhostOptions = {}): Promise<RecoveryReport> {
  const log = p.log;
  const started = p.clock.now();
  await p.spillStore.open();
  // Queues rebuilt below may page out their backlog, so they must see the store now.
  vhost.store = p;
  p.restoring = true;
  const defs = await p.definitions.open();
  // Readable records only: a log whose every record is damaged says no more about the queues than a missing one.
  const defsRecords = p.definitions.stats().records;
  const report = emptyReport();
  report.vhosts = 1;
  let replay: ReplayReport;
  try {
    // Recovery's own path: no client-declare checks, and a bad record is logged and skipped.
    replay = replayDefinitions(vhost, defs, log);
  } finally {
    p.restoring = false;
  }
  report.policies = replay.policies;
  report.exchanges = replay.exchanges;
  report.queues = replay.queues;
  report.bindings = replay.bindings;
  report.skippedDefinitions = replay.skipped;
  const recovered = await p.messages.open();
  const stored = defsRecords === 0 ? storedCount(recovered) : 0;
  if (stored > 0) {
    // With no record at all, these are not the messages of a queue deleted just before a crash:
    // the definitions are lost, and restoring would delete every message as of an unknown queue.
    if (options.replicated === true) throw new CopyWithoutDefinitionsError(vhost.name, stored);
    log.error(
      { vhost: vhost.name, messages: stored, queues: recovered.size },
      'stored messages but no definition records (definitions log missing or empty): messages kept on disk, not restored',
    );
    report.keptUnrestored += stored;
  } else {
    restoreMessages(p, vhost, recovered, replay, report);
  }
  const stats = p.messages.stats();
  report.corruptRecords = stats.corruptRecords;
  report.truncatedBytes = stats.truncatedBytes;
  report.ms = p.clock.now() - started;
  log.info({ vhost: vhost.name, ...report }, 'recovery finished');
  p.attach(vhost);
  return report;
}

function storedCount(recovered: Map<string, RecoveredQueueMessages>): number {
  let n = 0;
  for (const list of recovered.values()) n += list.length;
  return n;
}

/** Messages found in the store go to their restored queues (or delayed exchanges); those of an unknown queue are deleted. */
function restoreMessages(p: Persistence, vhost: VHost, recovered: Map<string, RecoveredQueueMessages>, replay: ReplayReport, report: RecoveryReport): void {
  const log = p.log;
  // Originals of a message move cut short by a crash whose copies survived (ops/move.ts).
  const superseded = supersededOriginals(recovered, (q) => vhost.queues.has(q));
  for (const [queueName, list] of recovered) {
    if (queueName.startsWith(DELAYED_PREFIX)) {
      const exchangeName = queueName.slice(DELAYED_PREFIX.length);
      const e = vhost.exchanges.get(exchangeName);
      if (e === undefined || !e.delayed) {
        if (e === undefined && replay.skippedExchanges.has(exchangeName)) {
          log.warn({ vhost: vhost.name, exchange: exchangeName, messages: list.length }, 'delayed messages of an unrestored exchange kept on disk');
          report.keptUnrestored += list.length;
        } else {
          p.messages.deleteQueue(queueName);
        }
        continue;
      }
      for (const r of list) {
        const m = Message.paged(r.exchange, r.routingKey, r.header, r.size - r.header.length, p.messages, queueName, r.seq);
        const delay = numberValue(m.properties.headers?.['x-delay']) ?? 0;
        vhost.delayed.add({ dueAt: r.enqueuedAt + delay, exchange: e, routingKeys: [m.routingKey], message: m, storeSeq: r.seq });
        report.delayed++;
      }
      continue;
    }
    const q = vhost.queues.get(queueName);
    if (q === undefined) {
      if (replay.skippedQueues.has(queueName)) {
        // Its definition was unreadable: the messages stay on disk rather than being deleted for a bad record.
        log.warn({ vhost: vhost.name, queue: queueName, messages: list.length }, 'messages of an unrestored queue kept on disk');
        report.keptUnrestored += list.length;
      } else {
        p.messages.deleteQueue(queueName);
      }
      continue;
    }
    const moved = superseded.get(queueName);
    let dropped = 0;
    for (let i = 0; i < list.length; i++) {
      const seq = list.seqAt(i);
      if (moved?.has(seq) === true) {
        p.messages.ack(queueName, seq);
        dropped++;
        continue;
      }
      const deliveries = list.deliveryCountAt(i);
      // Most of a deep backlog stays on disk from the start, with no object built for it; a
      // per-message TTL needs the header decoded, so those messages take the full path.
      if (!hasExpirationFlag(list.propertyFlagsAt(i)) && q.restorePaged(seq, list.bodySizeAt(i), deliveries > 0, list.enqueuedAtAt(i))) {
        report.messages++;
        continue;
      }
      // Only the header stays in memory; the body is read when the message is delivered.
      const m = Message.paged(list.exchangeAt(i), list.routingKeyAt(i), list.headerAt(i), list.bodySizeAt(i), p.messages, queueName, seq);
      q.restore(m, seq, deliveries > 0, deliveries, list.enqueuedAtAt(i));
      report.messages++;
    }
    if (dropped > 0) log.info({ vhost: vhost.name, queue: queueName, dropped }, 'interrupted move: originals whose copies survived dropped');
  }
}
