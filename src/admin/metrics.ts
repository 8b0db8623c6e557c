// Prometheus text exposition of the broker's counters, for dashboards and alerts
// (e.g. on warren_dead_lettered_total when poison messages reach a dead-letter queue).

import { listenOn } from '../util/listen.js';
import { createServer, type Server } from 'node:http';
import type { Broker } from '../broker/broker.js';

/** Render the current metrics in the Prometheus text format (version 0.0.4). */
export function renderMetrics(broker: Broker, connections: number): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [string, number][]): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) lines.push(`${name}${labels} ${v}`);
  };
  metric('warren_connections', 'gauge', 'Open client connections.', [['', connections]]);
  const queues: [string, number][] = [];
  const consumers: [string, number][] = [];
  const paged: [string, number][] = [];
  for (const v of broker.vhosts.values()) {
    for (const q of v.queues.values()) {
      const l = `{vhost="${esc(v.name)}",queue="${esc(q.name)}"}`;
      queues.push([l, q.depth]);
      consumers.push([l, q.consumerCount]);
      paged.push([l, q.pagedCount]);
    }
  }
  metric('warren_queue_messages_ready', 'gauge', 'Messages ready for delivery, per queue.', queues);
  metric('warren_queue_messages_paged', 'gauge', 'Ready messages kept on disk only, per queue.', paged);
  metric('warren_queue_consumers', 'gauge', 'Consumers, per queue.', consumers);
  const dl: [string, number][] = [];
  for (const [reason, n] of broker.metrics.deadLettered) dl.push([`{reason="${esc(reason)}"}`, n]);
  metric('warren_dead_lettered_total', 'counter', 'Messages republished to a dead-letter exchange, by reason.', dl);
  metric('warren_delivery_failed_total', 'counter', 'Deliveries that failed (a broker fault); the message was dead-lettered as rejected, or dropped.', [['', broker.metrics.deliveryFailed]]);
  metric('warren_dead_letter_dropped_total', 'counter', 'Messages dead-lettered with no exchange to go to (dropped).', [['', broker.metrics.deadLetterDropped]]);
  metric('warren_event_loop_lag_seconds', 'gauge', 'Worst event-loop delay over the last second (how late timers and I/O ran).', [['', broker.loop.lagSeconds]]);
  metric('warren_resource_alarm', 'gauge', '1 while publishers are blocked by a memory or disk alarm.', [['', broker.alarms.blocked ? 1 : 0]]);
  // Each vhost has its own message store; operators alert on the totals.
  const stores = [...broker.vhosts.values()].flatMap((v) => (v.store === null ? [] : [v.store.messages.stats()]));
  if (stores.length > 0) {
    const sum = (f: (s: (typeof stores)[number]) => number): number => stores.reduce((n, s) => n + f(s), 0);
    metric('warren_store_messages', 'gauge', 'Messages held by the message stores.', [['', sum((s) => s.messages)]]);
    metric('warren_store_fsyncs_total', 'counter', 'Group commits (one fsync each).', [['', sum((s) => s.syncs)]]);
    metric('warren_store_corrupt_records_total', 'counter', 'Records skipped at recovery because their checksum failed.', [['', sum((s) => s.corruptRecords)]]);
  }
  return lines.join('\n') + '\n';
}

function esc(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** GET /metrics on its own port. */
export class MetricsServer {
  private readonly http: Server;

  constructor(broker: Broker, connections: () => number) {
    this.http = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderMetrics(broker, connections()));
      } else {
        res.writeHead(404).end();
      }
    });
  }

  listen(host: string, port: number): Promise<number> {
    return listenOn(this.http, host, port);
  }


  close(): Promise<void> {
    return new Promise((resolve) => this.http.close(() => resolve()));
  }
}
