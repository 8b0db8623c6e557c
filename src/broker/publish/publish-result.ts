// What a publish asks for (PublishOptions) and what it did (PublishResult): the channel turns
// the result into basic.return and into its confirm, and never looks inside the broker.

import type { AccessContext } from '../auth/permissions.js';
import type { User } from '../auth/users.js';
import type { MessageDurability } from './durability.js';

export interface PublishOptions {
  /** basic.publish mandatory: a message routed nowhere comes back (basic.return NO_ROUTE). */
  mandatory: boolean;
  /** The authenticated user: a user-id property must name it. */
  user: string;
  /** The same user's record, for the impersonator tag; null: user-id must equal `user`. */
  authUser: User | null;
  /** The publisher's permissions (write on the exchange, topic write); null: not checked (internal publishes). */
  access: AccessContext | null;
  /** The publisher's direct reply-to token, or null when its channel has no reply consumer. */
  replyToken: string | null;
}

/**
 * One publish's outcome. Callers on the hot path keep one and pass it to every publish (the
 * fields are reset each time), so publishing allocates nothing for its result.
 */
export class PublishResult {
  /** Queues that took the message (a direct reply-to delivery counts as one). */
  routed = 0;
  /** mandatory, and routed nowhere: the publisher gets basic.return NO_ROUTE before its confirm. */
  returned = false;
  /** An x-message-deduplication exchange had seen its key: accepted and confirmed, routed nowhere. */
  deduplicated = false;
  /** Held by an x-delayed-message exchange until its x-delay has passed. */
  delayed = false;
  /** A queue refused it (x-overflow reject-publish) or the store failed: the confirm is a nack. */
  rejected = false;
  /**
   * The durability handle: the store the message was appended to and the mark of its (last)
   * append. A confirm waits until `durability.durable >= durableMark`. null when nothing was written.
   */
  durability: MessageDurability | null = null;
  durableMark = 0;

  reset(): void {
    this.routed = 0;
    this.returned = false;
    this.deduplicated = false;
    this.delayed = false;
    this.rejected = false;
    this.durability = null;
    this.durableMark = 0;
  }

  /** Whether a confirm of this publish must wait for a group commit. */
  get waitsForDisk(): boolean {
    return this.durability !== null && this.durableMark > this.durability.durable;
  }
}
