// The live definitions replayed from the log, keyed so a later operation replaces an earlier one.

import type { VhostDef, ExchangeDef, QueueDef, BindingDef, UserDef, PermissionDef, PolicyDef, Definitions, Op } from './definitions-types.js';

const key = (...parts: string[]): string => JSON.stringify(parts);
const bindingKey = (b: BindingDef): string =>
  key(b.vhost, b.source, b.destinationType, b.destination, b.routingKey, b.arguments.toString('base64'));

/** The live definitions, keyed for replacement; applying an op is idempotent. */
export class State {
  readonly vhosts = new Map<string, VhostDef>();
  readonly exchanges = new Map<string, ExchangeDef>();
  readonly queues = new Map<string, QueueDef>();
  readonly bindings = new Map<string, BindingDef>();
  readonly users = new Map<string, UserDef>();
  readonly permissions = new Map<string, PermissionDef>();
  readonly policies = new Map<string, PolicyDef>();

  apply(o: Op): void {
    switch (o.op) {
      case 'putVhost':
        this.vhosts.set(o.def.name, o.def);
        break;
      case 'deleteVhost': {
        this.vhosts.delete(o.name);
        // A vhost takes everything in it along (as in RabbitMQ).
        for (const [k, v] of this.exchanges) if (v.vhost === o.name) this.exchanges.delete(k);
        for (const [k, v] of this.queues) if (v.vhost === o.name) this.queues.delete(k);
        for (const [k, v] of this.bindings) if (v.vhost === o.name) this.bindings.delete(k);
        for (const [k, v] of this.permissions) if (v.vhost === o.name) this.permissions.delete(k);
        for (const [k, v] of this.policies) if (v.vhost === o.name) this.policies.delete(k);
        break;
      }
      case 'putExchange':
        this.exchanges.set(key(o.def.vhost, o.def.name), o.def);
        break;
      case 'deleteExchange':
        this.exchanges.delete(key(o.vhost, o.name));
        // Bindings from it, and to it (exchange-to-exchange), go with it.
        for (const [k, b] of this.bindings) {
          if (b.vhost !== o.vhost) continue;
          if (b.source === o.name || (b.destinationType === 'exchange' && b.destination === o.name)) this.bindings.delete(k);
        }
        break;
      case 'putQueue':
        this.queues.set(key(o.def.vhost, o.def.name), o.def);
        break;
      case 'deleteQueue':
        this.queues.delete(key(o.vhost, o.name));
        for (const [k, b] of this.bindings) {
          if (b.vhost === o.vhost && b.destinationType === 'queue' && b.destination === o.name) this.bindings.delete(k);
        }
        break;
      case 'putBinding':
        this.bindings.set(bindingKey(o.def), o.def);
        break;
      case 'deleteBinding':
        this.bindings.delete(bindingKey(o.def));
        break;
      case 'putUser':
        this.users.set(o.def.name, o.def);
        break;
      case 'deleteUser':
        this.users.delete(o.name);
        for (const [k, p] of this.permissions) if (p.user === o.name) this.permissions.delete(k);
        break;
      case 'putPermission':
        this.permissions.set(key(o.def.user, o.def.vhost), o.def);
        break;
      case 'deletePermission':
        this.permissions.delete(key(o.user, o.vhost));
        break;
      case 'putPolicy':
        this.policies.set(key(o.def.vhost, o.def.kind, o.def.name), o.def);
        break;
      case 'deletePolicy':
        this.policies.delete(key(o.vhost, o.kind, o.name));
        break;
    }
  }

  /** Put operations recreating this state, in dependency order. */
  *ops(): Generator<Op> {
    for (const def of this.vhosts.values()) yield { op: 'putVhost', def };
    for (const def of this.users.values()) yield { op: 'putUser', def };
    for (const def of this.permissions.values()) yield { op: 'putPermission', def };
    for (const def of this.policies.values()) yield { op: 'putPolicy', def };
    for (const def of this.exchanges.values()) yield { op: 'putExchange', def };
    for (const def of this.queues.values()) yield { op: 'putQueue', def };
    for (const def of this.bindings.values()) yield { op: 'putBinding', def };
  }

  snapshot(): Definitions {
    return {
      vhosts: [...this.vhosts.values()],
      exchanges: [...this.exchanges.values()],
      queues: [...this.queues.values()],
      bindings: [...this.bindings.values()],
      users: [...this.users.values()],
      permissions: [...this.permissions.values()],
      policies: [...this.policies.values()],
    };
  }
}
