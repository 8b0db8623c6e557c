// Policies and operator policies of a definitions import: checked with the policy module's own
// validation before anything is applied, then put into the vhost's policy stores.

import { PolicyError, type PolicySpec, type PolicyStore } from '../policy/index.js';
import { validatePolicy } from '../policy/validation.js';
import type { VHost } from '../vhost.js';
import { DefinitionsError, type PolicyDefinition } from './document.js';

export function policyStore(vhost: VHost, operator: boolean): PolicyStore {
  return operator ? vhost.operatorPolicies : vhost.policies;
}

/** The normalised spec, or DefinitionsError with the policy module's reason (RabbitMQ's "Validation failed" text). */
export function checkPolicy(p: PolicyDefinition, operator: boolean): PolicySpec {
  const what = `${operator ? 'operator policy' : 'policy'} '${p.name}' in vhost '${p.vhost}'`;
  try {
    return validatePolicy(operator ? 'operator' : 'policy', { pattern: p.pattern, applyTo: p.applyTo as PolicySpec['applyTo'], priority: p.priority, definition: p.definition });
  } catch (err) {
    if (err instanceof PolicyError) throw new DefinitionsError(`${what}: ${err.message.trim()}`);
    throw err;
  }
}
