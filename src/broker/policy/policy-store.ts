// A vhost's policies (or its operator policies): validated, made durable, then applied to the
// vhost's queues and exchanges. The vhost is the host: it writes the change to its definitions
// store and re-evaluates what each object gets.

import { compile, type CompiledPolicy } from './matching.js';
import { PolicyError, type NamedPolicy, type PolicyKind, type PolicySpec } from './policy-spec.js';
import { validatePolicy } from './validation.js';

export interface PolicyHost {
  /** Record a put (spec) or a delete (null) durably; resolves once it is on disk (at once without a store). */
  persistPolicy(kind: PolicyKind, name: string, spec: PolicySpec | null): Promise<void>;
  /** The policies changed: every queue and exchange is matched again and gets its new effective values. */
  policiesChanged(): void;
}

export class PolicyStore {
  readonly kind: PolicyKind;
  private readonly host: PolicyHost;
  private readonly byName = new Map<string, CompiledPolicy>();

  constructor(kind: PolicyKind, host: PolicyHost) {
    this.kind = kind;
    this.host = host;
  }

  /** Validate (PolicyError with RabbitMQ's reason), persist, then apply to existing objects. */
  async put(name: string, spec: PolicySpec): Promise<'created' | 'updated'> {
    if (typeof name !== 'string' || name === '') throw new PolicyError('Validation failed\n\npolicy name must be a non-empty string\n');
    const valid = validatePolicy(this.kind, spec);
    const compiled = compile(name, valid);
    await this.host.persistPolicy(this.kind, name, valid);
    const existed = this.byName.has(name);
    this.byName.set(name, compiled);
    this.host.policiesChanged();
    return existed ? 'updated' : 'created';
  }

  /** False if there is no such policy. */
  async delete(name: string): Promise<boolean> {
    if (!this.byName.has(name)) return false;
    await this.host.persistPolicy(this.kind, name, null);
    // A concurrent delete may have got there first while this one was being written.
    if (!this.byName.delete(name)) return false;
    this.host.policiesChanged();
    return true;
  }

  get(name: string): PolicySpec | undefined {
    const p = this.byName.get(name);
    return p === undefined ? undefined : specOf(p);
  }

  /** Every policy, by name. */
  list(): NamedPolicy[] {
    return [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((p) => ({ name: p.name, ...specOf(p) }));
  }

  get size(): number {
    return this.byName.size;
  }

  /** The policies with their compiled patterns, for matching. */
  compiled(): Iterable<CompiledPolicy> {
    return this.byName.values();
  }

  /**
   * A stored policy back at recovery: validated again (throws PolicyError if this build refuses it),
   * not written again, and not applied (recovery restores policies before queues and exchanges).
   */
  restore(name: string, spec: PolicySpec): void {
    this.byName.set(name, compile(name, validatePolicy(this.kind, spec)));
  }
}

function specOf(p: CompiledPolicy): PolicySpec {
  return { pattern: p.pattern, applyTo: p.applyTo, priority: p.priority, definition: structuredClone(p.definition) };
}
