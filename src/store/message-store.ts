// The message persistence contract the broker programs against; implementations know nothing of AMQP methods.
//
// Hot-path calls (append, markDelivered, ack) are synchronous and only buffer; durability is
// asked for separately with whenDurable(cb), so one fsync can cover every write made since the
// previous one (group commit) and a publisher confirm waits for exactly that.

/** A message as the store keeps it. The store never looks inside `header` or `body`. */
export interface StoredMessage {
  readonly exchange: string;
  readonly routingKey: string;
  /** Raw AMQP content-header payload (class id, weight, body size, property flags and values), passed through untouched. */
  readonly header: Buffer;
  readonly body: Buffer;
  /**
   * Arrival time, epoch milliseconds, set by the broker and stored with the message so TTLs keep
   * counting across a restart. A safe non-negative integer (append throws RangeError otherwise).
   */
  readonly enqueuedAt: number;
}

/**
 * One message found by open(). Everything but the body comes with it (decoded from the small
 * front part of the record); the body stays on disk until readBody(queue, seq) or read(queue, seq).
 */
export interface RecoveredMessage {
  /** Position of the message, unique across all queues and never reused by this store's data. */
  readonly seq: number;
  /** True when markDelivered was recorded for it before the restart (AMQP redelivered flag). */
  readonly redelivered: boolean;
  /** How many times markDelivered was recorded (x-delivery-count for quorum-style queues). */
  readonly deliveryCount: number;
  /** header.length + body.length, so the broker can account memory and queue bytes without reading. */
  readonly size: number;
  /** As given to append. */
  readonly enqueuedAt: number;
  readonly exchange: string;
  readonly routingKey: string;
  /** The content-header bytes (priority, expiration, ...), copied out of the segment. */
  readonly header: Buffer;
}

/**
 * One queue's messages as open() finds them, in append order, as columns rather than objects (a
 * backlog of millions would otherwise be millions of objects to build and collect). Positions run
 * over [0, length); at(i) and iteration build RecoveredMessage objects.
 */
export interface RecoveredQueueMessages extends Iterable<RecoveredMessage> {
  readonly length: number;
  seqAt(i: number): number;
  /** header.length + body.length. */
  sizeAt(i: number): number;
  bodySizeAt(i: number): number;
  enqueuedAtAt(i: number): number;
  /** Deliveries recorded (redelivered when above 0). */
  deliveryCountAt(i: number): number;
  exchangeAt(i: number): string;
  routingKeyAt(i: number): string;
  /** The content-header bytes, possibly a view into a buffer shared with other recovered headers. */
  headerAt(i: number): Buffer;
  /** The content header's property flags, read without cutting a view of the header. */
  propertyFlagsAt(i: number): number;
  at(i: number): RecoveredMessage;
}

/** err is null when the writes are on disk (per the store's sync mode), or the I/O error that stopped the store. */
export type DurableCallback = (err: Error | null) => void;

/** `always`: whenDurable waits for fsync (group commit); `batch`: fsync every batchIntervalMs; `off`: only waits for write(2). */
export type SyncMode = 'always' | 'batch' | 'off';

export interface MessageStoreStats {
  /** Messages currently stored (appended, not acked, purged or deleted). */
  readonly messages: number;
  /** Sum of header+body bytes of stored messages. */
  readonly messageBytes: number;
  readonly appended: number;
  readonly acked: number;
  /** Acks and markDelivered calls naming a position the store does not hold (ignored). */
  readonly unknownPositions: number;
  /** Group commits: each is one fsync pass covering every write since the previous one. */
  readonly syncs: number;
  readonly bytesWritten: number;
  /** Live segment files (segment store), 0 for stores without files. */
  readonly segments: number;
  readonly segmentsDeleted: number;
  /** Records found at open(), or read for paging, whose checksum failed or that could not be parsed; never returned. */
  readonly corruptRecords: number;
  /** Bytes cut from torn segment tails at open(). */
  readonly truncatedBytes: number;
  readonly recoveredMessages: number;
  /** Wall time of open() in milliseconds, measured with the injected clock. */
  readonly recoveryMs: number;
}

export interface MessageStore {
  /**
   * Opens the store and returns the surviving messages of every queue, in append order.
   * Queues without messages are absent. Must be called once, before anything else.
   */
  open(): Promise<Map<string, RecoveredQueueMessages>>;

  /**
   * Buffers a message for `queue` and returns its seq. Synchronous; nothing is on disk yet.
   * The store keeps references to msg.header and msg.body until written: do not mutate them.
   * Throws RangeError for names over 255 UTF-8 bytes, or the I/O error once the store has failed.
   */
  append(queue: string, msg: StoredMessage): number;

  /** Records a delivery attempt so that, after a restart, the message comes back redelivered. Unknown seq: ignored. */
  markDelivered(queue: string, seq: number): void;

  /** Removes a message. Returns false (and records nothing) if the store does not hold it. */
  ack(queue: string, seq: number): boolean;

  /** Removes every message of the queue; returns how many. */
  purge(queue: string): number;

  /** Removes the queue and its messages; returns how many messages went with it. */
  deleteQueue(queue: string): number;

  /** Messages held for the queue. */
  messageCount(queue: string): number;

  /** Deliveries recorded by markDelivered for a held message, before and since the last open(); 0 if not held. */
  deliveryCount(queue: string, seq: number): number;

  /**
   * cb runs once everything appended/acked before this call is durable per the sync mode.
   * Callbacks run in call order, asynchronously (never inside this call).
   */
  whenDurable(cb: DurableCallback): void;

  /**
   * The whole message, from memory if not yet written, else from disk (synchronous, checksum
   * verified). Throws if the seq is not held by the queue, or if the record on disk is damaged.
   * header and body may be views into a buffer shared with other records (read-ahead): copy
   * what is kept beyond the current synchronous step.
   */
  read(queue: string, seq: number): StoredMessage;

  /**
   * Just the body, as read() would return it but without decoding the rest: for paging bodies
   * of deep queues in at delivery. Same errors as read(). Read from disk, it is a buffer of its
   * own (never a view into a read-ahead buffer), so holding it pins nothing else.
   */
  readBody(queue: string, seq: number): Buffer;

  /** Writes and syncs everything buffered, runs pending callbacks, releases files. */
  close(): Promise<void>;

  stats(): MessageStoreStats;
}

/** Longest queue name, exchange name or routing key: AMQP shortstr (0-9-1 spec, 4.2.5.3). */
export const MAX_SHORTSTR_BYTES = 255;
