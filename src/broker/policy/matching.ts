// Which policy applies to a queue or an exchange: the pattern matches anywhere in the name (it is
// not anchored), apply-to admits the object's kind, and of those the highest priority wins. At
// most one policy (and one operator policy) applies to an object; their keys are never merged.

import type { NamedPolicy, PolicySpec } from './policy-spec.js';

/** What a policy is matched against. */
export type PolicyTarget =
  | { readonly kind: 'queue'; readonly name: string; readonly queueType: 'classic' | 'quorum' }
  | { readonly kind: 'exchange'; readonly name: string };

/** A stored policy with its pattern compiled once. */
export interface CompiledPolicy extends NamedPolicy {
  readonly regex: RegExp;
}

/** PCRE's leading option settings that JavaScript spells as flags, e.g. `(?i)`. */
const LEADING_OPTIONS = /^\(\?([imsx]+)\)/;

/**
 * RabbitMQ matches with Erlang's re (PCRE). JavaScript's RegExp agrees on the usual syntax; a
 * leading `(?i)`-style option group, which JavaScript lacks, becomes flags. Returns the error
 * rather than throwing, for validation.
 */
export function compilePattern(pattern: string): RegExp | Error {
  let source = pattern;
  let flags = '';
  const m = LEADING_OPTIONS.exec(pattern);
  if (m !== null && !(m[1] as string).includes('x')) {
    source = pattern.slice(m[0].length);
    flags = [...new Set(m[1])].join('');
  }
  try {
    return new RegExp(source, flags);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

export function compile(name: string, spec: PolicySpec): CompiledPolicy {
  const regex = compilePattern(spec.pattern);
  if (regex instanceof Error) throw regex;
  return { name, ...spec, regex };
}

function appliesTo(p: PolicySpec, t: PolicyTarget): boolean {
  switch (p.applyTo) {
    case 'all':
      return true;
    case 'exchanges':
      return t.kind === 'exchange';
    case 'queues':
      return t.kind === 'queue';
    case 'classic_queues':
      return t.kind === 'queue' && t.queueType === 'classic';
    case 'quorum_queues':
      return t.kind === 'queue' && t.queueType === 'quorum';
    case 'streams':
      // warren has no streams.
      return false;
  }
}

/**
 * The policy that applies to `t`, or null. Ties in priority are undefined in RabbitMQ; here the
 * name that sorts first wins, so the choice is at least stable.
 */
export function matchPolicy(policies: Iterable<CompiledPolicy>, t: PolicyTarget): CompiledPolicy | null {
  let best: CompiledPolicy | null = null;
  for (const p of policies) {
    if (!appliesTo(p, t)) continue;
    // A fresh lastIndex every time: no policy pattern carries the g or y flag, so test() is stateless.
    if (!p.regex.test(t.name)) continue;
    if (best === null || p.priority > best.priority || (p.priority === best.priority && p.name < best.name)) best = p;
  }
  return best;
}
