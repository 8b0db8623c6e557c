// The users a configuration asks for at start (default_user/default_pass, or the embedding API's
// `users`), as RabbitMQ creates its default user: hashed at once, tagged administrator when it is
// the default user (default_user_tags), with default_permissions (`.* .* .*`) on the default vhost.
// The broker keeps them only on the first start of a data dir (AccessAdmin.open).

import type { Config } from '../../config/config.js';
import type { PermissionStore } from './permissions.js';
import type { UserDatabase } from './users.js';

/** loopback_users, with a per-user loopbackOnly given explicitly (embedding) taking precedence. */
export function loopbackUsersOf(config: Config): string[] {
  const names = new Set(config.loopbackUsers);
  for (const u of config.users) {
    if (u.loopbackOnly) names.add(u.name);
    else names.delete(u.name);
  }
  return [...names];
}

export function seedUsers(config: Config, users: UserDatabase, permissions: PermissionStore): void {
  users.setLoopbackUsers(loopbackUsersOf(config));
  for (const u of config.users) {
    users.put({ name: u.name, password: u.password, tags: u.name === config.defaultUser ? config.defaultUserTags : [] });
    permissions.set(u.name, config.defaultVhost, config.defaultPermissions);
  }
}

/** The config as the broker keeps it: no password in plain text once the users are hashed. */
export function withoutPasswords(config: Config): Config {
  return { ...config, defaultPass: '', users: config.users.map((u) => ({ ...u, password: '' })) };
}
