// The replicated write-ahead log HA is built on: an append-only sequence of (subject, bytes)
// entries, numbered from 1, with compare-and-set appends. Leadership, fencing and followers are
// expressed with this interface only, so unit tests run them on the in-memory log
// (memory-log.ts) and production on a JetStream stream (jetstream-log.ts).

export interface LogEntry {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  /** The append's msg id, where the log keeps it (for audits: which node and epoch appended it). */
  readonly msgId?: string;
}

export interface AppendOptions {
  /**
   * The append succeeds only if the log's last sequence is this one (fencing: a deposed
   * leader's append is rejected with WrongLastSequenceError).
   */
  readonly expectedLastSeq: number;
  /**
   * Idempotency key: an append retried after a timeout with the same id is not applied twice
   * (the log answers with the sequence of the first one).
   */
  readonly msgId: string;
  /**
   * Also require the log's last entry to carry this msg id. Set on a pipelined append sent
   * before its predecessor was acknowledged: a sequence alone cannot tell whether the entry
   * it expects is that predecessor or a rival's barrier that took its slot.
   */
  readonly expectedLastMsgId?: string;
}

/** One bound at most (JetStream refuses both). */
export type PurgeOptions =
  /** Keep the subject's last `keep` entries. */
  | { readonly keep: number; readonly upToSeq?: never }
  /**
   * Remove only entries below this sequence (exclusive): what a frame at that sequence retired.
   * Purges are not fenced, so a late one (a paused old leader's) must not reach entries a later
   * writer put on the same subject.
   */
  | { readonly upToSeq: number; readonly keep?: never };

export interface ReplicatedLog {
  /** Appends one entry; resolves with its sequence. */
  append(subject: string, data: Uint8Array, opts: AppendOptions): Promise<number>;
  /**
   * Entries with seq >= fromSeq in order, at most `max`, waiting up to `waitMs` for the first
   * one (an empty array when none came). Purged entries are skipped: sequences may have gaps.
   */
  read(fromSeq: number, max: number, waitMs: number): Promise<LogEntry[]>;
  /** Sequence of the last entry ever appended (purges do not lower it); 0 for an empty log. */
  lastSequence(): Promise<number>;
  /** Removes entries of this subject (all of them, or as `opts` bounds it); their sequence numbers stay used. */
  purgeSubject(subject: string, opts?: PurgeOptions): Promise<void>;
  /**
   * False when purging would put the log at risk, so the leader keeps everything (the stream
   * grows): nats-server before 2.9.21 replays a filtered purge as a purge of every subject on a
   * node restarting (nats-server issue 4196). Absent means true.
   */
  readonly purgesSafe?: boolean;
  /**
   * Names this log for as long as it exists: a log deleted and made again under the same name
   * gets another identity (a follower's copy of the old one is not a copy of the new one).
   */
  identity(): Promise<string>;
  close(): Promise<void>;
  /** Drops any read-ahead state, so the next read starts afresh (a reader that stopped receiving). */
  resetReader?(): void;
}

/**
 * Purges unless the log says purging is unsafe (then the entries stay: the log only grows). Every
 * purge the leader makes goes through here, so the engine check lives in one place.
 */
export async function purgeIfSafe(log: ReplicatedLog, subject: string, opts?: PurgeOptions): Promise<void> {
  if (log.purgesSafe === false) return;
  await log.purgeSubject(subject, opts);
}

/** The log's last sequence was not the expected one: someone else appended (or this append already went in under another id). */
export class WrongLastSequenceError extends Error {
  readonly expected: number;
  constructor(expected: number, detail: string) {
    super(`wrong last sequence: expected ${expected}${detail === '' ? '' : ` (${detail})`}`);
    this.name = 'WrongLastSequenceError';
    this.expected = expected;
  }
}

/** No answer in time: the append may or may not have been applied; retry with the same msgId. */
export class AppendTimeoutError extends Error {
  constructor(detail: string) {
    super(`append timed out: ${detail}`);
    this.name = 'AppendTimeoutError';
  }
}

/**
 * An entry this node can never apply, however often it reads it again: a frame of another
 * version, a malformed one, a path outside the data directory. The follower stops, saying so.
 */
export class UnappliableEntryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnappliableEntryError';
  }
}

/** Subjects of one replication group's stream. */
export interface GroupSubjects {
  readonly stream: string;
  /** Wildcard covering every subject of the group. */
  readonly all: string;
  readonly defs: string;
  /** Control frames: barriers, DELETE and VHOST_DELETE frames (never purged with a segment). */
  readonly ctl: string;
  /** Heartbeats: trimmed to the last one now and then. */
  readonly hb: string;
  /** The access snapshot's frames: only the last snapshot's are kept. */
  readonly access: string;
  /** Subject of one segment file's frames (purged when the segment is deleted). */
  seg(token: string): string;
}

const GROUP_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function groupSubjects(group: string): GroupSubjects {
  if (!GROUP_RE.test(group)) throw new Error(`invalid HA group name '${group}': use letters, digits, '-' and '_' (at most 64)`);
  return {
    stream: `WLOG_${group}`,
    all: `wlog.${group}.>`,
    defs: `wlog.${group}.defs`,
    ctl: `wlog.${group}.ctl`,
    hb: `wlog.${group}.hb`,
    access: `wlog.${group}.access`,
    seg: (token) => `wlog.${group}.seg.${token}`,
  };
}
