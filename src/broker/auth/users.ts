// Users and the login check, including RabbitMQ's loopback-only rule for guest.

import { timingSafeEqual } from 'node:crypto';
import type { UserConfig } from '../../config/config.js';

export type LoginResult = { ok: true; user: string } | { ok: false; reason: string };

export class Users {
  private readonly users = new Map<string, UserConfig>();

  constructor(users: readonly UserConfig[]) {
    for (const u of users) this.users.set(u.name, u);
  }

  check(mechanism: string, name: string, password: string, fromLoopback: boolean): LoginResult {
    const u = this.users.get(name);
    const a = Buffer.from(password);
    const b = Buffer.from(u?.password ?? '');
    if (u === undefined || a.length !== b.length || !timingSafeEqual(a, b)) {
      return {
        ok: false,
        reason: `Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`,
      };
    }
    if (u.loopbackOnly && !fromLoopback) {
      return { ok: false, reason: `User '${name}' can only connect via localhost` };
    }
    return { ok: true, user: name };
  }
}
