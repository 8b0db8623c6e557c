// The Prometheus listener (RabbitMQ's rabbitmq_prometheus on 15692): GET /metrics,
// /metrics/per-object and /metrics/detailed. Each response is streamed a slice at a time with a
// turn of the event loop between slices (and a wait for the socket when it is full), so a big
// scrape delays AMQP traffic by a slice at most, never by the whole scrape.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Broker } from '../broker/broker.js';
import { listenOn } from '../util/listen.js';
import { renderAggregated, renderDetailed, renderPerObject, type MetricsSource } from './render.js';
import { CONTENT_TYPE } from './text-format.js';

export interface MetricsServerOptions {
  /** prometheus.return_per_object_metrics: /metrics answers with per-object samples. */
  perObject?: boolean;
}

export class MetricsServer {
  private readonly http: Server;
  private readonly source: MetricsSource;
  private readonly perObject: boolean;

  constructor(broker: Broker, connections: () => number, opts: MetricsServerOptions = {}) {
    this.source = { broker, connections };
    this.perObject = opts.perObject === true;
    // A request the handler cannot take (e.g. a target URL that does not parse) gets 400, never an
    // unhandled rejection: that would end the broker's process.
    this.http = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request\n');
        else res.destroy();
      });
    });
    // A scraper that stops reading is cut off (idle socket timeout: Node destroys the socket)
    // instead of pinning its snapshot forever.
    this.http.timeout = 60_000;
    this.http.headersTimeout = 10_000;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let chunks: Generator<string>;
    if (url.pathname === '/metrics') chunks = renderAggregated(this.source, this.perObject);
    else if (url.pathname === '/metrics/per-object') chunks = renderPerObject(this.source);
    else if (url.pathname === '/metrics/detailed') {
      const vhosts = url.searchParams.getAll('vhost');
      chunks = renderDetailed(this.source, new Set(url.searchParams.getAll('family')), vhosts.length > 0 ? new Set(vhosts) : null);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found\n');
      return;
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPE });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    try {
      await stream(chunks, res);
    } catch (err) {
      // Headers are gone: cut the response short so the scraper sees a failed scrape, not a partial one.
      this.source.broker.log.error({ err: err instanceof Error ? err.message : String(err), path: url.pathname }, 'metrics scrape failed');
      res.destroy();
    }
  }

  listen(host: string, port: number): Promise<number> {
    return listenOn(this.http, host, port);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.http.closeAllConnections();
      this.http.close(() => resolve());
    });
  }
}

/** Write each chunk, yielding to the event loop between them; stop if the scraper went away. */
async function stream(chunks: Generator<string>, res: ServerResponse): Promise<void> {
  for (const chunk of chunks) {
    if (res.destroyed) return;
    if (chunk !== '' && !res.write(chunk)) await drained(res);
    await nextTurn();
  }
  res.end();
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Let I/O and timers run (setImmediate: after the poll phase, so pending AMQP reads go first). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
