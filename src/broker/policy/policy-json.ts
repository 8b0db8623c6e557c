// Policies in RabbitMQ's JSON shape (HTTP API bodies, definitions files):
// { vhost, name, pattern, "apply-to", definition, priority }.

import type { NamedPolicy, PolicySpec } from './policy-spec.js';

export interface PolicyJson {
  vhost: string;
  name: string;
  pattern: string;
  'apply-to': string;
  definition: Record<string, unknown>;
  priority: number;
}

/**
 * A PUT body or a definitions entry as a PolicySpec for PolicyStore.put. Types are not checked
 * here (put validates with RabbitMQ's reasons); absent apply-to and priority take RabbitMQ's
 * defaults, all and 0.
 */
export function policySpecFromJson(body: unknown): PolicySpec {
  const o = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  return {
    pattern: o['pattern'] as string,
    applyTo: (o['apply-to'] ?? 'all') as PolicySpec['applyTo'],
    priority: (o['priority'] ?? 0) as number,
    definition: o['definition'] as Record<string, unknown>,
  };
}

export function policyJson(vhost: string, p: NamedPolicy): PolicyJson {
  return { vhost, name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: p.definition, priority: p.priority };
}
