// Error texts name the vhost they happened in (RabbitMQ's "... in vhost 'name'"), not '/'.

import { describe, expect, it } from 'vitest';
import { VHost } from '../../src/broker/vhost.js';
import { consumerPriority, parseQueueArguments } from '../../src/broker/queue/arguments.js';
import { AmqpError } from '../../src/protocol/errors.js';
import { ManualClock } from '../../src/util/clock.js';

const VHOST = 'tenant-a';
const queueOpts = { passive: false, durable: false, exclusive: false, autoDelete: false, args: {} };
const exchangeOpts = { passive: false, durable: false, autoDelete: false, internal: false, args: {} };

function textOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof AmqpError) return err.replyText;
    throw err;
  }
  throw new Error('expected an AMQP error');
}

describe('error texts name the vhost', () => {
  const owner = {};
  const other = {};
  const v = new VHost(VHOST, new ManualClock());
  v.declareQueue('q', queueOpts, owner);
  v.declareQueue('excl', { ...queueOpts, exclusive: true }, owner);
  v.declareExchange('x', 'direct', exchangeOpts);
  v.bindQueue('q', 'x', 'k', {}, owner);

  it.each([
    ['a missing queue', () => v.getQueue('nope', owner), `NOT_FOUND - no queue 'nope' in vhost '${VHOST}'`],
    ['a missing exchange', () => v.getExchange('nope'), `NOT_FOUND - no exchange 'nope' in vhost '${VHOST}'`],
    ['a system exchange deleted', () => v.deleteExchange('amq.direct', false), `ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '${VHOST}' not allowed`],
    ['an exchange in use', () => v.deleteExchange('x', true), `PRECONDITION_FAILED - exchange 'x' in vhost '${VHOST}' in use`],
    ['an inequivalent flag', () => v.declareQueue('q', { ...queueOpts, durable: true }, owner), `PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '${VHOST}': received 'true' but current is 'false'`],
    ['an inequivalent argument', () => v.declareQueue('q', { ...queueOpts, args: { 'x-max-length': 5 } }, owner), `PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue 'q' in vhost '${VHOST}': received the value '5' of type 'signedint' but current is none`],
    ['a locked queue', () => v.getQueue('excl', other), new RegExp(`^RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'excl' in vhost '${VHOST}'\\.`)],
    ['an invalid queue argument', () => v.declareQueue('bad', { ...queueOpts, args: { 'x-max-length': -1 } }, owner), `PRECONDITION_FAILED - invalid arg 'x-max-length' for queue 'bad' in vhost '${VHOST}': {value_negative,-1}`],
  ] as const)('%s', (_what, f, text) => {
    if (typeof text === 'string') expect(textOf(f)).toBe(text);
    else expect(textOf(f)).toMatch(text);
  });

  it('queue arguments and consumer priorities are checked against the vhost they are given', () => {
    expect(textOf(() => parseQueueArguments('q', { 'x-queue-type': 'stream' }, { durable: true, exclusive: false, autoDelete: false }, VHOST))).toBe(
      `PRECONDITION_FAILED - queue type 'stream' is not supported by this broker (queue 'q' in vhost '${VHOST}')`,
    );
    expect(textOf(() => consumerPriority('q', { 'x-priority': 'high' }, VHOST))).toBe(
      `PRECONDITION_FAILED - invalid arg 'x-priority' for queue 'q' in vhost '${VHOST}': "expected integer, got longstr"`,
    );
  });
});
