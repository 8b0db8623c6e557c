// Applying policies to objects: match the policy and the operator policy of a queue or an
// exchange, merge their definitions, and hand the object its effective values. Runs at declare,
// at recovery, and for every object on every policy change (an object whose matches did not
// change is left alone).

import type { Exchange } from '../exchange/exchange.js';
import { effectiveQueuePolicy, mergePolicyDefinitions } from '../queue/effective-arguments.js';
import type { Queue } from '../queue/queue.js';
import { matchPolicy, type CompiledPolicy } from './matching.js';
import type { PolicyStore } from './policy-store.js';

/** The pair each object got last time; a put replaces a policy object, so identity tells a change. */
type Applied = readonly [CompiledPolicy | null, CompiledPolicy | null];
const applied = new WeakMap<Queue | Exchange, Applied>();

function unchanged(o: Queue | Exchange, p: CompiledPolicy | null, op: CompiledPolicy | null): boolean {
  const last = applied.get(o);
  if (last === undefined) return p === null && op === null;
  return last[0] === p && last[1] === op;
}

export function applyQueuePolicies(q: Queue, policies: PolicyStore, operatorPolicies: PolicyStore): void {
  const target = { kind: 'queue', name: q.name, queueType: q.declared.type } as const;
  const p = matchPolicy(policies.compiled(), target);
  const op = matchPolicy(operatorPolicies.compiled(), target);
  if (unchanged(q, p, op)) return;
  applied.set(q, [p, op]);
  const merged = mergePolicyDefinitions(p?.definition ?? null, op?.definition ?? null);
  q.applyPolicies(p?.name ?? null, op?.name ?? null, merged, effectiveQueuePolicy(q.declared, q.args, merged));
}

export function applyExchangePolicies(e: Exchange, policies: PolicyStore, operatorPolicies: PolicyStore): void {
  // The default exchange is nameless and takes no policy.
  if (e.name === '') return;
  const target = { kind: 'exchange', name: e.name } as const;
  const p = matchPolicy(policies.compiled(), target);
  const op = matchPolicy(operatorPolicies.compiled(), target);
  if (unchanged(e, p, op)) return;
  applied.set(e, [p, op]);
  e.applyPolicies(p?.name ?? null, op?.name ?? null, mergePolicyDefinitions(p?.definition ?? null, op?.definition ?? null));
}
