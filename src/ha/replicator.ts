// The leader's side of replication: a ReplicationSink (segment-log.ts) that turns each written
// batch into SEGMENT frames appended through the sequencer, and each local segment deletion into
// a DELETE frame followed by a purge of that segment's frames before it (the stream then holds
// about the live data). The log's confirms wait for replicatedPos, which moves as the appends are acked.
// Definitions ops go as DEFS frames placing each record in the followers' copy of the vhost's
// definitions log; the access snapshot goes whole as ACCESS frames, and a vhost's directory
// removal as a VHOST_DELETE frame (accessReplication).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AccessReplication } from '../store/access-store.js';
import { MANIFEST } from '../store/data-dir.js';
import { DEFINITIONS_LOG_NAME, FILE_HEADER_SIZE as DEFINITIONS_HEADER_SIZE, definitionsFileHeader, frameDefinitionsRecord } from '../store/definitions-codec.js';
import type { ReplicationSink, Segment } from '../store/segment.js';
import type { SegmentLog, StoreReplication } from '../store/segment-log.js';
import { encodeDelete, encodeVhostDelete, segmentRoom, segmentToken, splitAccess, splitDefs, splitSegment } from './frames.js';
import { SegmentRun } from './segment-run.js';
import { purgeIfSafe, type GroupSubjects, type ReplicatedLog } from './replicated-log.js';
import type { Sequencer } from './sequencer.js';

export interface ReplicatorContext {
  readonly sequencer: Sequencer;
  /** For purges (not fenced: they only remove what a DELETE frame already retired). */
  readonly log: ReplicatedLog;
  readonly subjects: GroupSubjects;
  /** Files are named relative to it in frames. */
  readonly dataDir: string;
  readonly maxPayload: number;
  /** An append was refused or failed for good: this node no longer leads. */
  onFailed(err: Error): void;
  /** A purge failed (the stream keeps extra bytes until the next one; not a correctness issue). */
  onPurgeFailed?(err: Error): void;
}

export class Replicator implements ReplicationSink {
  replicatedPos = 0;
  private readonly ctx: ReplicatorContext;
  private readonly segLog: SegmentLog;
  private failed = false;

  constructor(segLog: SegmentLog, ctx: ReplicatorContext) {
    this.segLog = segLog;
    this.ctx = ctx;
  }

  /** The factory SegmentStoreOptions.replication takes. */
  static factory(ctx: ReplicatorContext): (log: SegmentLog) => ReplicationSink {
    return (log) => new Replicator(log, ctx);
  }

  /**
   * Replication of one vhost directory's stores: its name file first (so a follower's copy of
   * the directory is a vhost recovery recognises), then message batches and definitions ops.
   */
  static forVhost(ctx: ReplicatorContext, vhostDir: string): StoreReplication {
    const dir = relativeTo(ctx.dataDir, vhostDir);
    const manifest = fs.readFileSync(path.join(vhostDir, MANIFEST));
    const fail = (err: unknown): void => ctx.onFailed(err instanceof Error ? err : new Error(String(err)));
    const file = `${dir}/${MANIFEST}`;
    ctx.sequencer.append(ctx.subjects.seg(segmentToken(file)), splitSegment(file, 0, manifest, ctx.maxPayload)[0] as Buffer).catch(fail);
    // Where the next record goes in the followers' copy of the definitions log. This leader's own
    // log may be compacted (rewritten shorter); the copies are not: they go on from the length this
    // file had when the store opened it (it was such a copy), read at the first record, before any
    // compaction and after the store cut a torn tail (the first frame cuts the copies there too).
    const defsFile = `${dir}/definitions/${DEFINITIONS_LOG_NAME}`;
    let defsEnd = -1;
    return {
      messages: Replicator.factory(ctx),
      // Acked in log order before any later message batch, so a confirm covers the declarations
      // before it; the store's whenDurable (declare-ok) waits for the op's last frame.
      definitions: (payload) => {
        if (defsEnd < 0) {
          const size = fileSize(path.join(vhostDir, 'definitions', DEFINITIONS_LOG_NAME));
          // Header only (the store made it): the copies get the header with the first record.
          defsEnd = size <= DEFINITIONS_HEADER_SIZE ? 0 : size;
        }
        const rec = frameDefinitionsRecord(payload);
        const bytes = defsEnd === 0 ? Buffer.concat([definitionsFileHeader(), rec]) : rec;
        let last: Promise<number> = Promise.resolve(0);
        for (const f of splitDefs(defsFile, defsEnd, bytes, ctx.maxPayload)) {
          last = ctx.sequencer.append(ctx.subjects.defs, f);
          last.catch(fail);
        }
        defsEnd += bytes.length;
        // Acks come in log order, so the last frame's covers the op's earlier frames and every op before.
        return last.then(() => undefined);
      },
    };
  }

  private file(seg: Segment): string {
    return relativeTo(this.ctx.dataDir, seg.path);
  }

  batch(seg: Segment, position: number, iov: readonly Buffer[], bytes: number, end: number): void {
    if (this.failed) return;
    const file = this.file(seg);
    const subject = this.ctx.subjects.seg(segmentToken(file));
    const room = segmentRoom(file, this.ctx.maxPayload);
    let last: Promise<number>;
    if (bytes <= room) {
      // No copy here: a written batch's buffers are never reused; the frame is built when sent.
      last = this.ctx.sequencer.appendItem(new SegmentRun(subject, file, position, iov, bytes, room));
    } else {
      // Larger than one frame may carry (a huge message): slices of one copy.
      const data = Buffer.concat(iov as Buffer[], bytes);
      let off = 0;
      do {
        const slice = data.subarray(off, Math.min(data.length, off + room));
        last = this.ctx.sequencer.appendItem(new SegmentRun(subject, file, position + off, [slice], slice.length, room));
        off += room;
        // Only the last slice's outcome is acted on; the sequencer fails them all together.
        if (off < data.length) last.catch(() => undefined);
      } while (off < data.length);
    }
    last.then(
      () => {
        // Acks come in log order, so this only moves forward.
        if (end > this.replicatedPos) this.replicatedPos = end;
        this.segLog.replicated();
      },
      (err: unknown) => this.fail(err),
    );
  }

  deleted(segs: readonly Segment[]): void {
    if (this.failed || segs.length === 0) return;
    const files = segs.map((s) => this.file(s));
    this.ctx.sequencer.append(this.ctx.subjects.ctl, encodeDelete(files)).then(
      async (seq) => {
        for (const f of files) {
          try {
            // Only what the DELETE retired: a file of the same name written later (a vhost made
            // again, its segment ids starting over) has its frames on the same subject, after it.
            await purgeIfSafe(this.ctx.log, this.ctx.subjects.seg(segmentToken(f)), { upToSeq: seq });
          } catch (err) {
            this.ctx.onPurgeFailed?.(err instanceof Error ? err : new Error(String(err)));
          }
        }
      },
      (err: unknown) => this.fail(err),
    );
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    const e = err instanceof Error ? err : new Error(String(err));
    this.segLog.replicationFailed(e);
    this.ctx.onFailed(e);
  }
}

/**
 * Replication of the access snapshot and of vhost directory removals. After each snapshot the
 * older ones leave the stream, so a new follower reads only the last. A removal lists the
 * directory's files first, so that once its VHOST_DELETE frame is in, their frames leave the
 * stream too. Every purge is bounded by the sequence of the frame that retired what it removes:
 * purges are not fenced, and a late one (a paused old leader's, or one queued behind many) must
 * not remove what was appended after that frame.
 */
export function accessReplication(ctx: ReplicatorContext): AccessReplication {
  const fail = (err: unknown): Error => {
    const e = err instanceof Error ? err : new Error(String(err));
    ctx.onFailed(e);
    return e;
  };
  const purge = (subject: string, upToSeq: number): Promise<void> =>
    purgeIfSafe(ctx.log, subject, { upToSeq }).catch((err: unknown) => ctx.onPurgeFailed?.(err instanceof Error ? err : new Error(String(err))));
  return {
    snapshot: async (bytes) => {
      const frames = splitAccess(bytes, ctx.maxPayload);
      let seqs: number[];
      try {
        seqs = await Promise.all(frames.map((f) => ctx.sequencer.append(ctx.subjects.access, f)));
      } catch (err) {
        throw fail(err);
      }
      // Everything before this snapshot's first part (its parts follow one another in the log).
      void purge(ctx.subjects.access, Math.min(...seqs));
    },
    vhostRemoved: async (vhostDir) => {
      const dir = relativeTo(ctx.dataDir, vhostDir);
      // The files with a subject of their own: the name file and the message segments.
      const files = [path.join(vhostDir, MANIFEST), ...listFiles(path.join(vhostDir, 'messages'))].map((f) => relativeTo(ctx.dataDir, f));
      let seq: number;
      try {
        seq = await ctx.sequencer.append(ctx.subjects.ctl, encodeVhostDelete(dir));
      } catch (err) {
        throw fail(err);
      }
      // One at a time, in the background: a vhost of many segments must not flood the engine. A
      // vhost made again under the same name writes the same subjects, after `seq`.
      void (async () => {
        for (const f of files) await purge(ctx.subjects.seg(segmentToken(f)), seq);
      })();
    },
  };
}

function fileSize(p: string): number {
  try {
    return fs.statSync(p).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/** Every file under `dir` (none if it is gone). */
function listFiles(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** `p` relative to the data directory, with '/' separators (as frames name files). */
function relativeTo(dataDir: string, p: string): string {
  return path.relative(dataDir, p).split(path.sep).join('/');
}
