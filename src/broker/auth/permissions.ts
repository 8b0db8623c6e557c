// Permissions: per user and vhost, RabbitMQ's configure/write/read regular expressions over resource
// names, and topic permissions (write/read over routing keys, per topic exchange). Patterns are
// compiled once; each user+vhost gets one AccessContext whose answers are cached per resource, so a
// publish pays a map lookup, not a regex. Any change bumps `version`, and contexts rebuild lazily.

import type { MethodRef } from '../../protocol/errors.js';
import { resourceAccessRefused, topicAccessRefused, type ResourceKind } from './refusals.js';

export type Permission = 'configure' | 'write' | 'read';
export type TopicPermission = 'write' | 'read';

export interface PermissionPatterns {
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

export interface TopicPatterns {
  readonly write: string;
  readonly read: string;
}

export interface PermissionEntry extends PermissionPatterns {
  readonly user: string;
  readonly vhost: string;
}

export interface TopicPermissionEntry extends TopicPatterns {
  readonly user: string;
  readonly vhost: string;
  readonly exchange: string;
}

export class InvalidPatternError extends Error {
  override readonly name = 'InvalidPatternError';
}

/** The default exchange is checked under this name (rabbit_access_control:check_resource_access/4). */
export const DEFAULT_EXCHANGE_RESOURCE = 'amq.default';

/**
 * RabbitMQ matches with an unanchored search (re:run), and reads an empty pattern as `^$`: since
 * no resource name is empty, '' grants nothing. Patterns are JavaScript regular expressions; PCRE
 * syntax JavaScript lacks (inline flags like `(?i)`, possessive quantifiers) is refused here.
 */
export function compilePattern(pattern: string, what = 'permission'): RegExp {
  try {
    return new RegExp(pattern === '' ? '^$' : pattern);
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/^Invalid regular expression: /, '') : String(err);
    throw new InvalidPatternError(`invalid regular expression '${pattern}' for ${what}: ${why}`);
  }
}

/** `{username}` and `{vhost}` in a topic pattern stand for the connection's user and vhost (inserted as is). */
export function expandTopicPattern(pattern: string, user: string, vhost: string): string {
  return pattern.replace(/\{(username|vhost)\}/g, (_m, v: string) => (v === 'username' ? user : vhost));
}

interface Grant {
  readonly patterns: PermissionPatterns;
  /** configure, write, read */
  readonly compiled: readonly [RegExp, RegExp, RegExp];
}

/** A bound on each answer cache; RabbitMQ's channel keeps only a dozen (MAX_PERMISSION_CACHE_SIZE). */
const MAX_CACHED = 4096;

export class PermissionStore {
  private readonly grants = new Map<string, Map<string, Grant>>();
  private readonly topics = new Map<string, Map<string, Map<string, TopicPatterns>>>();
  private readonly contexts = new Map<string, Map<string, AccessContext>>();
  /** Bumped on every change; AccessContexts compare it on each check (one integer compare). */
  version = 0;

  /** rabbitmqctl set_permissions: every pattern is compiled first, so a bad one changes nothing. */
  set(user: string, vhost: string, patterns: PermissionPatterns): void {
    const compiled = [
      compilePattern(patterns.configure, `configure permission of user '${user}' in vhost '${vhost}'`),
      compilePattern(patterns.write, `write permission of user '${user}' in vhost '${vhost}'`),
      compilePattern(patterns.read, `read permission of user '${user}' in vhost '${vhost}'`),
    ] as const;
    const { configure, write, read } = patterns;
    inner(this.grants, user).set(vhost, { patterns: { configure, write, read }, compiled });
    this.version++;
  }

  clear(user: string, vhost: string): boolean {
    const had = this.grants.get(user)?.delete(vhost) ?? false;
    if (had) this.version++;
    return had;
  }

  get(user: string, vhost: string): PermissionPatterns | undefined {
    return this.grants.get(user)?.get(vhost)?.patterns;
  }

  list(): PermissionEntry[] {
    const out: PermissionEntry[] = [];
    for (const [user, byVhost] of this.grants) for (const [vhost, g] of byVhost) out.push({ user, vhost, ...g.patterns });
    return out;
  }

  /** rabbitmqctl set_topic_permissions. */
  setTopic(user: string, vhost: string, exchange: string, patterns: TopicPatterns): void {
    compilePattern(patterns.write, `topic write permission of user '${user}' in vhost '${vhost}' on exchange '${exchange}'`);
    compilePattern(patterns.read, `topic read permission of user '${user}' in vhost '${vhost}' on exchange '${exchange}'`);
    inner(inner(this.topics, user), vhost).set(exchange, { write: patterns.write, read: patterns.read });
    this.version++;
  }

  /** Without `exchange`: all of the user's topic permissions in the vhost. */
  clearTopic(user: string, vhost: string, exchange?: string): boolean {
    const byExchange = this.topics.get(user)?.get(vhost);
    if (byExchange === undefined) return false;
    const had = exchange === undefined ? byExchange.size > 0 : byExchange.has(exchange);
    if (exchange === undefined) byExchange.clear();
    else byExchange.delete(exchange);
    if (had) this.version++;
    return had;
  }

  getTopic(user: string, vhost: string, exchange: string): TopicPatterns | undefined {
    return this.topics.get(user)?.get(vhost)?.get(exchange);
  }

  listTopic(): TopicPermissionEntry[] {
    const out: TopicPermissionEntry[] = [];
    for (const [user, byVhost] of this.topics) {
      for (const [vhost, byExchange] of byVhost) for (const [exchange, p] of byExchange) out.push({ user, vhost, exchange, ...p });
    }
    return out;
  }

  /** A user was deleted: all their permissions go with them. */
  clearUser(user: string): void {
    this.grants.delete(user);
    this.topics.delete(user);
    this.contexts.delete(user);
    this.version++;
  }

  /** A vhost was deleted. */
  clearVhost(vhost: string): void {
    for (const m of this.grants.values()) m.delete(vhost);
    for (const m of this.topics.values()) m.delete(vhost);
    for (const m of this.contexts.values()) m.delete(vhost);
    this.version++;
  }

  /** The shared, cached view for one user in one vhost (what a connection holds after connection.open). */
  access(user: string, vhost: string): AccessContext {
    const byVhost = inner(this.contexts, user);
    let ctx = byVhost.get(vhost);
    if (ctx === undefined) {
      ctx = new AccessContext(this, user, vhost);
      byVhost.set(vhost, ctx);
    }
    return ctx;
  }

  /** @internal for AccessContext */
  grantOf(user: string, vhost: string): Grant | undefined {
    return this.grants.get(user)?.get(vhost);
  }

  /** @internal for AccessContext */
  topicsOf(user: string, vhost: string): ReadonlyMap<string, TopicPatterns> | undefined {
    return this.topics.get(user)?.get(vhost);
  }
}

/** Compiled topic patterns after expansion; null where the expansion made the pattern invalid (denies). */
interface TopicRule {
  readonly write: RegExp | null;
  readonly read: RegExp | null;
  /** Cached answers by routing key. */
  readonly writeAnswers: Map<string, boolean>;
  readonly readAnswers: Map<string, boolean>;
}

/**
 * One user's rights in one vhost. Checks throw RabbitMQ's 403 (a channel error) or return nothing;
 * `method` is the offending method for the channel.close (the catch site fills it in when omitted).
 */
export class AccessContext {
  readonly user: string;
  readonly vhost: string;
  private readonly store: PermissionStore;
  private seen = -1;
  private grant: Grant | undefined = undefined;
  /** Cached answers, index permission * 2 + kind (queue 0, exchange 1), keyed by resource name. */
  private readonly answers: Map<string, boolean>[] = [];
  /** The last name asked per slot and its answer (the common case: the same exchange every publish). */
  private readonly lastName: (string | null)[] = [null, null, null, null, null, null];
  private readonly lastAnswer: boolean[] = [false, false, false, false, false, false];
  private readonly topicRules = new Map<string, TopicRule>();

  constructor(store: PermissionStore, user: string, vhost: string) {
    this.store = store;
    this.user = user;
    this.vhost = vhost;
    for (let i = 0; i < 6; i++) this.answers.push(new Map());
  }

  private sync(): void {
    if (this.seen === this.store.version) return;
    this.seen = this.store.version;
    this.grant = this.store.grantOf(this.user, this.vhost);
    for (const m of this.answers) m.clear();
    this.lastName.fill(null);
    this.topicRules.clear();
    for (const [exchange, p] of this.store.topicsOf(this.user, this.vhost) ?? []) {
      this.topicRules.set(exchange, {
        write: this.expandAndCompile(p.write),
        read: this.expandAndCompile(p.read),
        writeAnswers: new Map(),
        readAnswers: new Map(),
      });
    }
  }

  private expandAndCompile(pattern: string): RegExp | null {
    try {
      return new RegExp(pattern === '' ? '^$' : expandTopicPattern(pattern, this.user, this.vhost));
    } catch {
      return null;
    }
  }

  /** Whether the user holds permissions in the vhost: what connection.open requires. */
  get hasVhostAccess(): boolean {
    this.sync();
    return this.grant !== undefined;
  }

  allowed(permission: Permission, kind: ResourceKind, name: string): boolean {
    this.sync();
    const grant = this.grant;
    if (grant === undefined) return false;
    const p = permission === 'configure' ? 0 : permission === 'write' ? 1 : 2;
    const slot = p * 2 + (kind === 'queue' ? 0 : 1);
    // A channel usually names the same exchange or queue again and again: answer that without hashing.
    if (this.lastName[slot] === name) return this.lastAnswer[slot] as boolean;
    const resource = kind === 'exchange' && name === '' ? DEFAULT_EXCHANGE_RESOURCE : name;
    const cache = this.answers[slot] as Map<string, boolean>;
    let ok = cache.get(resource);
    if (ok === undefined) {
      ok = (grant.compiled[p] as RegExp).test(resource);
      if (cache.size >= MAX_CACHED) cache.clear();
      cache.set(resource, ok);
    }
    this.lastName[slot] = name;
    this.lastAnswer[slot] = ok;
    return ok;
  }

  /** Throws 403 `access to queue 'q' in vhost '/' refused for user 'u'` unless allowed. */
  check(permission: Permission, kind: ResourceKind, name: string, method?: MethodRef): void {
    if (!this.allowed(permission, kind, name)) {
      throw resourceAccessRefused(kind, kind === 'exchange' && name === '' ? DEFAULT_EXCHANGE_RESOURCE : name, this.vhost, this.user, method);
    }
  }

  /** Topic permission on a topic exchange; no topic permission for the exchange means allowed. */
  topicAllowed(permission: TopicPermission, exchange: string, routingKey: string): boolean {
    this.sync();
    if (this.topicRules.size === 0) return true;
    const rule = this.topicRules.get(exchange);
    if (rule === undefined) return true;
    const cache = permission === 'write' ? rule.writeAnswers : rule.readAnswers;
    let ok = cache.get(routingKey);
    if (ok === undefined) {
      const re = permission === 'write' ? rule.write : rule.read;
      ok = re !== null && re.test(routingKey);
      if (cache.size >= MAX_CACHED) cache.clear();
      cache.set(routingKey, ok);
    }
    return ok;
  }

  /** Throws 403 `access to topic 'k' in exchange 'x' in vhost '/' refused for user 'u'` unless allowed. */
  checkTopic(permission: TopicPermission, exchange: string, routingKey: string, method?: MethodRef): void {
    if (!this.topicAllowed(permission, exchange, routingKey)) throw topicAccessRefused(routingKey, exchange, this.vhost, this.user, method);
  }
}

function inner<K, K2, V>(outer: Map<K, Map<K2, V>>, key: K): Map<K2, V> {
  let m = outer.get(key);
  if (m === undefined) {
    m = new Map();
    outer.set(key, m);
  }
  return m;
}
