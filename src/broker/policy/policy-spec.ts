// The shape of a policy and of an operator policy (RabbitMQ's runtime parameters `policy` and
// `operator_policy`): a pattern on object names, what it applies to, a priority and a definition.

/** What a policy applies to; `all` is the default. */
export type ApplyTo = 'all' | 'queues' | 'exchanges' | 'classic_queues' | 'quorum_queues' | 'streams';

export const APPLY_TO_VALUES: readonly ApplyTo[] = ['all', 'queues', 'exchanges', 'classic_queues', 'quorum_queues', 'streams'];

export interface PolicySpec {
  /** An unanchored regular expression on the queue or exchange name. */
  pattern: string;
  applyTo: ApplyTo;
  /** Higher wins when several policies match one object. */
  priority: number;
  /** Keys and values, as JSON decoded them (validated by validation.ts). */
  definition: Record<string, unknown>;
}

/** Policies set by users, or operator policies (which cap what user policies and arguments ask for). */
export type PolicyKind = 'policy' | 'operator';

export type NamedPolicy = { name: string } & PolicySpec;

/** A refused policy; the message is RabbitMQ's reason text (the management API answers it with a 400). */
export class PolicyError extends Error {
  readonly kind = 'bad_request' as const;
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}
