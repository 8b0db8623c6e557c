// Direct reply-to (RabbitMQ's amq.rabbitmq.reply-to): a requester consumes the pseudo-queue,
// its requests carry a reply-to address naming its channel, and replies published to that
// address go straight to the requester's channel, bypassing queues.

import { randomBytes } from 'node:crypto';
import type { Message } from '../message.js';

/** The pseudo-queue a requester consumes from (no-ack) and names in reply-to. */
export const REPLY_TO_QUEUE = 'amq.rabbitmq.reply-to';
/** Prefix of the routing key a reply is published with (default exchange); the token follows. */
export const REPLY_TO_PREFIX = 'amq.rabbitmq.reply-to.';

/** Where a reply goes: the requesting channel's pseudo-consumer. */
export interface ReplyToTarget {
  /** Deliver a reply; false if the requester is gone (the reply is then unroutable). */
  deliverReply(message: Message): boolean;
}

/** Tokens of live reply consumers, shared by every vhost (as in RabbitMQ, a reply address names a channel). */
export class DirectReplyTo {
  private readonly targets = new Map<string, ReplyToTarget>();

  /** Register a reply consumer; returns its token. */
  register(target: ReplyToTarget): string {
    // 22 url-safe base64 characters, like RabbitMQ's generated names.
    const token = randomBytes(16).toString('base64url').slice(0, 22);
    this.targets.set(token, target);
    return token;
  }

  unregister(token: string): void {
    this.targets.delete(token);
  }

  get(token: string): ReplyToTarget | undefined {
    return this.targets.get(token);
  }

  get size(): number {
    return this.targets.size;
  }
}
