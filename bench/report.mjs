// Turns per-round records into the summary: one row per scenario x client x metric with the
// median and min-max of each target, the warren/RabbitMQ ratio, whether the speed target is
// met, and the median CPU of the broker and of the busiest load process. Renders Markdown.
import { median, spread } from './stats.mjs';

export function fmt(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function busiestLoad(load) {
  const v = Object.values(load || {}).filter((x) => Number.isFinite(x));
  return v.length ? Math.max(...v) : null;
}

export function summarize(records, scenarios, targets) {
  const rows = [];
  for (const s of scenarios) {
    for (const client of s.clients) {
      const recs = records.filter((r) => r.scenario === s.name && r.client === client);
      if (recs.length === 0) continue;
      for (const m of s.metrics) {
        const row = { scenario: s.name, client, metric: m, by: {}, cpu: {}, errors: 0 };
        for (const t of targets) {
          const mine = recs.filter((r) => r.target === t);
          const ok = mine.filter((r) => !r.error);
          row.errors += mine.length - ok.length;
          row.by[t] = spread(ok.map((r) => r.metrics[m.key]));
          row.cpu[t] = {
            broker: median(ok.map((r) => r.cpu?.broker)),
            load: median(ok.map((r) => busiestLoad(r.cpu?.load))),
          };
        }
        const w = row.by.warren?.median;
        const r = row.by.rabbitmq?.median;
        row.ratio = Number.isFinite(w) && Number.isFinite(r) && r !== 0 ? w / r : null;
        row.met =
          row.ratio === null || !m.target
            ? null
            : m.target.cmp === '>='
              ? row.ratio >= m.target.ratio
              : row.ratio <= m.target.ratio;
        rows.push(row);
      }
    }
  }
  return rows;
}

const cell = (s) => (s.n ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : 'n/a');
const cpuCell = (c) => (c ? `${fmt(c.broker)} / ${fmt(c.load)}` : 'n/a');

export function markdownTable(rows, targets) {
  const label = { warren: 'warren', rabbitmq: 'RabbitMQ' };
  const head = ['scenario', 'client', 'metric', ...targets.map((t) => `${label[t]} median (min–max)`)];
  const both = targets.length === 2;
  if (both) head.push('warren/RabbitMQ', 'target');
  head.push(...targets.map((t) => `CPU % ${label[t]} broker / busiest client`));
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cols = [r.scenario, r.client, `${r.metric.unit}${r.metric.better === 'lower' ? ' (lower is better)' : ''}`];
    for (const t of targets) cols.push(cell(r.by[t]));
    if (both) {
      cols.push(r.ratio === null ? 'n/a' : `${r.ratio.toFixed(2)}x`);
      const goal = r.metric.target ? `${r.metric.target.cmp} ${r.metric.target.ratio}x` : '–';
      cols.push(r.met === null ? goal : `${goal} ${r.met ? 'met' : 'MISSED'}`);
    }
    for (const t of targets) cols.push(cpuCell(r.cpu[t]));
    if (r.errors) cols[0] += ` (${r.errors} failed)`;
    lines.push(`| ${cols.join(' | ')} |`);
  }
  return lines.join('\n');
}
