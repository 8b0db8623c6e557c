// Policies and operator policies of a definitions import, applied through the vhost's policy
// stores (`vhost.policies`, `vhost.operatorPolicies`) when this build has them. Reached
// structurally, so this module needs nothing of the policy code: without it, a document that
// carries policies is refused rather than imported without them.

import { compilePattern, InvalidPatternError } from '../auth/permissions.js';
import { DefinitionsError, type PolicyDefinition } from './document.js';

export const APPLY_TO = ['all', 'queues', 'exchanges', 'classic_queues', 'quorum_queues', 'streams'] as const;
type ApplyTo = (typeof APPLY_TO)[number];

export interface PolicySpecLike {
  pattern: string;
  applyTo: ApplyTo;
  priority: number;
  definition: Record<string, unknown>;
}

export interface PolicyStoreLike {
  put(name: string, spec: PolicySpecLike): Promise<'created' | 'updated'>;
  list(): Array<{ name: string } & PolicySpecLike>;
}

type WithPolicies = { policies?: PolicyStoreLike; operatorPolicies?: PolicyStoreLike };

/** The vhost's store of `operator` or user policies, or null when this build has none. */
export function policyStore(vhost: object, operator: boolean): PolicyStoreLike | null {
  const v = vhost as WithPolicies;
  return (operator ? v.operatorPolicies : v.policies) ?? null;
}

/** What can be checked without the store: the pattern compiles, apply-to is known. */
export function checkPolicy(p: PolicyDefinition, what: string): PolicySpecLike {
  if (!(APPLY_TO as readonly string[]).includes(p.applyTo)) throw new DefinitionsError(`${what} '${p.name}' in vhost '${p.vhost}': invalid apply-to '${p.applyTo}'`);
  try {
    compilePattern(p.pattern, `${what} '${p.name}' in vhost '${p.vhost}'`);
  } catch (err) {
    if (err instanceof InvalidPatternError) throw new DefinitionsError(err.message);
    throw err;
  }
  return { pattern: p.pattern, applyTo: p.applyTo as ApplyTo, priority: p.priority, definition: p.definition };
}
