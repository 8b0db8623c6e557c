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
import { Alarms } from './flow.js';
import { LoopMonitor } from '../util/loop-monitor.js';
import { brokerLogSummaries, type BrokerLogSummaries } from './log-summaries.js';

/** How often memory and disk are checked (RabbitMQ checks about once a second too). */
const ALARM_CHECK_MS = 1000;
/** Window over which the event-loop lag gauge takes its maximum. */
const LOOP_WINDOW_MS = 1000;
import { Persistence, type RecoveryReport } from './persistence.js';
import { DirectReplyTo } from './publish/direct-reply-to.js';

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

  readonly alarms: Alarms;
  /** Event-loop lag and long synchronous tasks. */
  readonly loop: LoopMonitor;
  /** The stores, once start() opened them. */
  persistence: Persistence | null = null;
  /** Counters operators alert on. */
  readonly metrics = {
    /** Messages republished to a dead-letter exchange, by reason. */
    deadLettered: new Map<string, number>(),
    /** Messages dead-lettered with no DLX (or no route): dropped. */
    deadLetterDropped: 0,
    /** Deliveries that threw (a broker fault); each such message was dead-lettered or dropped. */
    deliveryFailed: 0,
  };

  /** Per-message events, logged once when they start and then as one summary per queue per interval. */
  readonly logs: BrokerLogSummaries;

  constructor(config: Config, clock: Clock, log: Logger) {
    // The configured users are hashed now; the broker keeps its config without their passwords.
    seedUsers(config, this.users, this.permissions);
    this.config = withoutPasswords(config);
    this.clock = clock;
    this.log = log;
    this.alarms = new Alarms(this.config, clock, log.child({ component: 'alarms' }));
    this.loop = new LoopMonitor(clock, log.child({ component: 'loop' }));
    this.logs = brokerLogSummaries(clock, log);
    const vhost = new VHost('/', clock);
    vhost.tasks = this.loop;
    vhost.pageAfterMessages = config.pageAfterMessages;
    vhost.replyTo = this.replyTo;
    const logs = this.logs;
    vhost.listener.deadLettered = (q, reason, targets) => {
      const dlx = q.policy.deadLetterExchange;
      if (targets === 0) this.metrics.deadLetterDropped++;
      else this.metrics.deadLettered.set(reason, (this.metrics.deadLettered.get(reason) ?? 0) + 1);
      // A poison message is worth a warning whether or not it had somewhere to go.
      if (reason === 'delivery_limit') logs.poison.note(q.name, targets > 0 ? 'dead_lettered' : 'dropped', { queue: q.name, vhost: vhost.name, dlx, deliveryLimit: q.policy.deliveryLimit });
      else if (targets > 0) logs.deadLettered.note(q.name, reason, { queue: q.name, vhost: vhost.name, dlx });
      // No DLX: expiry and overflow simply drop, as the queue was configured to; a DLX that
      // routes nowhere is a misconfiguration an operator wants to hear about.
      else if (dlx !== undefined) logs.deadLetterUnroutable.note(q.name, reason, { queue: q.name, vhost: vhost.name, dlx, dlxExists: vhost.exchanges.has(dlx) });
    };
    vhost.listener.deadLetterFailed = (q, reason, err) => {
      this.metrics.deadLetterDropped++;
      logs.deadLetterFailed.note(q.name, reason, { queue: q.name, vhost: vhost.name, err: err.message });
    };
    vhost.listener.queueRemoved = (q) => {
      for (const s of [logs.deadLettered, logs.poison, logs.deadLetterUnroutable, logs.deadLetterFailed, logs.deliveryFailed]) s.forget(q.name);
    };
    vhost.listener.deliveryFailed = (q, err) => {
      this.metrics.deliveryFailed++;
      logs.deliveryFailed.note(q.name, err.name, { queue: q.name, vhost: vhost.name, err: err.message, stack: err.stack });
    };
    this.vhosts.set('/', vhost);
  }

  vhost(name: string): VHost | undefined {
    return this.vhosts.get(name);
  }

  /** Open the stores under the data directory and rebuild durable state. */
  async start(): Promise<RecoveryReport> {
    const p = new Persistence(this.config.dataDir, this.config.sync, this.config.syncIntervalMs, this.clock, this.log.child({ component: 'store' }));
    const vhost = this.vhosts.get('/') as VHost;
    this.loop.start(LOOP_WINDOW_MS);
    const report = await this.loop.during('recovery', () => p.open(vhost));
    p.attach(vhost);
    this.persistence = p;
    // Publish confirms come back with the error; block publishers so nothing more is accepted.
    p.whenMessagesFail((err) => this.alarms.raiseStoreFailure(err));
    await this.alarms.check();
    this.alarms.start(ALARM_CHECK_MS);
    return report;
  }

  async stop(): Promise<void> {
    this.alarms.stop();
    this.loop.stop();
    for (const s of Object.values(this.logs)) s.close();
    for (const v of this.vhosts.values()) v.dispose();
    if (this.persistence !== null) await this.persistence.close();
    this.persistence = null;
  }
}
