// The Prometheus endpoints: RabbitMQ's family names, types and labels (checked against the
// RabbitMQ-Overview dashboard's queries and a scrape of RabbitMQ 3.10.8), values that follow real
// AMQP traffic, per-object and detailed output, warren's extras, and slicing of big scrapes.

import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as amqplib from 'amqplib';
import { startTestBroker } from '../helpers/broker.js';
import type { RunningBroker } from '../../src/index.js';
import { dashboardMetrics, families, rabbitmq310, value } from './prometheus-names.js';

let b: RunningBroker;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ running: b, stop } = await startTestBroker({ metricsPort: 0 }));
});

afterAll(async () => {
  await stop();
});

async function scrape(path = '/metrics'): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${b.metricsPort}${path}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
  return res.text();
}

/** Families warren does not emit from RabbitMQ 3.10's list, and why (the test fails if this list goes stale). */
const NOT_PROVIDED: Record<string, string> = {
  // Erlang VM and its process model: no equivalent in a Node.js process.
  rabbitmq_erlang_processes_used: 'Erlang VM', rabbitmq_erlang_processes_limit: 'Erlang VM',
  rabbitmq_erlang_gc_runs_total: 'Erlang VM', rabbitmq_erlang_gc_reclaimed_bytes_total: 'Erlang VM',
  rabbitmq_erlang_scheduler_context_switches_total: 'Erlang VM', rabbitmq_erlang_scheduler_run_queue: 'Erlang VM',
  rabbitmq_erlang_net_ticktime_seconds: 'Erlang distribution', rabbitmq_queue_process_reductions_total: 'Erlang VM',
  rabbitmq_channel_process_reductions_total: 'Erlang VM', rabbitmq_connection_process_reductions_total: 'Erlang VM',
  rabbitmq_queue_process_memory_bytes: 'one process per queue in RabbitMQ', rabbitmq_process_open_tcp_sockets: 'Erlang VM',
  rabbitmq_process_max_tcp_sockets: 'Erlang VM',
  // Quorum queues in warren are not Raft-replicated.
  rabbitmq_raft_term_total: 'no Raft', rabbitmq_raft_log_snapshot_index: 'no Raft', rabbitmq_raft_log_last_applied_index: 'no Raft',
  rabbitmq_raft_log_commit_index: 'no Raft', rabbitmq_raft_log_last_written_index: 'no Raft', rabbitmq_raft_entry_commit_latency_seconds: 'no Raft',
  // RabbitMQ's file and Mnesia I/O counters: warren's store reports warren_store_* instead.
  rabbitmq_io_read_ops_total: 'store', rabbitmq_io_read_bytes_total: 'store', rabbitmq_io_write_ops_total: 'store',
  rabbitmq_io_write_bytes_total: 'store', rabbitmq_io_sync_ops_total: 'store (warren_store_fsyncs_total)', rabbitmq_io_seek_ops_total: 'store',
  rabbitmq_io_reopen_ops_total: 'store', rabbitmq_schema_db_ram_tx_total: 'Mnesia', rabbitmq_schema_db_disk_tx_total: 'Mnesia',
  rabbitmq_msg_store_read_total: 'store', rabbitmq_msg_store_write_total: 'store', rabbitmq_queue_index_read_ops_total: 'store',
  rabbitmq_queue_index_write_ops_total: 'store', rabbitmq_io_read_time_seconds_total: 'store', rabbitmq_io_write_time_seconds_total: 'store',
  rabbitmq_io_sync_time_seconds_total: 'store', rabbitmq_io_seek_time_seconds_total: 'store',
  rabbitmq_auth_attempts_total: 'not counted yet', rabbitmq_auth_attempts_detailed_total: 'not counted yet',
  rabbitmq_auth_attempts_detailed_succeeded_total: 'not counted yet', rabbitmq_auth_attempts_detailed_failed_total: 'not counted yet', rabbitmq_auth_attempts_succeeded_total: 'not counted yet', rabbitmq_auth_attempts_failed_total: 'not counted yet',
  // Queue memory accounting RabbitMQ's classic queue keeps and warren does not.
  rabbitmq_queue_consumer_capacity: 'not computed', rabbitmq_queue_consumer_utilisation: 'not computed',
  rabbitmq_queue_messages_ram: 'not kept', rabbitmq_queue_messages_ram_bytes: 'not kept', rabbitmq_queue_messages_ready_ram: 'not kept',
  rabbitmq_queue_messages_unacked_ram: 'not kept', rabbitmq_queue_messages_persistent: 'not kept', rabbitmq_queue_messages_persistent_bytes: 'not kept',
  rabbitmq_queue_messages_bytes: 'not kept', rabbitmq_queue_messages_unacked_bytes: 'not kept', rabbitmq_queue_messages_paged_out_bytes: 'not kept',
  rabbitmq_queue_head_message_timestamp: 'not kept', rabbitmq_queue_disk_reads_total: 'not kept', rabbitmq_queue_disk_writes_total: 'not kept',
  // Transactions and connection traffic counters.
  rabbitmq_channel_messages_uncommitted: 'not exposed', rabbitmq_channel_acks_uncommitted: 'not exposed',
  rabbitmq_connection_incoming_bytes_total: 'not counted', rabbitmq_connection_outgoing_bytes_total: 'not counted',
  rabbitmq_connection_incoming_packets_total: 'not counted', rabbitmq_connection_outgoing_packets_total: 'not counted',
  rabbitmq_connection_pending_packets: 'not counted', rabbitmq_connection_channels: 'not per connection',
};

/** Where warren's labels differ from 3.10's, and why. */
const LABEL_DIFFERENCES: Record<string, string> = {
  // Newer RabbitMQ adds rabbitmq_endpoint (the dashboards filter on it); warren has no permanent cluster id.
  rabbitmq_identity_info: 'rabbitmq_node,rabbitmq_cluster,rabbitmq_endpoint',
  // Warren keeps these per channel, not per channel and exchange or queue.
  rabbitmq_channel_messages_published_total: 'channel', rabbitmq_channel_messages_confirmed_total: 'channel',
  rabbitmq_channel_messages_unroutable_returned_total: 'channel', rabbitmq_channel_messages_unroutable_dropped_total: 'channel',
  rabbitmq_channel_get_ack_total: 'channel', rabbitmq_channel_get_total: 'channel', rabbitmq_channel_messages_delivered_ack_total: 'channel',
  rabbitmq_channel_messages_delivered_total: 'channel', rabbitmq_channel_messages_redelivered_total: 'channel',
  rabbitmq_channel_messages_acked_total: 'channel', rabbitmq_channel_get_empty_total: 'channel',
  // Per queue, not per channel, queue and exchange.
  rabbitmq_queue_messages_published_total: 'vhost,queue',
  // Product and version labels of warren (it is not RabbitMQ).
  rabbitmq_build_info: 'rabbitmq_version,prometheus_plugin_version,prometheus_client_version,erlang_version,product_name,product_version',
};

async function traffic(): Promise<void> {
  const c = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${b.port}`);
  const ch = await c.createConfirmChannel();
  await ch.assertExchange('m-dlx', 'fanout', { durable: false });
  await ch.assertQueue('m-dlq', { durable: false });
  await ch.bindQueue('m-dlq', 'm-dlx', '');
  await ch.assertQueue('m-work', { durable: false, arguments: { 'x-dead-letter-exchange': 'm-dlx' } });
  for (const body of ['a', 'b', 'x'.repeat(5000)]) ch.sendToQueue('m-work', Buffer.from(body));
  ch.publish('', 'm-nowhere', Buffer.from('lost'));
  await ch.waitForConfirms();
  const m = await ch.get('m-work');
  if (m === false) throw new Error('no message');
  ch.nack(m, false, false); // dead-lettered (rejected) into m-dlq
  await ch.checkQueue('m-dlq');
  await c.close();
}

describe('RabbitMQ names', () => {
  beforeAll(traffic);

  it("has every metric the RabbitMQ-Overview dashboard queries, with its join labels", async () => {
    const text = await scrape();
    const fams = families(text);
    const missing = dashboardMetrics().filter((name) => {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      return (fams.get(name) ?? fams.get(base))?.samples === undefined || (fams.get(name) ?? fams.get(base))?.samples === 0;
    });
    expect(missing).toEqual([]);
    expect(fams.get('rabbitmq_identity_info')?.labelSets).toEqual(new Set(['rabbitmq_node,rabbitmq_cluster,rabbitmq_endpoint']));
    expect(text).toMatch(/^rabbitmq_identity_info\{rabbitmq_node="warren@[^"]+",rabbitmq_cluster="[^"]+",rabbitmq_endpoint="aggregated"\} 1$/m);
    expect(text).toMatch(/^rabbitmq_build_info\{rabbitmq_version="[^"]+",.*erlang_version="node-[^"]+".*\} 1$/m);
    // The size panels query these exact bucket bounds.
    for (const le of ['100.0', '1000.0', '10000.0', '100000.0', '1e+06', '1e+07', '5e+07', '1e+08', '+Inf']) {
      expect(text).toContain(`rabbitmq_message_size_bytes_bucket{protocol="amqp091",le="${le}"}`);
    }
  });

  for (const endpoint of ['aggregated', 'per-object'] as const) {
    it(`${endpoint}: the families RabbitMQ 3.10.8 has use its types and labels; the ones left out are listed`, async () => {
      const ours = families(await scrape(endpoint === 'aggregated' ? '/metrics' : '/metrics/per-object'));
      const theirs = rabbitmq310(endpoint);
      const wrongType: string[] = [];
      const wrongLabels: string[] = [];
      for (const [name, f] of theirs) {
        const o = ours.get(name);
        if (o === undefined) continue;
        if (o.type !== f.type) wrongType.push(`${name}: ${o.type} (RabbitMQ: ${f.type})`);
        const differs = LABEL_DIFFERENCES[name] !== undefined && (endpoint === 'per-object' || f.labelSets.has('') === false);
        const expected = differs ? new Set([LABEL_DIFFERENCES[name]]) : f.labelSets;
        if (o.samples > 0 && [...o.labelSets].some((l) => !expected.has(l))) wrongLabels.push(`${name}: {${[...o.labelSets].join('|')}} (expected {${[...expected].join('|')}})`);
      }
      expect(wrongType).toEqual([]);
      expect(wrongLabels).toEqual([]);
      const absent = [...theirs.keys()].filter((n) => !ours.has(n)).sort();
      expect(absent).toEqual(Object.keys(NOT_PROVIDED).filter((n) => theirs.has(n)).sort());
    });
  }

  it('counts follow the traffic: published, routed, dropped, confirmed, got, dead-lettered, sizes', async () => {
    const text = await scrape();
    const p = '{protocol="amqp091"}';
    expect(value(text, 'rabbitmq_global_messages_received_total', p)).toBeGreaterThanOrEqual(4);
    expect(value(text, 'rabbitmq_global_messages_received_confirm_total', p)).toBeGreaterThanOrEqual(4);
    expect(value(text, 'rabbitmq_global_messages_confirmed_total', p)).toBeGreaterThanOrEqual(4);
    expect(value(text, 'rabbitmq_global_messages_routed_total', p)).toBeGreaterThanOrEqual(3);
    expect(value(text, 'rabbitmq_global_messages_unroutable_dropped_total', p)).toBeGreaterThanOrEqual(1);
    expect(value(text, 'rabbitmq_global_messages_delivered_get_manual_ack_total', '{protocol="amqp091",queue_type="rabbit_classic_queue"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'rabbitmq_global_messages_dead_lettered_rejected_total', '{queue_type="rabbit_classic_queue",dead_letter_strategy="at_most_once"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'rabbitmq_message_size_bytes_bucket', '{protocol="amqp091",le="10000.0"}')).toBeGreaterThan(value(text, 'rabbitmq_message_size_bytes_bucket', '{protocol="amqp091",le="1000.0"}') ?? Infinity);
    expect(value(text, 'rabbitmq_queues_created_total')).toBeGreaterThanOrEqual(2);
    expect(value(text, 'rabbitmq_connections_closed_total')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'warren_dead_lettered_total', '{reason="rejected"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'warren_dead_letter_queues_with_messages')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/# TYPE warren_dead_lettered_total counter/);
  });
});

describe('per-object and detailed', () => {
  it('per-object gives a sample per queue with vhost and queue labels, and the warren extras', async () => {
    const text = await scrape('/metrics/per-object');
    expect(value(text, 'rabbitmq_queue_messages_ready', '{vhost="/",queue="m-work"}')).toBe(2);
    expect(value(text, 'rabbitmq_queue_messages_ready', '{vhost="/",queue="m-dlq"}')).toBe(1);
    expect(value(text, 'rabbitmq_queue_messages_published_total', '{vhost="/",queue="m-work"}')).toBe(3);
    expect(value(text, 'rabbitmq_queue_get_ack_total', '{vhost="/",queue="m-work"}')).toBe(1);
    expect(value(text, 'warren_queue_dead_lettered_in_total', '{vhost="/",queue="m-dlq"}')).toBe(1);
    expect(text).toContain('rabbitmq_queue_info{vhost="/",queue="m-dlq",queue_type="rabbit_classic_queue",membership="leader"} 1');
    expect(text).toMatch(/rabbitmq_identity_info\{.*rabbitmq_endpoint="per-object"\} 1/);
  });

  it('detailed gives only the families asked for, prefixed rabbitmq_detailed_, for the vhosts asked for', async () => {
    const other = await b.broker.addVhost('metrics-other');
    other.declareQueue('elsewhere', { passive: false, durable: false, exclusive: false, autoDelete: false, args: {} }, {});
    const all = await scrape('/metrics/detailed?family=queue_coarse_metrics&family=connection_churn_metrics');
    expect(value(all, 'rabbitmq_detailed_queue_messages_ready', '{vhost="metrics-other",queue="elsewhere"}')).toBe(0);
    expect(value(all, 'rabbitmq_detailed_queue_messages_ready', '{vhost="/",queue="m-work"}')).toBe(2);
    expect(value(all, 'rabbitmq_detailed_queues_created_total')).toBeGreaterThanOrEqual(3);
    expect(all).not.toContain('rabbitmq_detailed_queue_consumers');
    expect(all).not.toContain('rabbitmq_detailed_channel_');
    const one = await scrape('/metrics/detailed?family=queue_coarse_metrics&vhost=metrics-other');
    expect(one).toContain('rabbitmq_detailed_queue_messages_ready{vhost="metrics-other",queue="elsewhere"} 0');
    expect(one).not.toContain('queue="m-work"');
    expect(one).toMatch(/rabbitmq_identity_info\{.*rabbitmq_endpoint="detailed"\} 1/);
    await b.broker.deleteVhost('metrics-other');
  });

  it('answers 404 for other paths', async () => {
    const res = await fetch(`http://127.0.0.1:${b.metricsPort}/other`);
    expect(res.status).toBe(404);
  });

  it('answers 400 to a request target that does not parse as a URL, and keeps serving', async () => {
    // Node's HTTP parser accepts this absolute-form target; the WHATWG URL parser does not.
    const reply = await new Promise<string>((resolve, reject) => {
      const s = connect(b.metricsPort ?? 0, '127.0.0.1', () => s.end('GET http://a:99999/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    expect(reply.startsWith('HTTP/1.1 400')).toBe(true);
    expect((await fetch(`http://127.0.0.1:${b.metricsPort}/metrics`)).status).toBe(200);
  });
});

describe('big scrapes', () => {
  it('a per-object scrape of 20k queues gives the event loop a turn after every slice', async () => {
    const vhost = await b.broker.addVhost('metrics-many');
    for (let i = 0; i < 20_000; i++) vhost.declareQueue(`q${i}`, { passive: false, durable: false, exclusive: false, autoDelete: false, args: {} }, {});
    let turns = 0;
    let spinning = true;
    const spin = (): void => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const text = await scrape('/metrics/per-object');
    spinning = false;
    expect(text.split('\n').filter((l) => l.startsWith('rabbitmq_queue_messages_ready{vhost="metrics-many"')).length).toBe(20_000);
    // 20k queues x 15 per-queue families in slices of 2000: about 150 slices, each followed by a turn.
    expect(turns).toBeGreaterThan(100);
    await b.broker.deleteVhost('metrics-many');
  });
});

/** Hold the event loop (this process runs the broker too) for `ms`. */
function blockLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin: a synchronous stretch, as a long purge or requeue would be
  }
}

it('exposes the event-loop lag, which shows a synchronous stall', async () => {
  const before = await scrape();
  expect(before).toMatch(/# TYPE warren_event_loop_lag_seconds gauge/);
  expect(before).toMatch(/^warren_event_loop_lag_seconds \d+(\.\d+)?(e-?\d+)?$/m);
  blockLoop(250);
  await new Promise((r) => setImmediate(r)); // let the delay monitor's timer fire late
  await new Promise((r) => setTimeout(r, 30));
  const after = await scrape();
  const m = /^warren_event_loop_lag_seconds (\S+)$/m.exec(after);
  expect(Number(m?.[1])).toBeGreaterThanOrEqual(0.2);
});
