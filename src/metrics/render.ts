// The three scrape endpoints as generators of text chunks. A chunk is yielded after every slice
// of objects (SLICE), so the server can send it and give the event loop a turn before the next:
// a scrape of 100k queues never holds the broker for more than a slice.
//   /metrics              one sample per family, summed over objects (RabbitMQ's default)
//   /metrics/per-object   one sample per queue, channel and exchange
//   /metrics/detailed     the chosen family groups, per object, prefixed rabbitmq_detailed_, vhost-filtered

import type { Broker } from '../broker/broker.js';
import type { ChannelStats } from '../broker/stats/channel-stats.js';
import type { Exchange } from '../broker/exchange/exchange.js';
import type { Queue } from '../broker/queue/queue.js';
import { writeChurn, writeGlobal, writeMessageSizes, writeTotals } from './global-metrics.js';
import { writeIdentity } from './identity.js';
import { writeAlarms, writeNodeMetrics } from './node-metrics.js';
import { CHANNEL_GROUPS, EXCHANGE_GROUPS, QUEUE_CONSUMER_COUNT, QUEUE_GROUPS, type FamilyGroup } from './object-families.js';
import { queueTotals } from './queue-totals.js';
import { labels, TextWriter } from './text-format.js';
import { writeWarrenMetrics } from './warren-metrics.js';

/** Samples (or objects summed) per slice: a few milliseconds of rendering at most. */
export const SLICE = 1000;

export interface MetricsSource {
  readonly broker: Broker;
  /** Open AMQP connections (including those still in the handshake). */
  connections(): number;
}

interface Labelled<T> {
  readonly o: T;
  readonly labels: string;
}

/** GET /metrics: aggregated. With `perObject` (prometheus.return_per_object_metrics) it is the per-object one. */
export function* renderAggregated(src: MetricsSource, perObject = false): Generator<string> {
  if (perObject) {
    yield* renderPerObject(src, 'aggregated');
    return;
  }
  const b = src.broker;
  const w = new TextWriter();
  writeCommon(w, b);
  yield w.take();
  const queues = yield* snapshotQueues(b, null, false);
  yield* sumGroups(w, 'rabbitmq_', QUEUE_GROUPS, queues);
  yield* sumGroups(w, 'rabbitmq_', CHANNEL_GROUPS, channelList(b, null));
  yield* sumGroups(w, 'rabbitmq_', EXCHANGE_GROUPS, exchangeList(b, null));
  const totals = yield* queueTotals(queues, SLICE);
  writeTotals(w, b, src.connections(), totals);
  writeIdentity(w, b, 'aggregated');
  writeGlobal(w, b, totals);
  writeMessageSizes(w, b);
  writeWarrenMetrics(w, b, totals);
  yield w.take();
}

/** GET /metrics/per-object. */
export function* renderPerObject(src: MetricsSource, endpoint: 'per-object' | 'aggregated' = 'per-object'): Generator<string> {
  const b = src.broker;
  const w = new TextWriter();
  writeCommon(w, b);
  yield w.take();
  const queues = yield* snapshotQueues(b, null);
  for (const g of QUEUE_GROUPS) yield* perObject(w, 'rabbitmq_', g, queues);
  const channels = channelList(b, null);
  for (const g of CHANNEL_GROUPS) yield* perObject(w, 'rabbitmq_', g, channels);
  for (const g of EXCHANGE_GROUPS) yield* perObject(w, 'rabbitmq_', g, exchangeList(b, null));
  const totals = yield* queueTotals(queues, SLICE);
  writeTotals(w, b, src.connections(), totals);
  yield* queueInfo(w, 'rabbitmq_', queues);
  writeIdentity(w, b, endpoint === 'aggregated' ? 'per-object' : endpoint);
  writeGlobal(w, b, totals);
  writeMessageSizes(w, b);
  writeWarrenMetrics(w, b, totals);
  yield* warrenPerObject(w, queues, channels, b.clock.now());
  yield w.take();
}

/** The family groups /metrics/detailed knows, by RabbitMQ's names. */
export const DETAILED_FAMILIES: readonly string[] = [
  'connection_churn_metrics', 'node_coarse_metrics', 'node_metrics',
  ...QUEUE_GROUPS.map((g) => g.group), QUEUE_CONSUMER_COUNT.group,
  ...CHANNEL_GROUPS.map((g) => g.group), ...EXCHANGE_GROUPS.map((g) => g.group),
];

/** GET /metrics/detailed?family=…&vhost=…: only the families asked for; vhosts (if any) filter the objects. */
export function* renderDetailed(src: MetricsSource, families: ReadonlySet<string>, vhosts: ReadonlySet<string> | null): Generator<string> {
  const b = src.broker;
  const P = 'rabbitmq_detailed_';
  const w = new TextWriter();
  if (families.has('connection_churn_metrics')) writeChurn(w, b, P);
  if (families.has('node_coarse_metrics') || families.has('node_metrics')) writeNodeMetrics(w, b, P);
  yield w.take();
  const wantQueues = QUEUE_GROUPS.some((g) => families.has(g.group)) || families.has(QUEUE_CONSUMER_COUNT.group);
  const queues = wantQueues ? yield* snapshotQueues(b, vhosts) : [];
  for (const g of QUEUE_GROUPS) if (families.has(g.group)) yield* perObject(w, P, g, queues);
  // queue_consumer_count is a subset of queue_metrics: RabbitMQ sends it only without the latter.
  if (families.has(QUEUE_CONSUMER_COUNT.group) && !families.has('queue_metrics')) yield* perObject(w, P, QUEUE_CONSUMER_COUNT, queues);
  const channels = channelList(b, vhosts);
  for (const g of CHANNEL_GROUPS) if (families.has(g.group)) yield* perObject(w, P, g, channels);
  for (const g of EXCHANGE_GROUPS) if (families.has(g.group)) yield* perObject(w, P, g, exchangeList(b, vhosts));
  if (wantQueues) yield* queueInfo(w, P, queues);
  writeIdentity(w, b, 'detailed');
  yield w.take();
}

function writeCommon(w: TextWriter, b: Broker): void {
  writeAlarms(w, b);
  writeChurn(w, b);
  writeNodeMetrics(w, b, 'rabbitmq_');
}

/** Queues (optionally of some vhosts) with their label sets (unless only sums are wanted), a slice at a time. */
function* snapshotQueues(b: Broker, vhosts: ReadonlySet<string> | null, withLabels = true): Generator<string, Labelled<Queue>[]> {
  const out: Labelled<Queue>[] = [];
  let n = 0;
  for (const v of b.vhosts.values()) {
    if (vhosts !== null && !vhosts.has(v.name)) continue;
    for (const q of v.queues.values()) {
      out.push({ o: q, labels: withLabels ? labels([['vhost', v.name], ['queue', q.name]]) : '' });
      if (++n % SLICE === 0) yield '';
    }
  }
  return out;
}

function channelList(b: Broker, vhosts: ReadonlySet<string> | null): Labelled<ChannelStats>[] {
  const out: Labelled<ChannelStats>[] = [];
  for (const s of b.stats.channels) {
    if (vhosts !== null && !vhosts.has(s.identity.vhost)) continue;
    out.push({ o: s, labels: labels([['channel', s.name]]) });
  }
  return out;
}

function exchangeList(b: Broker, vhosts: ReadonlySet<string> | null): Labelled<Exchange>[] {
  const out: Labelled<Exchange>[] = [];
  for (const v of b.vhosts.values()) {
    if (vhosts !== null && !vhosts.has(v.name)) continue;
    for (const e of v.exchanges.values()) out.push({ o: e, labels: labels([['vhost', v.name], ['exchange', e.name]]) });
  }
  return out;
}

/** One sample per object for each family of `g`, a slice at a time. */
function* perObject<T>(w: TextWriter, prefix: string, g: FamilyGroup<T>, objects: readonly Labelled<T>[]): Generator<string> {
  for (const f of g.families) {
    const name = prefix + f.name;
    w.family(name, f.type, f.help);
    for (let i = 0; i < objects.length; i++) {
      const x = objects[i] as Labelled<T>;
      w.sample(name, x.labels, f.value(x.o));
      if ((i + 1) % SLICE === 0) yield w.take();
    }
  }
}

/** One unlabelled sample per family of `groups`: the sum over the objects (one pass, sliced). */
function* sumGroups<T>(w: TextWriter, prefix: string, groups: readonly FamilyGroup<T>[], objects: readonly Labelled<T>[]): Generator<string> {
  const families = groups.flatMap((g) => g.families);
  const sums = new Float64Array(families.length);
  for (let i = 0; i < objects.length; i++) {
    const o = (objects[i] as Labelled<T>).o;
    for (let k = 0; k < families.length; k++) sums[k] = (sums[k] as number) + (families[k] as (typeof families)[number]).value(o);
    if ((i + 1) % SLICE === 0) yield '';
  }
  families.forEach((f, k) => w.single(prefix + f.name, f.type, f.help, sums[k] as number));
}

/** <prefix>queue_info{vhost,queue,queue_type,membership} 1: what a queue is (RabbitMQ's newer plugins send it). */
function* queueInfo(w: TextWriter, prefix: string, queues: readonly Labelled<Queue>[]): Generator<string> {
  const name = `${prefix}queue_info`;
  w.family(name, 'gauge', "A metric with a constant '1' value and labels that provide some queue details");
  for (let i = 0; i < queues.length; i++) {
    const q = (queues[i] as Labelled<Queue>).o;
    const l = (queues[i] as Labelled<Queue>).labels;
    w.sample(name, `${l.slice(0, -1)},queue_type="${q.policy.type === 'quorum' ? 'rabbit_quorum_queue' : 'rabbit_classic_queue'}",membership="leader"}`, 1);
    if ((i + 1) % SLICE === 0) yield w.take();
  }
}

/** warren_* per object: paged messages and dead-letter queues per queue, the oldest unacked per channel. */
function* warrenPerObject(w: TextWriter, queues: readonly Labelled<Queue>[], channels: readonly Labelled<ChannelStats>[], now: number): Generator<string> {
  w.family('warren_queue_messages_paged', 'gauge', 'Ready messages kept on disk only, per queue.');
  for (let i = 0; i < queues.length; i++) {
    const x = queues[i] as Labelled<Queue>;
    w.sample('warren_queue_messages_paged', x.labels, x.o.pagedCount);
    if ((i + 1) % SLICE === 0) yield w.take();
  }
  w.family('warren_queue_dead_lettered_in_total', 'counter', 'Messages dead-lettered into this queue (a queue with some is a dead-letter queue).');
  for (let i = 0; i < queues.length; i++) {
    const x = queues[i] as Labelled<Queue>;
    if (x.o.deadLettersIn > 0) w.sample('warren_queue_dead_lettered_in_total', x.labels, x.o.deadLettersIn);
    if ((i + 1) % SLICE === 0) yield w.take();
  }
  w.family('warren_channel_oldest_unacked_seconds', 'gauge', 'Age of the oldest delivery on the channel still waiting for its ack (0 if none).');
  for (const x of channels) {
    const at = x.o.probe?.oldestUnackedAt() ?? null;
    w.sample('warren_channel_oldest_unacked_seconds', x.labels, at === null ? 0 : (now - at) / 1000);
  }
}
