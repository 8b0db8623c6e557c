// The leader's side of replication: a ReplicationSink (segment-log.ts) that turns each written
// batch into SEGMENT frames appended through the sequencer, and each local segment deletion into
// a DELETE frame followed by a purge of that segment's subject (the stream then holds about the
// live data). The log's confirms wait for replicatedPos, which moves as the appends are acked.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { MANIFEST } from '../store/data-dir.js';
import type { ReplicationSink, Segment } from '../store/segment.js';
import type { SegmentLog, StoreReplication } from '../store/segment-log.js';
import { encodeDefs, encodeDelete, segmentRoom, segmentToken, splitSegment } from './frames.js';
import { SegmentRun } from './segment-run.js';
import type { GroupSubjects, ReplicatedLog } from './replicated-log.js';
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
    return {
      messages: Replicator.factory(ctx),
      // Acked in log order before any later message batch, so a confirm covers the declarations before it.
      definitions: (payload) => void ctx.sequencer.append(ctx.subjects.defs, encodeDefs(dir, payload)).catch(fail),
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
      async () => {
        for (const f of files) {
          try {
            await this.ctx.log.purgeSubject(this.ctx.subjects.seg(segmentToken(f)));
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

/** `p` relative to the data directory, with '/' separators (as frames name files). */
function relativeTo(dataDir: string, p: string): string {
  return path.relative(dataDir, p).split(path.sep).join('/');
}
