// The broker: configuration, vhosts, users, and registries shared by all connections.

import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { Clock } from '../util/clock.js';
import { UserDatabase } from './auth/users.js';
import { PermissionStore } from './auth/permissions.js';
import { LimitStore } from './auth/limits.js';
import { ConnectionCounts } from './auth/connection-counts.js';
import { seedUsers, withoutPasswords } from './auth/seed.js';
import { VHost } from './vhost.js';
import { ClientRegistry } from './clients.js';
import { Alarms } from './flow.js';
import { LoopMonitor } from '../util/loop-monitor.js';
import { brokerLogSummaries, type BrokerLogSummaries } from './log-summaries.js';

/** How often memory and disk are checked (RabbitMQ checks about once a second too). */
const ALARM_CHECK_MS = 1000;
/** Window over which the event-loop lag gauge takes its maximum. */
const LOOP_WINDOW_MS = 1000;
import { Persistence } from './persistence.js';
import { recoverDataDir, recoverVhost, type RecoveryReport } from './vhost-recovery.js';
import { createVhostDir, removeVhostDir, vhostDir } from '../store/data-dir.js';
import type { StoreReplication } from '../store/segment-log.js';
import type { AccessReplication } from '../store/access-store.js';
import { DirectReplyTo } from './publish/direct-reply-to.js';
import { AccessAdmin } from './auth/access-admin.js';
import { vhostsOnDisk } from './vhost-recovery.js';

export interface StartOptions {
  /**
   * On a data dir never started before, create the default user and vhost (true, the default),
   * or not, because definitions are imported at boot (RabbitMQ's load_definitions).
   */
  seedDefaults?: boolean;
}
import { BrokerStats } from './stats/broker-stats.js';
import { RateSampler, SAMPLE_INTERVAL_MS } from './stats/rate-sampler.js';
import type { MessageCounters } from './stats/message-counters.js';

export class Broker {
  readonly config: Config;
  readonly clock: Clock;
  readonly log: Logger;
  readonly users = new UserDatabase();
  readonly permissions = new PermissionStore();
  readonly limits = new LimitStore();
  /** Connections (counted at connection.open) and channels (not counted yet) against the limits. */
  readonly connectionCounts = new ConnectionCounts(this.limits);
  readonly vhosts = new Map<string, VHost>();
  /** Direct reply-to tokens (`amq.rabbitmq.reply-to.<token>`) to their channel. */
  readonly replyTo = new DirectReplyTo();
  /** Open client connections (after connection.open), for the operator plane and forced closes. */
  readonly clients = new ClientRegistry();
  /** Durable administration of users, vhosts, permissions and limits (open once started). */
  readonly access: AccessAdmin = new AccessAdmin(this);

  /** Message counters, churn and sizes (see broker/stats); rates are sampled every 5 s. */
  readonly stats = new BrokerStats();
  readonly rates: RateSampler;

  readonly alarms: Alarms;
  /** Event-loop lag and long synchronous tasks. */
  readonly loop: LoopMonitor;
  /** Replication of each vhost's stores (HA leader), by vhost directory; set before start(). */
  replication: ((vhostDir: string) => StoreReplication) | null = null;
  /** Replication of the access snapshot and of vhost directory removals (HA leader); set before start(). */
  accessReplication: AccessReplication | null = null;
  /** start() opened the stores: vhosts added from now on get theirs at once. */
  private started = false;
  /** The add or delete of each vhost in progress (see serially). */
  private readonly vhostOps = new Map<string, Promise<void>>();
  /** Counters operators alert on. */
  readonly metrics = {
    /** Messages republished to a dead-letter exchange, by reason. */
    deadLettered: new Map<string, number>(),
    /** Messages dead-lettered with no DLX (or no route): dropped. */
    deadLetterDropped: 0,
    /** Deliveries that threw (a broker fault); each such message was dead-lettered or dropped. */
    deliveryFailed: 0,
  };

  /** When the broker was made (clock ms): uptime for the metrics. */
  readonly startedAt: number;

  /** Per-message events, logged once when they start and then as one summary per queue per interval. */
  readonly logs: BrokerLogSummaries;

  constructor(config: Config, clock: Clock, log: Logger) {
    // The configured users are hashed now; the broker keeps its config without their passwords.
    seedUsers(config, this.users, this.permissions);
    this.config = withoutPasswords(config);
    this.clock = clock;
    this.log = log;
    this.startedAt = clock.now();
    this.alarms = new Alarms(this.config, clock, log.child({ component: 'alarms' }));
    this.loop = new LoopMonitor(clock, log.child({ component: 'loop' }));
    this.logs = brokerLogSummaries(clock, log);
    this.rates = new RateSampler(clock, () => this.counterSets(), SAMPLE_INTERVAL_MS, (now) => this.stats.churn.sample(now));
    this.vhosts.set(this.config.defaultVhost, this.makeVhost(this.config.defaultVhost));
  }

  private makeVhost(name: string): VHost {
    const vhost = new VHost(name, this.clock, this.stats);
    vhost.defaultQueueType = this.access.vhostMetadata(name)?.defaultQueueType ?? 'classic';
    vhost.tasks = this.loop;
    vhost.pageAfterMessages = this.config.pageAfterMessages;
    vhost.replyTo = this.replyTo;
    const logs = this.logs;
    // Summaries are per queue; queue names repeat across vhosts.
    const key = (q: { name: string }): string => `${name}\u0000${q.name}`;
    vhost.listener.deadLettered = (q, reason, targets) => {
      const dlx = q.policy.deadLetterExchange;
      this.stats.noteDeadLettered(q.policy.type, reason, dlx !== undefined);
      if (targets === 0) this.metrics.deadLetterDropped++;
      else this.metrics.deadLettered.set(reason, (this.metrics.deadLettered.get(reason) ?? 0) + 1);
      // A poison message is worth a warning whether or not it had somewhere to go.
      if (reason === 'delivery_limit') logs.poison.note(key(q), targets > 0 ? 'dead_lettered' : 'dropped', { queue: q.name, vhost: vhost.name, dlx, deliveryLimit: q.policy.deliveryLimit });
      else if (targets > 0) logs.deadLettered.note(key(q), reason, { queue: q.name, vhost: vhost.name, dlx });
      // No DLX: expiry and overflow simply drop, as the queue was configured to; a DLX that
      // routes nowhere is a misconfiguration an operator wants to hear about.
      else if (dlx !== undefined) logs.deadLetterUnroutable.note(key(q), reason, { queue: q.name, vhost: vhost.name, dlx, dlxExists: vhost.exchanges.has(dlx) });
    };
    vhost.listener.deadLetterFailed = (q, reason, err) => {
      this.metrics.deadLetterDropped++;
      logs.deadLetterFailed.note(key(q), reason, { queue: q.name, vhost: vhost.name, err: err.message });
    };
    vhost.listener.queueRemoved = (q) => {
      for (const s of [logs.deadLettered, logs.poison, logs.deadLetterUnroutable, logs.deadLetterFailed, logs.deliveryFailed]) s.forget(key(q));
    };
    vhost.listener.deliveryFailed = (q, err) => {
      this.metrics.deliveryFailed++;
      logs.deliveryFailed.note(key(q), err.name, { queue: q.name, vhost: vhost.name, err: err.message, stack: err.stack });
    };
    return vhost;
  }

  /** The broker's message totals now: the sum over its vhosts (and those deleted). */
  messageTotals(): MessageCounters {
    return this.stats.refresh(this.vhosts.values());
  }

  /** Every counter set the rates are sampled for: the broker's, then per vhost, exchange, queue and channel. */
  *counterSets(): Generator<MessageCounters> {
    yield this.messageTotals();
    for (const v of this.vhosts.values()) {
      yield v.stats;
      for (const e of v.exchanges.values()) yield e.stats;
      for (const q of v.queues.values()) yield q.stats;
    }
    yield* this.stats.channels;
  }

  /**
   * The default vhost's stores (for tools and metrics that look at one vhost); connections use
   * their own vhost's `store`.
   */
  get persistence(): Persistence | null {
    return this.started ? (this.vhosts.get(this.config.defaultVhost)?.store ?? null) : null;
  }

  /**
   * Add vhost `name` (no-op if it exists). Once the broker is started its directory and stores
   * exist, durably, before the vhost can be found (so nothing is published to it unstored).
   */
  addVhost(name: string): Promise<VHost> {
    return this.serially(name, async () => {
      const existing = this.vhosts.get(name);
      if (existing !== undefined) return existing;
      const vhost = this.makeVhost(name);
      if (this.started) {
        try {
          await this.openStores(vhost, await createVhostDir(this.config.dataDir, name));
        } catch (err) {
          vhost.dispose();
          throw err;
        }
      }
      this.vhosts.set(name, vhost);
      return vhost;
    });
  }

  /** Delete vhost `name` with everything in it, on disk too; false if there is none. */
  deleteVhost(name: string): Promise<boolean> {
    return this.serially(name, async () => {
      const vhost = this.vhosts.get(name);
      if (vhost === undefined) return false;
      this.vhosts.delete(name);
      // Its clients go first (320, as RabbitMQ): nothing is published into a vhost being torn down.
      const closed = this.clients.closeVhost(name);
      if (closed > 0) this.log.info({ vhost: name, closedConnections: closed }, 'connections of a deleted vhost closed');
      this.stats.retireVhost(vhost);
      // As in RabbitMQ, the vhost's permissions and limits go with it.
      this.permissions.clearVhost(name);
      this.limits.clearVhost(name);
      vhost.dispose();
      // Detached first: anything still holding the vhost no longer writes to a closing store.
      const store = vhost.store;
      vhost.store = null;
      if (store !== null) await store.close();
      const dir = vhostDir(this.config.dataDir, name);
      try {
        // An HA leader's followers drop their copy too: left behind, it would be adopted as a
        // vhost when one of them is promoted (the access snapshot no longer names it).
        await this.accessReplication?.vhostRemoved(dir);
      } finally {
        await removeVhostDir(this.config.dataDir, name);
      }
      return true;
    });
  }

  /** Adds and deletes of one vhost run one after another: a delete must not rename a directory an add is opening. */
  private serially<T>(name: string, op: () => Promise<T>): Promise<T> {
    const next = (this.vhostOps.get(name) ?? Promise.resolve()).then(op);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.vhostOps.set(name, settled);
    void settled.then(() => {
      if (this.vhostOps.get(name) === settled) this.vhostOps.delete(name);
    });
    return next;
  }

  /** Open the stores in `dir` for `vhost`, rebuild what they hold, and attach them. */
  private async openStores(vhost: VHost, dir: string): Promise<RecoveryReport> {
    const p = new Persistence(dir, this.config.sync, this.config.syncIntervalMs, this.clock, this.log.child({ component: 'store', vhost: vhost.name }), this.replication?.(dir) ?? null);
    // Replicated stores are a promoted HA copy's: one missing its definitions must not start.
    const report = await recoverVhost(p, vhost, { replicated: this.replication !== null });
    // Publish confirms come back with the error; block publishers so nothing more is accepted.
    p.whenMessagesFail((err) => this.alarms.raiseStoreFailure(err));
    return report;
  }

  vhost(name: string): VHost | undefined {
    return this.vhosts.get(name);
  }

  /** Open the stores of every vhost under the data directory and rebuild durable state. */
  async start(options: StartOptions = {}): Promise<RecoveryReport> {
    this.loop.start(LOOP_WINDOW_MS);
    const started = this.clock.now();
    const storeLog = this.log.child({ component: 'store' });
    const found = await vhostsOnDisk(this.config.dataDir, storeLog);
    // The access state says which vhosts exist; it names the directories of deletions a crash interrupted.
    const access = await this.access.open(found, options.seedDefaults ?? true);
    const wanted = new Set(access.vhosts);
    for (const [name, v] of this.vhosts) {
      if (wanted.has(name)) continue;
      v.dispose();
      this.vhosts.delete(name);
    }
    const report = await this.loop.during('recovery', () =>
      recoverDataDir(this.config.dataDir, wanted, storeLog, async (name, dir) => {
        let vhost = this.vhosts.get(name);
        if (vhost === undefined) {
          vhost = this.makeVhost(name);
          this.vhosts.set(name, vhost);
        }
        return this.openStores(vhost, dir);
      }),
    );
    report.ms = this.clock.now() - started;
    this.started = true;
    await this.alarms.check();
    this.alarms.start(ALARM_CHECK_MS);
    this.rates.start();
    return report;
  }

  async stop(): Promise<void> {
    this.alarms.stop();
    this.rates.stop();
    this.loop.stop();
    this.started = false;
    for (const s of Object.values(this.logs)) s.close();
    for (const v of this.vhosts.values()) v.dispose();
    for (const v of this.vhosts.values()) if (v.store !== null) await v.store.close();
  }
}
