// A vhost whose message store holds messages but whose definitions log has no record (missing,
// or header only): recovery never deletes those messages. A plain start keeps them on disk, logs
// an error for the vhost and serves; a start on replicated stores (an HA promotion of a copy that
// missed its definitions) refuses with CopyWithoutDefinitionsError. With records in the log, the
// messages of a queue it does not name (deleted just before a crash) are still deleted.

import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CopyWithoutDefinitionsError } from '../../src/broker/vhost-recovery.js';
import { Follower, HA_DIR } from '../../src/ha/follower.js';
import { MemoryLog } from '../../src/ha/memory-log.js';
import { groupSubjects } from '../../src/ha/replicated-log.js';
import { accessReplication, Replicator, type ReplicatorContext } from '../../src/ha/replicator.js';
import { Sequencer } from '../../src/ha/sequencer.js';
import type { StartOptions } from '../../src/index.js';
import { vhostDir } from '../../src/store/data-dir.js';
import { DEFINITIONS_LOG_NAME, FILE_HEADER_SIZE } from '../../src/store/definitions-codec.js';
import { DefinitionsStore } from '../../src/store/definitions-store.js';
import { systemClock } from '../../src/util/clock.js';
import { useDataDirBrokers } from './data-dir-brokers.js';
import { channel, confirmChannel, messageCount, publishConfirmed, queueExists, uniq } from './helpers.js';
import { captureLog } from '../helpers/log-capture.js';

const { dataDir, start, stop, connect, closeConnections } = useDataDirBrokers('warren-no-defs');
const subjects = groupSubjects('nd');

function defsLog(dir: string): string {
  return join(vhostDir(dir, '/'), 'definitions', DEFINITIONS_LOG_NAME);
}

const capture = (): ReturnType<typeof captureLog> => captureLog('warn');

/** Replication of a start's stores into `log` (as the HA leader path wires it); failures collected. */
function replicatingInto(dataDirPath: string, log: MemoryLog, failures: Error[]): Partial<StartOptions> {
  const handle = log.handle();
  const sequencer = new Sequencer({ log: handle, clock: systemClock, node: 'a', epoch: 1, base: log.lastSeq, window: 3, onFenced: (e) => failures.push(e) });
  const ctx: ReplicatorContext = { sequencer, log: handle, subjects, dataDir: dataDirPath, maxPayload: 1024 * 1024, onFailed: (e) => failures.push(e) };
  return { replication: (dir) => Replicator.forVhost(ctx, dir), accessReplication: accessReplication(ctx) };
}

/** Declares durable `queues` on a running broker and publishes `per` confirmed persistent messages to each. */
async function fill(r: Awaited<ReturnType<typeof start>>, queues: readonly string[], per: number): Promise<void> {
  const ch = await confirmChannel(await connect(r));
  for (const q of queues) {
    await ch.assertQueue(q, { durable: true });
    for (let i = 0; i < per; i++) expect(await publishConfirmed(ch, '', q, `${q}-${i}`, { persistent: true })).toBe('ack');
  }
  await closeConnections();
}

async function counts(r: Awaited<ReturnType<typeof start>>, queues: readonly string[]): Promise<(number | null)[]> {
  const conn = await connect(r);
  const out: (number | null)[] = [];
  for (const q of queues) out.push((await queueExists(conn, q)) ? await messageCount(await channel(conn), q) : null);
  await closeConnections();
  return out;
}

describe('recovery of a vhost with messages but no definition records', () => {
  for (const lost of ['missing', 'header only'] as const) {
    it(`plain start, definitions log ${lost}: messages kept on disk, one error for the vhost, the broker serves; restored once the definitions are back`, async () => {
      const dir = dataDir();
      const queues = [uniq('kept-a'), uniq('kept-b')];
      let r = await start(dir);
      await fill(r, queues, 3);
      await stop(r);
      const saved = fs.readFileSync(defsLog(dir));
      if (lost === 'missing') fs.rmSync(defsLog(dir));
      else fs.truncateSync(defsLog(dir), FILE_HEADER_SIZE);

      const { logger, lines } = capture();
      r = await start(dir, { logger });
      const errors = lines.filter((l) => l.level === 50);
      expect(errors.map((l) => [l.msg, l.vhost, l.messages])).toEqual([
        ['stored messages but no definition records (definitions log missing or empty): messages kept on disk, not restored', '/', 6],
      ]);
      expect(await counts(r, queues)).toEqual([null, null]);
      await stop(r);

      // The definitions come back (an operator restores the file): every confirmed message is there.
      fs.writeFileSync(defsLog(dir), saved);
      r = await start(dir);
      expect(await counts(r, queues)).toEqual([3, 3]);
    });
  }

  it('HA promotion of a copy whose definitions log is header only: refused with CopyWithoutDefinitionsError, its messages left in place', async () => {
    const log = new MemoryLog(systemClock);
    const A = dataDir();
    const B = dataDir();
    const queues = [uniq('copy-a'), uniq('copy-b')];
    const failures: Error[] = [];
    const a = await start(A, replicatingInto(A, log, failures));
    await fill(a, queues, 2);
    await stop(a);
    expect(failures).toEqual([]);
    // The follower's copy, as a promotion finds it; then the copy loses its definitions' records.
    const f = await Follower.open({ dataDir: B, sync: true });
    await f.apply(await log.handle().read(1, 1_000_000, 0));
    await f.close();
    fs.rmSync(join(B, HA_DIR), { recursive: true });
    const saved = fs.readFileSync(defsLog(B));
    expect(saved.length).toBeGreaterThan(FILE_HEADER_SIZE);
    fs.truncateSync(defsLog(B), FILE_HEADER_SIZE);

    const promoted = new MemoryLog(systemClock);
    const err = await start(B, replicatingInto(B, promoted, [])).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CopyWithoutDefinitionsError);
    expect((err as Error).name).toBe('CopyWithoutDefinitionsError');
    expect((err as Error).message).toMatch(/^vhost '\/': 4 stored messages but no definition records/);

    // The same copy with its definitions: every message is there (no deletion was recorded).
    fs.writeFileSync(defsLog(B), saved);
    const b = await start(B);
    expect(await counts(b, queues)).toEqual([2, 2]);
  });

  it('with records in the log, the messages of a queue it does not name are still deleted (a queue deleted just before a crash)', async () => {
    const dir = dataDir();
    const [kept, gone] = [uniq('stays'), uniq('deleted')];
    let r = await start(dir);
    await fill(r, [kept, gone], 2);
    await stop(r);
    // The deletion reached the definitions log, the message store's did not.
    const s = new DefinitionsStore({ dir: join(vhostDir(dir, '/'), 'definitions') });
    await s.open();
    s.deleteQueue('/', gone);
    await new Promise<void>((resolve, reject) => s.whenDurable((e) => (e === null ? resolve() : reject(e))));
    await s.close();

    const { logger, lines } = capture();
    r = await start(dir, { logger });
    expect(lines.filter((l) => l.level === 50)).toEqual([]);
    expect(await counts(r, [kept, gone])).toEqual([2, null]);
    // Declared again: empty, its old messages were deleted at the last start.
    const ch = await channel(await connect(r));
    await ch.assertQueue(gone, { durable: true });
    await closeConnections();
    await stop(r);
    r = await start(dir);
    expect(await counts(r, [kept, gone])).toEqual([2, 0]);
  });
});
