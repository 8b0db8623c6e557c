// Recovery's own path for durable definitions: rebuilds exchanges, queues and bindings from
// the definitions log without the checks a client declare goes through.
//
// A record in the log was accepted once; the rules that guard client declares (the reserved
// `amq.` prefix, which server-named `amq.gen-` queues carry, equivalence with an existing
// entity, access checks) have no say over it. What can still fail is the record itself: an
// argument table that no longer decodes, an exchange type this build does not know, a binding
// whose ends are gone. Each such record is logged (warn, with what it was) and skipped; one
// bad record never stops the broker from starting.

import type { Logger } from '../log.js';
import { decodeTableBody, type FieldTable } from '../protocol/field-table.js';
import type { BindingDef, Definitions, ExchangeDef, PolicyDef, QueueDef } from '../store/definitions-types.js';
import type { ApplyTo } from './policy/policy-spec.js';
import { Exchange } from './exchange/exchange.js';
import { parseQueueArguments } from './queue/arguments.js';
import { Queue } from './queue/queue.js';
import type { VHost } from './vhost.js';

export interface ReplayReport {
  policies: number;
  exchanges: number;
  queues: number;
  bindings: number;
  /** Records logged and skipped. */
  skipped: number;
  /** Queues whose record was skipped: their stored messages are kept on disk, not deleted. */
  readonly skippedQueues: Set<string>;
  /** Exchanges whose record was skipped (a delayed exchange's pending messages are kept likewise). */
  readonly skippedExchanges: Set<string>;
}

/** An encoded argument table (u32 length + body) back to a table; throws if it does not decode. */
function decodeArgs(buf: Buffer): FieldTable {
  if (buf.length <= 4) return {};
  const declared = buf.readUInt32BE(0);
  if (declared !== buf.length - 4) throw new RangeError(`argument table length ${declared} does not match its ${buf.length - 4} bytes`);
  return decodeTableBody(buf, 4, buf.length);
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Replays the definitions of `vhost` onto it. Never throws for a bad record. */
export function replayDefinitions(vhost: VHost, defs: Definitions, log: Logger): ReplayReport {
  const report: ReplayReport = { policies: 0, exchanges: 0, queues: 0, bindings: 0, skipped: 0, skippedQueues: new Set(), skippedExchanges: new Set() };
  const skip = (kind: string, what: Record<string, unknown>, err: unknown): void => {
    report.skipped++;
    log.warn({ vhost: vhost.name, kind, ...what, err: reason(err) }, 'durable definition unreadable, skipped at recovery');
  };

  // Policies first: exchanges and queues get theirs as they are restored.
  for (const p of defs.policies) {
    if (p.vhost !== vhost.name) continue;
    try {
      restorePolicy(vhost, p);
      report.policies++;
    } catch (err) {
      skip(p.kind === 'operator' ? 'operator policy' : 'policy', { name: p.name, pattern: p.pattern }, err);
    }
  }
  for (const e of defs.exchanges) {
    if (e.vhost !== vhost.name || vhost.exchanges.has(e.name)) continue;
    try {
      restoreExchange(vhost, e);
      report.exchanges++;
    } catch (err) {
      report.skippedExchanges.add(e.name);
      skip('exchange', { name: e.name, type: e.type, argumentBytes: e.arguments.length }, err);
    }
  }
  for (const q of defs.queues) {
    if (q.vhost !== vhost.name) continue;
    try {
      restoreQueue(vhost, q);
      report.queues++;
    } catch (err) {
      report.skippedQueues.add(q.name);
      skip('queue', { name: q.name, argumentBytes: q.arguments.length }, err);
    }
  }
  for (const b of defs.bindings) {
    if (b.vhost !== vhost.name) continue;
    try {
      restoreBinding(vhost, b);
      report.bindings++;
    } catch (err) {
      skip('binding', { source: b.source, destination: b.destination, destinationType: b.destinationType, routingKey: b.routingKey }, err);
    }
  }
  return report;
}

function restoreExchange(vhost: VHost, d: ExchangeDef): void {
  if (d.name === '') throw new Error('the default exchange is never stored');
  // The constructor refuses an unknown type or plugin arguments it cannot use.
  const e = new Exchange(d.name, d.type, { durable: true, autoDelete: d.autoDelete, internal: d.internal, args: decodeArgs(d.arguments) });
  vhost.exchanges.set(d.name, e);
  vhost.applyPolicies(e);
}

function restorePolicy(vhost: VHost, d: PolicyDef): void {
  const definition: unknown = JSON.parse(d.definition);
  const store = d.kind === 'operator' ? vhost.operatorPolicies : vhost.policies;
  // Validated again: a build that no longer knows a key refuses the record rather than half-applying it.
  store.restore(d.name, { pattern: d.pattern, applyTo: d.applyTo as ApplyTo, priority: d.priority, definition: definition as Record<string, unknown> });
}

function restoreQueue(vhost: VHost, d: QueueDef): void {
  if (d.name === '') throw new Error('a queue with an empty name');
  // A later put of the same queue replaces the earlier one in the log; a duplicate here is a bad record.
  if (vhost.queues.has(d.name)) throw new Error('queue already restored');
  const args = decodeArgs(d.arguments);
  const flags = { durable: true, exclusive: false, autoDelete: d.autoDelete };
  const policy = parseQueueArguments(d.name, args, flags, vhost.name);
  const q = new Queue(d.name, { ...flags, args, policy, owner: null }, vhost);
  vhost.queues.set(d.name, q);
  vhost.applyPolicies(q);
}

function restoreBinding(vhost: VHost, d: BindingDef): void {
  const args = decodeArgs(d.arguments);
  if (d.destinationType === 'queue') {
    const q = vhost.queues.get(d.destination);
    if (q === undefined) throw new Error('destination queue not restored');
    vhost.bindQueue(q.name, d.source, d.routingKey, args, q);
  } else {
    vhost.bindExchange(d.destination, d.source, d.routingKey, args);
  }
}
