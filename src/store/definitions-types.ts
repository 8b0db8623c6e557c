// The definitions the store keeps (what each vhost, exchange, queue, binding, user, permission
// and policy is made of) and the operations its log records.

export interface VhostDef {
  readonly name: string;
}

export interface ExchangeDef {
  readonly vhost: string;
  readonly name: string;
  /** direct, fanout, topic, headers or a plugin type name. */
  readonly type: string;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  /** Encoded AMQP field table, opaque to the store. */
  readonly arguments: Buffer;
}

export interface QueueDef {
  readonly vhost: string;
  readonly name: string;
  readonly autoDelete: boolean;
  readonly exclusive: boolean;
  readonly arguments: Buffer;
}

export interface BindingDef {
  readonly vhost: string;
  /** Exchange name. */
  readonly source: string;
  readonly destination: string;
  readonly destinationType: 'queue' | 'exchange';
  readonly routingKey: string;
  readonly arguments: Buffer;
}

export interface UserDef {
  readonly name: string;
  readonly passwordHash: string;
  readonly hashingAlgorithm: string;
  readonly tags: readonly string[];
}

export interface PermissionDef {
  readonly user: string;
  readonly vhost: string;
  /** Regular expressions, as in RabbitMQ. */
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

/** A policy or an operator policy of a vhost. */
export interface PolicyDef {
  readonly vhost: string;
  readonly kind: 'policy' | 'operator';
  readonly name: string;
  readonly pattern: string;
  readonly applyTo: string;
  readonly priority: number;
  /** The definition as JSON text, opaque to the store (the broker validates it). */
  readonly definition: string;
}

export interface Definitions {
  readonly vhosts: VhostDef[];
  readonly exchanges: ExchangeDef[];
  readonly queues: QueueDef[];
  readonly bindings: BindingDef[];
  readonly users: UserDef[];
  readonly permissions: PermissionDef[];
  readonly policies: PolicyDef[];
}

export interface DefinitionsStats {
  readonly records: number;
  readonly corruptRecords: number;
  readonly truncatedBytes: number;
  readonly compactions: number;
  readonly syncs: number;
  readonly logBytes: number;
}

/** One record of the definitions log. */
export type Op =
  | { op: 'putVhost'; def: VhostDef }
  | { op: 'deleteVhost'; name: string }
  | { op: 'putExchange'; def: ExchangeDef }
  | { op: 'deleteExchange'; vhost: string; name: string }
  | { op: 'putQueue'; def: QueueDef }
  | { op: 'deleteQueue'; vhost: string; name: string }
  | { op: 'putBinding'; def: BindingDef }
  | { op: 'deleteBinding'; def: BindingDef }
  | { op: 'putUser'; def: UserDef }
  | { op: 'deleteUser'; name: string }
  | { op: 'putPermission'; def: PermissionDef }
  | { op: 'deletePermission'; user: string; vhost: string }
  | { op: 'putPolicy'; def: PolicyDef }
  | { op: 'deletePolicy'; vhost: string; kind: PolicyDef['kind']; name: string };
