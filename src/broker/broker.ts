// The broker: configuration, vhosts, users, and registries shared by all connections.

import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { Clock } from '../util/clock.js';
import { Users } from './auth/users.js';
import type { Message } from './message.js';
import { VHost } from './vhost.js';

/** Where a direct reply-to reply goes: the requesting channel's pseudo-consumer. */
export interface ReplyToTarget {
  deliverReply(message: Message): boolean;
}

export class Broker {
  readonly config: Config;
  readonly clock: Clock;
  readonly log: Logger;
  readonly users: Users;
  readonly vhosts = new Map<string, VHost>();
  /** Direct reply-to tokens (`amq.rabbitmq.reply-to.<token>`) to their channel. */
  readonly replyTo = new Map<string, ReplyToTarget>();

  /** Counters operators alert on. */
  readonly metrics = {
    /** Messages republished to a dead-letter exchange, by reason. */
    deadLettered: new Map<string, number>(),
    /** Messages dead-lettered with no DLX (or no route): dropped. */
    deadLetterDropped: 0,
  };

  constructor(config: Config, clock: Clock, log: Logger) {
    this.config = config;
    this.clock = clock;
    this.log = log;
    this.users = new Users(config.users);
    const vhost = new VHost('/', clock);
    vhost.listener.deadLettered = (q, reason, targets) => {
      if (targets === 0) {
        this.metrics.deadLetterDropped++;
        return;
      }
      this.metrics.deadLettered.set(reason, (this.metrics.deadLettered.get(reason) ?? 0) + 1);
      // Poison messages and expiries reaching a DLQ are what operators want to hear about.
      this.log.warn({ queue: q.name, reason, dlx: q.policy.deadLetterExchange, targets }, 'message dead-lettered');
    };
    this.vhosts.set('/', vhost);
  }

  vhost(name: string): VHost | undefined {
    return this.vhosts.get(name);
  }
}
