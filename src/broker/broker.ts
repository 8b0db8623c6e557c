// The broker: configuration, vhosts, users, and registries shared by all connections.

import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { Clock } from '../util/clock.js';
import { Users } from './auth/users.js';
import { VHost } from './vhost.js';
import { Alarms } from './flow.js';
import { LoopMonitor } from '../util/loop-monitor.js';

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
  readonly users: Users;
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

  constructor(config: Config, clock: Clock, log: Logger) {
    this.config = config;
    this.clock = clock;
    this.log = log;
    this.users = new Users(config.users);
    this.alarms = new Alarms(config, clock, log.child({ component: 'alarms' }));
    this.loop = new LoopMonitor(clock, log.child({ component: 'loop' }));
    const vhost = new VHost('/', clock);
    vhost.tasks = this.loop;
    vhost.pageAfterMessages = config.pageAfterMessages;
    vhost.replyTo = this.replyTo;
    vhost.listener.deadLettered = (q, reason, targets) => {
      if (targets === 0) {
        this.metrics.deadLetterDropped++;
        return;
      }
      this.metrics.deadLettered.set(reason, (this.metrics.deadLettered.get(reason) ?? 0) + 1);
      // Poison messages and expiries reaching a DLQ are what operators want to hear about.
      this.log.warn({ queue: q.name, reason, dlx: q.policy.deadLetterExchange, targets }, 'message dead-lettered');
    };
    vhost.listener.deadLetterFailed = (q, reason, err) => {
      this.metrics.deadLetterDropped++;
      this.log.error({ queue: q.name, reason, err: err.message }, 'message could not be dead-lettered; dropped');
    };
    vhost.listener.deliveryFailed = (q, err) => {
      this.metrics.deliveryFailed++;
      this.log.error({ queue: q.name, err: err.message, stack: err.stack }, 'message could not be delivered; dead-lettered as rejected');
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
    for (const v of this.vhosts.values()) v.dispose();
    if (this.persistence !== null) await this.persistence.close();
    this.persistence = null;
  }
}
