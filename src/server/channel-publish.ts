// basic.publish on a channel: turns the assembled command into a broker publish, and the result
// into frames (basic.return for mandatory messages routed nowhere, then the confirm).
// Publish semantics live in broker/publish/.

import { Message } from '../broker/message.js';
import { PublishResult, type PublishOptions } from '../broker/publish/publish-result.js';
import type { CommandAssembler } from '../protocol/command-assembler.js';
import * as M from '../protocol/generated/amqp.js';
import type { ChannelContext } from './channel-context.js';
import type { ConfirmTracker } from './confirm-tracker.js';
import type { Transaction } from './tx.js';

export class ChannelPublish {
  private readonly ch: ChannelContext;
  /** Shared with the consume side, which sets the direct reply-to token. */
  private readonly options: PublishOptions;
  /** Reused by every publish of the channel. */
  private readonly result = new PublishResult();
  /** Set by confirm.select. */
  confirms: ConfirmTracker | null = null;
  /** Exchange name and routing key of the previous publish (see onCommand). */
  private lastExchange = '';
  private lastRoutingKey = '';

  constructor(ch: ChannelContext, options: PublishOptions) {
    this.ch = ch;
    this.options = options;
  }

  /** A complete basic.publish command (method, header, body). */
  onCommand(a: CommandAssembler): void {
    const method = a.method as M.BasicPublish;
    // Reuse the previous publish's strings when equal: a queued message then shares them instead of
    // holding its own copy of the same exchange name and routing key (~50 B each).
    if (method.exchange !== this.lastExchange) this.lastExchange = method.exchange;
    if (method.routingKey !== this.lastRoutingKey) this.lastRoutingKey = method.routingKey;
    const message = new Message(this.lastExchange, this.lastRoutingKey, a.header as Buffer, a.body, a.bodySize);
    a.reset();
    const tx = this.ch.tx;
    if (tx !== null) {
      this.options.mandatory = method.mandatory;
      this.ch.vhost.checkPublish(message, this.options); // errors surface at publish time, as in RabbitMQ
      tx.addPublish(message, method.mandatory);
      return;
    }
    this.publish(message, method.mandatory);
    message.forgetProperties();
  }

  /** Publish now; true if the message was written to the store. */
  private publish(message: Message, mandatory: boolean): boolean {
    this.options.mandatory = mandatory;
    const st = this.ch.stats;
    const r = this.ch.vhost.publish(message, this.options, this.result);
    // Counted once accepted: a publish refused (403, 404, 406) is no publish, as in RabbitMQ.
    st.publish++;
    if (r.routed > 0) st.routed++;
    else if (r.returned) st.returnUnroutable++;
    else if (!r.deduplicated && !r.delayed) st.dropUnroutable++;
    if (r.returned) this.returnUnroutable(message);
    if (this.confirms !== null) {
      st.publishedForConfirm();
      this.confirms.published(r);
    }
    return r.durability !== null;
  }

  /** basic.return NO_ROUTE, before the publish's confirm. */
  private returnUnroutable(message: Message): void {
    this.ch.send({ id: M.BASIC_RETURN, replyCode: M.ReplyCode.NO_ROUTE, replyText: 'NO_ROUTE', exchange: message.exchange, routingKey: message.routingKey });
    this.ch.sendContent(message, message.header);
  }

  /**
   * tx.commit: apply the held publishes and acks; commit-ok means the persistent messages are on
   * disk (and, in HA, in the replicated log). If they never will be, commit-ok is never sent: the
   * connection ends, as for a failed store.
   */
  commit(tx: Transaction): void {
    const onDisk = tx.commit((p) => this.publish(p.message, p.mandatory));
    const p = this.ch.host.persistence;
    if (onDisk && p !== null) {
      this.ch.holdRepliesUntil((cb) => p.whenMessagesDurable((err) => (err === null ? cb(null) : this.ch.host.durableWaitFailed(err, this.ch.id))));
    }
    this.ch.send({ id: M.TX_COMMIT_OK });
  }
}
