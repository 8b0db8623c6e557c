// The user database: names, password hashes, tags, and RabbitMQ's loopback-only rule (loopback_users).
// Passwords are hashed on the way in and never kept; login compares against the stored hash.

import type { MethodRef } from '../../protocol/errors.js';
import { BASIC_PUBLISH } from '../../protocol/generated/amqp.js';
import { userIdMismatch } from './refusals.js';
import {
  DEFAULT_HASHING_ALGORITHM,
  hashPassword,
  isValidPasswordHash,
  verifyPassword,
  type HashingAlgorithm,
} from './password-hash.js';

/** The tags RabbitMQ gives a meaning; any other tag is kept as given. */
export const KNOWN_TAGS = ['administrator', 'monitoring', 'policymaker', 'management', 'impersonator'] as const;
export type KnownTag = (typeof KNOWN_TAGS)[number];

export interface User {
  readonly name: string;
  /** base64(salt ‖ hash); '' for a user without a password, who cannot log in with one. */
  readonly passwordHash: string;
  readonly hashingAlgorithm: HashingAlgorithm;
  readonly tags: readonly string[];
}

/** A user to create or replace: a plain password (hashed here), a ready hash, or neither. */
export interface UserSpec {
  name: string;
  password?: string;
  passwordHash?: string;
  hashingAlgorithm?: HashingAlgorithm;
  tags?: string | readonly string[];
}

export type LoginResult =
  | { ok: true; user: User }
  /** `detail` is for the log only (RabbitMQ's wording); the client always gets loginRefusedText. */
  | { ok: false; detail: string };

export class UserError extends Error {
  override readonly name = 'UserError';
}

/** Tags as RabbitMQ takes them: an array, or a comma-separated string; trimmed, empty ones dropped, duplicates once. */
export function parseTags(tags: string | readonly string[] | undefined): string[] {
  if (tags === undefined) return [];
  const list = typeof tags === 'string' ? tags.split(',') : tags;
  const out: string[] = [];
  for (const t of list) {
    const tag = t.trim();
    if (tag !== '' && !out.includes(tag)) out.push(tag);
  }
  return out;
}

export function hasTag(user: User, tag: KnownTag): boolean {
  return user.tags.includes(tag);
}

/**
 * basic.publish's user-id property must name the logged-in user, unless the user has the
 * impersonator tag (rabbit_access_control:check_user_id/2): 406 otherwise. No user-id: nothing to check.
 */
export function checkUserId(userId: string | undefined, user: User, method: MethodRef = BASIC_PUBLISH): void {
  if (userId === undefined || userId === user.name || user.tags.includes('impersonator')) return;
  throw userIdMismatch(userId, user.name, method);
}

/**
 * A hash to spend the same time on when the user does not exist, so response time does not tell
 * which names exist. Its value matches no password (a fixed salt, the digest of a random string).
 */
const DUMMY_HASH = hashPassword(`no such user ${Math.random()}`);

export class UserDatabase {
  private readonly users = new Map<string, User>();
  private loopbackUsers: ReadonlySet<string>;
  /** Bumped on every change, so holders of derived state (connections, caches) can tell. */
  version = 0;

  constructor(loopbackUsers: readonly string[] = ['guest']) {
    this.loopbackUsers = new Set(loopbackUsers);
  }

  /** Create or replace a user. A plain password is hashed here and not kept. */
  put(spec: UserSpec): User {
    if (spec.name === '') throw new UserError('user name must not be empty');
    if (spec.password !== undefined && spec.passwordHash !== undefined) {
      throw new UserError(`user '${spec.name}': give a password or a password hash, not both`);
    }
    const hashingAlgorithm = spec.hashingAlgorithm ?? DEFAULT_HASHING_ALGORITHM;
    let passwordHash = '';
    if (spec.password !== undefined) {
      passwordHash = hashPassword(spec.password, hashingAlgorithm);
    } else if (spec.passwordHash !== undefined && spec.passwordHash !== '') {
      if (!isValidPasswordHash(spec.passwordHash, hashingAlgorithm)) {
        throw new UserError(`user '${spec.name}': password hash is not a valid ${hashingAlgorithm} hash`);
      }
      passwordHash = spec.passwordHash;
    }
    const user: User = { name: spec.name, passwordHash, hashingAlgorithm, tags: parseTags(spec.tags) };
    this.users.set(user.name, user);
    this.version++;
    return user;
  }

  /** Replace only the tags (rabbitmqctl set_user_tags). */
  setTags(name: string, tags: string | readonly string[]): User {
    const u = this.users.get(name);
    if (u === undefined) throw new UserError(`no user '${name}'`);
    const user: User = { ...u, tags: parseTags(tags) };
    this.users.set(name, user);
    this.version++;
    return user;
  }

  delete(name: string): boolean {
    const had = this.users.delete(name);
    if (had) this.version++;
    return had;
  }

  get(name: string): User | undefined {
    return this.users.get(name);
  }

  list(): User[] {
    return [...this.users.values()];
  }

  get size(): number {
    return this.users.size;
  }

  setLoopbackUsers(names: readonly string[]): void {
    this.loopbackUsers = new Set(names);
    this.version++;
  }

  isLoopbackOnly(name: string): boolean {
    return this.loopbackUsers.has(name);
  }

  /**
   * SASL EXTERNAL: the transport proved the name (a verified TLS client certificate); the user
   * must exist, and the loopback rule applies as to any login.
   */
  authenticateExternal(name: string, fromLoopback: boolean): LoginResult {
    const u = this.users.get(name);
    if (u === undefined) return { ok: false, detail: `user '${name}' - invalid credentials` };
    if (!fromLoopback && this.loopbackUsers.has(name)) return { ok: false, detail: `user '${name}' can only connect via localhost` };
    return { ok: true, user: u };
  }

  /**
   * The PLAIN/AMQPLAIN check. Wrong password, unknown user and a user without a password all fail
   * alike (same work, same client text); a blank password is refused before hashing, as RabbitMQ's
   * internal backend does.
   */
  authenticate(name: string, password: string, fromLoopback: boolean): LoginResult {
    const u = this.users.get(name);
    if (password === '') {
      return { ok: false, detail: `user '${name}' attempted to log in with a blank password` };
    }
    const refused: LoginResult = { ok: false, detail: `user '${name}' - invalid credentials` };
    if (u === undefined) {
      verifyPassword(password, DUMMY_HASH, DEFAULT_HASHING_ALGORITHM);
      return refused;
    }
    if (!verifyPassword(password, u.passwordHash, u.hashingAlgorithm)) return refused;
    if (!fromLoopback && this.loopbackUsers.has(name)) {
      return { ok: false, detail: `user '${name}' can only connect via localhost` };
    }
    return { ok: true, user: u };
  }
}
