// The broker's summarised log lines: events that happen once per message are logged when they
// start and then counted, one line per queue per interval (see util/log-summary.ts).

import type { Logger } from '../log.js';
import type { Clock } from '../util/clock.js';
import { LogSummary } from '../util/log-summary.js';

export interface BrokerLogSummaries {
  /** Messages republished to a dead-letter exchange (counts by reason). */
  deadLettered: LogSummary;
  /** Messages that reached their delivery limit (x-delivery-limit): poison. Counts by fate (dead_lettered, dropped). */
  poison: LogSummary;
  /** Dead-lettered messages the DLX routed nowhere (or whose DLX does not exist): dropped. */
  deadLetterUnroutable: LogSummary;
  /** Dead-lettered messages whose stored header did not decode: dropped. */
  deadLetterFailed: LogSummary;
  /** Deliveries that threw (a broker fault), per queue (counts by error name): the message leaves as rejected. */
  deliveryFailed: LogSummary;
  /** Refused logins, per peer address (counts by mechanism): password guessing is a flood too. */
  authFailed: LogSummary;
  /** Channel errors, per connection (counts by reply code): a client can loop on a failing operation. */
  channelErrors: LogSummary;
}

export function brokerLogSummaries(clock: Clock, log: Logger, intervalMs?: number): BrokerLogSummaries {
  const opts = { countsField: 'reasons', intervalMs };
  return {
    deadLettered: new LogSummary(clock, log, { ...opts, level: 'info', msg: 'messages dead-lettered' }),
    poison: new LogSummary(clock, log, { intervalMs, countsField: 'outcomes', level: 'warn', msg: 'poison message: delivery limit reached' }),
    deadLetterUnroutable: new LogSummary(clock, log, { ...opts, level: 'warn', msg: 'dead-lettered message dropped: the dead-letter exchange routed it nowhere' }),
    deadLetterFailed: new LogSummary(clock, log, { ...opts, level: 'error', msg: 'message could not be dead-lettered; dropped' }),
    deliveryFailed: new LogSummary(clock, log, { intervalMs, countsField: 'errors', level: 'error', msg: 'message could not be delivered; dead-lettered as rejected' }),
    // RabbitMQ logs a refused login at error; operators here asked for warn (the client's fault, not the broker's).
    authFailed: new LogSummary(clock, log, { intervalMs, countsField: 'mechanisms', level: 'warn', msg: 'authentication failed' }),
    channelErrors: new LogSummary(clock, log, { intervalMs, countsField: 'replyCodes', level: 'error', msg: 'channel error' }),
  };
}
