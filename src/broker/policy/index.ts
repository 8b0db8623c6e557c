// What other layers use of policies: the store on every vhost (vhost.policies,
// vhost.operatorPolicies), the spec and error types, and the JSON shape of the HTTP API.

export { PolicyStore } from './policy-store.js';
export { PolicyError, APPLY_TO_VALUES, type ApplyTo, type NamedPolicy, type PolicyKind, type PolicySpec } from './policy-spec.js';
export { policyJson, policySpecFromJson, type PolicyJson } from './policy-json.js';
