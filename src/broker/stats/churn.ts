// Object churn: how many connections, channels and queues came and went (RabbitMQ's churn_rates
// in /api/overview, rabbitmq_{connections,channels}_{opened,closed}_total and
// rabbitmq_queues_{declared,created,deleted}_total in Prometheus).

export class ChurnCounters {
  connectionCreated = 0;
  connectionClosed = 0;
  channelCreated = 0;
  channelClosed = 0;
  /** queue.declare calls that were not passive (new or equivalent redeclarations). */
  queueDeclared = 0;
  queueCreated = 0;
  queueDeleted = 0;

  /** Values at the last sample (CHURN_KEYS order), and the per-second rates before it. */
  private sampledAt = 0;
  private last: number[] | null = null;
  private readonly rates: number[] = CHURN_KEYS.map(() => 0);

  /** Called by the rate sampler. */
  sample(now: number): void {
    const values = CHURN_KEYS.map(([, f]) => this[f]);
    const last = this.last;
    const dt = (now - this.sampledAt) / 1000;
    if (last !== null && dt > 0) for (let i = 0; i < values.length; i++) this.rates[i] = ((values[i] as number) - (last[i] as number)) / dt;
    this.last = values;
    this.sampledAt = now;
  }

  /** RabbitMQ's `churn_rates`: `{ connection_created: n, connection_created_details: { rate }, ... }`. */
  toJson(): Record<string, number | { rate: number }> {
    const out: Record<string, number | { rate: number }> = {};
    CHURN_KEYS.forEach(([key, f], i) => {
      out[key] = this[f];
      out[`${key}_details`] = { rate: Math.round((this.rates[i] as number) * 10) / 10 };
    });
    return out;
  }
}

type ChurnField = 'connectionCreated' | 'connectionClosed' | 'channelCreated' | 'channelClosed' | 'queueDeclared' | 'queueCreated' | 'queueDeleted';

/** RabbitMQ's `churn_rates` field names for each counter. */
export const CHURN_KEYS: readonly (readonly [string, ChurnField])[] = [
  ['connection_created', 'connectionCreated'],
  ['connection_closed', 'connectionClosed'],
  ['channel_created', 'channelCreated'],
  ['channel_closed', 'channelClosed'],
  ['queue_declared', 'queueDeclared'],
  ['queue_created', 'queueCreated'],
  ['queue_deleted', 'queueDeleted'],
];
