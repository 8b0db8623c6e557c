// rabbitmq.conf keys of resource limits and timeouts (memory and disk alarms, sizes, heartbeats) and logging.

import type { LogLevel } from './config.js';
import { bool, bytesize, ConfValueError, float, informationUnit, integer, oneOf } from './conf-values.js';
import { type KeySpec, set } from './conf-spec.js';

/** The largest timer delay Node.js honours (2^31 - 1 ms, about 24.8 days); larger ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** AMQP 0-9-1 §4.2.3 FRAME-MIN-SIZE; frame_max is a 32-bit field. */
const FRAME_MIN = 4096;
const FRAME_MAX = 2 ** 32 - 1;
/** RabbitMQ's max_message_size ceiling: 512 MiB. */
const MESSAGE_SIZE_MAX = 512 * 1024 * 1024;

/** RabbitMQ's log levels (Erlang logger) to pino's. */
const LOG_LEVELS: Record<string, LogLevel> = {
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
  alert: 'fatal',
  emergency: 'fatal',
  none: 'silent',
};

/** Listed in KEYS (conf-keys.ts) in this order. */
export const RESOURCE_KEYS: readonly KeySpec[] = [
  {
    key: 'vm_memory_high_watermark.relative',
    values: 'a fraction of memory above 0 and below 1 (e.g. 0.4)',
    effect: 'memory alarm threshold; .absolute wins when both are set',
    apply: (v, _e, g) => {
      const f = float(v, 0, 1);
      // RabbitMQ takes 0 as "block all publishing"; warren's alarm takes 0 as no watermark at all.
      if (f === 0) throw new ConfValueError('0 (block all publishing) is not supported; give a fraction above 0');
      g.memRelative = f;
    },
  },
  {
    key: 'vm_memory_high_watermark.absolute',
    values: 'bytes, with an optional unit: 1073741824, 1024MiB, 1GB',
    effect: 'memory alarm threshold in bytes',
    apply: (v, _e, g) => {
      const n = informationUnit(v);
      if (n === 0) throw new ConfValueError('0 (block all publishing) is not supported; give a size above 0');
      g.memAbsolute = n;
    },
  },
  {
    key: 'disk_free_limit.absolute',
    values: 'bytes, with an optional unit: 50000000, 50MB, 2GiB',
    effect: 'free disk below which publishers are blocked; wins over .relative',
    apply: (v, _e, g) => {
      g.diskAbsolute = informationUnit(v);
    },
  },
  {
    key: 'disk_free_limit.relative',
    values: 'a multiple of total memory (e.g. 1.5)',
    effect: 'the same, as a multiple of total memory (as RabbitMQ)',
    apply: (v, _e, g) => {
      g.diskRelative = float(v, 0, Infinity);
    },
  },
  {
    key: 'consumer_timeout',
    values: 'milliseconds, at least 1',
    effect: 'how long a delivery may stay unacknowledged',
    apply: set('consumerTimeout', (v) => integer(v, 1, Number.MAX_SAFE_INTEGER)),
  },
  {
    key: 'max_message_size',
    values: 'bytes, 1 to 536870912',
    effect: 'largest message body accepted (`--max-message-size`)',
    apply: set('maxMessageSize', (v) => integer(v, 1, MESSAGE_SIZE_MAX)),
  },
  {
    key: 'heartbeat',
    values: 'seconds, 0 to 65535 (0: none)',
    effect: 'heartbeat interval offered in connection.tune',
    apply: set('heartbeat', (v) => integer(v, 0, 65535)),
  },
  {
    key: 'frame_max',
    values: 'bytes, 4096 to 4294967295, with an optional KB/MB (powers of 1024)',
    effect: 'largest frame offered in connection.tune',
    apply: set('frameMax', (v) => bytesize(v, FRAME_MIN, FRAME_MAX)),
  },
  {
    key: 'channel_max',
    values: '0 to 65535 (0: no limit, that is 65535)',
    effect: 'channels per connection offered in connection.tune',
    apply: set('channelMax', (v) => integer(v, 0, 65535) || 65535),
  },
  {
    key: 'handshake_timeout',
    values: 'milliseconds, or `infinity` (taken as 2147483647 ms)',
    effect: 'time from accept to connection.open (and the TLS handshake)',
    apply: set('handshakeTimeout', (v) => (v === 'infinity' ? MAX_TIMER_MS : integer(v, 1, MAX_TIMER_MS))),
  },
  {
    key: 'log.console',
    values: '`true` or `false`',
    effect: 'warren always logs to standard output; false is ignored with a warning (use log.console.level = none)',
    apply: (v, e, g) => {
      if (!bool(v)) g.warnings.push({ key: e.key, line: e.line, hint: 'warren always logs to standard output; set log.console.level = none to silence it' });
    },
  },
  {
    key: 'log.console.level',
    values: 'debug, info, notice, warning, error, critical, alert, emergency or none',
    effect: 'log level (`--log-level`); notice logs as info, critical and above as fatal',
    apply: set('logLevel', (v) => LOG_LEVELS[oneOf(v, Object.keys(LOG_LEVELS))] as LogLevel),
  },
];
