// What the soak declares: one publisher route per exchange type (plus a quorum queue through the
// default exchange), the queues they feed, and a TTL queue that dead-letters. Routes with
// `confirm` are accounted: every id the broker confirmed must be consumed or still queued at the end.

export const ROUTES = [
  { name: 'direct', exchange: 'soak.direct', type: 'direct', key: 'd', bindKey: 'd', queues: ['soak.q.direct'], persistent: true, confirm: true },
  { name: 'topic', exchange: 'soak.topic', type: 'topic', key: 'orders.eu.new', bindKey: 'orders.#', queues: ['soak.q.topic'], persistent: false, confirm: true },
  { name: 'fanout', exchange: 'soak.fanout', type: 'fanout', key: '', bindKey: '', queues: ['soak.q.fan1', 'soak.q.fan2'], persistent: true, confirm: true },
  {
    name: 'headers',
    exchange: 'soak.headers',
    type: 'headers',
    key: '',
    bindKey: '',
    bindArgs: { 'x-match': 'all', kind: 'h' },
    headers: { kind: 'h' },
    queues: ['soak.q.headers'],
    persistent: false,
    confirm: false,
  },
  { name: 'quorum', exchange: '', key: 'soak.q.quorum', queues: ['soak.q.quorum'], queueArgs: { 'x-queue-type': 'quorum' }, persistent: true, confirm: true },
  // Transient and unconfirmed: messages expire after 1 s and are dead-lettered to soak.q.dead.
  { name: 'ttl', exchange: '', key: 'soak.q.ttl', queues: ['soak.q.ttl'], queueArgs: { 'x-message-ttl': 1000, 'x-dead-letter-exchange': 'soak.dlx' }, persistent: false, confirm: false, noConsumer: true },
];

/** Queues read with basic.get instead of a consumer. */
export const GET_QUEUES = new Set(['soak.q.fan2']);
/** Classic queues that abandoned consumers may hold messages from (quorum queues count deliveries). */
export const ABANDON_QUEUES = ['soak.q.direct', 'soak.q.topic', 'soak.q.fan1'];
export const DEAD_QUEUE = 'soak.q.dead';

/** Declares every exchange, queue and binding (idempotent). */
export async function declareTopology(ch) {
  await ch.assertExchange('soak.dlx', 'fanout', { durable: true });
  await ch.assertQueue(DEAD_QUEUE, { durable: true });
  await ch.bindQueue(DEAD_QUEUE, 'soak.dlx', '');
  for (const r of ROUTES) {
    if (r.exchange !== '') await ch.assertExchange(r.exchange, r.type, { durable: true });
    for (const q of r.queues) {
      await ch.assertQueue(q, { durable: true, arguments: r.queueArgs || {} });
      if (r.exchange !== '') await ch.bindQueue(q, r.exchange, r.bindKey, r.bindArgs || {});
    }
  }
}

/** Every queue the soak reads from, in the order the final drain visits them. */
export function allQueues() {
  return [...new Set([...ROUTES.flatMap((r) => r.queues), DEAD_QUEUE])];
}
