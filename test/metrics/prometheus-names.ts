// Parsing helpers for the Prometheus tests: families (name, type, label names) of a scrape, and the
// reference files of RabbitMQ's names.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface Family {
  type: string;
  /** Label name sets seen on its samples, each as 'a,b,c' ('' for none). */
  labelSets: Set<string>;
  samples: number;
}

/** Families of a text-format scrape (histogram _bucket/_sum/_count samples count for their family). */
export function families(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t !== null) {
      out.set(t[1] as string, { type: t[2] as string, labelSets: new Set(), samples: 0 });
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    let name = m[1] as string;
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (name.endsWith(suffix) && out.get(name.slice(0, -suffix.length))?.type === 'histogram') name = name.slice(0, -suffix.length);
    }
    const f = out.get(name);
    if (f === undefined) throw new Error(`sample before its TYPE line: ${line}`);
    f.samples++;
    f.labelSets.add([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)].map((x) => x[1]).filter((k) => k !== 'le').join(','));
  }
  return out;
}

/** One sample's value, by name and exact label text (`{a="b"}` or ''). */
export function value(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const FIXTURES = resolve(__dirname, '../fixtures');

/** Metric names the RabbitMQ-Overview dashboard queries. */
export function dashboardMetrics(): string[] {
  return readFileSync(resolve(FIXTURES, 'rabbitmq-overview-dashboard-metrics.txt'), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** RabbitMQ 3.10.8's families per endpoint: name → type and label name sets. */
export function rabbitmq310(endpoint: 'aggregated' | 'per-object'): Map<string, Family> {
  const out = new Map<string, Family>();
  for (const line of readFileSync(resolve(FIXTURES, 'rabbitmq-3.10.8-prometheus-families.txt'), 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [ep, name, type, labelNames] = line.split(' ') as [string, string, string, string];
    if (ep !== endpoint) continue;
    let f = out.get(name);
    if (f === undefined) out.set(name, (f = { type, labelSets: new Set(), samples: 0 }));
    f.labelSets.add(labelNames === '-' ? '' : labelNames);
  }
  return out;
}
