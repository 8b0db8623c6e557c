// Root pino logger and the child-logger conventions: one child per connection and per channel.
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/config.js';

export type { Logger };

export function createRootLogger(level: LogLevel): Logger {
  return pino({ name: 'warren', level, base: { pid: process.pid } });
}
