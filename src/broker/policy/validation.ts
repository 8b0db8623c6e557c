// Policy validation with RabbitMQ's reasons (rabbit_policy, rabbit_policies): the parts in the
// order RabbitMQ checks them (priority, pattern, apply-to, definition), then each known key in
// key order, then the keys nobody recognised. Every reason reads "Validation failed\n\n<why>\n".

import { erlangPairs, erlangTerm, compareKeys } from './erlang-term.js';
import { APPLY_TO_VALUES, PolicyError, type ApplyTo, type PolicyKind, type PolicySpec } from './policy-spec.js';
import { compilePattern } from './matching.js';

type Check = (v: unknown) => string | null;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const intAtLeast = (min: number, what: string): Check => (v) => (isInt(v) && v >= min ? null : `${erlangTerm(v)} is not a valid ${what}`);
const anyInt = (what: string): Check => (v) => (isInt(v) ? null : `${erlangTerm(v)} is not a valid ${what}`);
const text = (what: string): Check => (v) => (typeof v === 'string' ? null : `${erlangTerm(v)} is not a valid ${what}`);
const oneOf = (values: readonly unknown[], what: string): Check => (v) => (values.includes(v) ? null : `${erlangTerm(v)} is not a valid ${what}`);

/** RabbitMQ's stream max-age: a positive count and a unit (Y, M, D, h, m, s). */
const MAX_AGE = /^[0-9]+[YMDhms]$/;

/**
 * The keys a user policy may set and how each is checked. Stream and cluster keys are accepted
 * for compatibility (warren has neither); queue-mode and queue-version are accepted and have no
 * effect. The ha-* keys of classic mirroring are refused as unknown, as RabbitMQ 4 does.
 */
const POLICY_KEYS: ReadonlyMap<string, Check> = new Map<string, Check>([
  ['alternate-exchange', text('alternate exchange name')],
  ['consumer-timeout', intAtLeast(0, 'consumer timeout')],
  ['dead-letter-exchange', text('dead letter exchange name')],
  ['dead-letter-routing-key', text('dead letter routing key')],
  ['dead-letter-strategy', oneOf(['at-most-once', 'at-least-once'], 'dead letter strategy')],
  // RabbitMQ 4: a negative limit means no limit (the only way to lift a quorum queue's default).
  ['delivery-limit', anyInt('delivery limit')],
  ['expires', intAtLeast(1, 'queue expiry')],
  ['initial-cluster-size', intAtLeast(0, 'cluster size')],
  ['max-age', (v) => (typeof v === 'string' && MAX_AGE.test(v) ? null : `${erlangTerm(v)} is not a valid max age`)],
  ['max-in-memory-bytes', intAtLeast(0, 'maximum memory in bytes')],
  // (sic: RabbitMQ words both in-memory limits alike)
  ['max-in-memory-length', intAtLeast(0, 'maximum memory in bytes')],
  ['max-length', intAtLeast(0, 'maximum length')],
  ['max-length-bytes', intAtLeast(0, 'maximum length in bytes')],
  ['max-segment-size', intAtLeast(0, 'segment size')],
  ['message-ttl', intAtLeast(0, 'message TTL')],
  ['overflow', oneOf(['drop-head', 'reject-publish', 'reject-publish-dlx'], 'overflow value')],
  ['queue-leader-locator', oneOf(['client-local', 'random', 'least-leaders', 'balanced'], 'queue leader locator value')],
  ['queue-mode', oneOf(['default', 'lazy'], 'queue-mode value')],
  ['queue-version', oneOf([1, 2], 'queue-version value')],
  ['stream-max-segment-size-bytes', intAtLeast(0, 'segment size')],
]);

/** Operator policies may only cap limits (rabbit_policies' operator_policy_validator keys, HEAD). */
const OPERATOR_KEYS: ReadonlySet<string> = new Set([
  'delivery-limit', 'expires', 'max-in-memory-bytes', 'max-in-memory-length', 'max-length', 'max-length-bytes', 'message-ttl',
  'overflow', 'queue-version',
]);

function fail(why: string): PolicyError {
  return new PolicyError(`Validation failed\n\n${why}\n`);
}

/**
 * Check a policy (or operator policy) and return it normalised (a copy). `spec` may come from
 * JSON, so every part is checked for its type too. Throws PolicyError.
 */
export function validatePolicy(kind: PolicyKind, spec: PolicySpec): PolicySpec {
  const raw = spec as unknown as Record<string, unknown>;
  const priority = raw['priority'] ?? 0;
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    throw fail(`priority should be a number, actually was ${erlangTerm(priority)}`);
  }
  const pattern = raw['pattern'];
  if (typeof pattern !== 'string') throw fail(`pattern should be regular expression but is invalid: ${erlangTerm(pattern)}`);
  const compiled = compilePattern(pattern);
  if (compiled instanceof Error) throw fail(`pattern should be regular expression but is invalid: ${compiled.message}`);
  const applyTo = raw['applyTo'] ?? 'all';
  if (typeof applyTo !== 'string' || !(APPLY_TO_VALUES as readonly string[]).includes(applyTo)) {
    throw fail(
      `apply-to '${typeof applyTo === 'string' ? applyTo : erlangTerm(applyTo)}' unrecognised; should be one of: 'queues', 'classic_queues',  'quorum_queues', 'streams', 'exchanges', or 'all'`,
    );
  }
  const definition = raw['definition'];
  if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) {
    throw fail(`definition must be a dictionary: ${erlangTerm(definition)}`);
  }
  const def = definition as Record<string, unknown>;
  const keys = Object.keys(def).sort(compareKeys);
  if (keys.length === 0) throw fail('no policy provided');
  const unknown: [string, unknown][] = [];
  for (const key of keys) {
    const check = POLICY_KEYS.get(key);
    if (check === undefined || (kind === 'operator' && !OPERATOR_KEYS.has(key))) {
      unknown.push([key, def[key]]);
      continue;
    }
    const why = check(def[key]);
    if (why !== null) throw fail(why);
  }
  if (unknown.length > 0) throw fail(`${erlangPairs(unknown)} are not recognised policy settings`);
  const copy: Record<string, unknown> = {};
  for (const key of keys) copy[key] = def[key];
  return { pattern, applyTo: applyTo as ApplyTo, priority, definition: copy };
}
