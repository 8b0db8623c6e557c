// Renders a soak series (JSON lines from bench/soak.mjs) as an SVG of four stacked panels over
// time: broker RSS, open fds and connections, bystander round trip (max per second, log scale),
// and the broker's event-loop lag gauge when present.
//   node bench/soak/plot.mjs bench/out/soak-<time>.jsonl [out.svg]
import fs from 'node:fs';

const W = 900;
const PANEL_H = 150;
const PAD = { left: 60, right: 20, top: 24, bottom: 28 };

const [input, output = input.replace(/\.jsonl$/, '') + '.svg'] = process.argv.slice(2);
if (!input) {
  process.stderr.write('usage: node bench/soak/plot.mjs <series.jsonl> [out.svg]\n');
  process.exit(2);
}
const rows = fs
  .readFileSync(input, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l));
const samples = rows.filter((r) => !r.summary);
const summary = rows.find((r) => r.summary);
const tMax = Math.max(1, ...samples.map((s) => s.t));
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

function panel(index, title, series, { log = false, unit = '' } = {}) {
  const y0 = index * (PANEL_H + PAD.top + PAD.bottom) + PAD.top;
  const values = series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => v !== null && Number.isFinite(v));
  let lo = log ? Math.max(0.1, Math.min(...values)) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (hi <= lo) hi = lo + 1;
  const tf = log ? Math.log10 : (v) => v;
  const x = (t) => PAD.left + ((W - PAD.left - PAD.right) * t) / tMax;
  const y = (v) => y0 + PANEL_H - (PANEL_H * (tf(Math.max(v, lo)) - tf(lo))) / (tf(hi) - tf(lo));
  const out = [`<text x="${PAD.left}" y="${y0 - 6}" font-size="13" font-weight="bold">${esc(title)}</text>`];
  out.push(`<rect x="${PAD.left}" y="${y0}" width="${W - PAD.left - PAD.right}" height="${PANEL_H}" fill="none" stroke="#ccc"/>`);
  for (const v of [lo, hi]) out.push(`<text x="${PAD.left - 4}" y="${y(v) + 4}" font-size="11" text-anchor="end">${v.toFixed(v < 10 ? 1 : 0)}${unit}</text>`);
  out.push(`<text x="${W - PAD.right}" y="${y0 + PANEL_H + 14}" font-size="11" text-anchor="end">${tMax.toFixed(0)} s</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => p[1] !== null && Number.isFinite(p[1]));
    if (pts.length === 0) return;
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.3" points="${pts.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ')}"/>`);
    out.push(`<text x="${PAD.left + 8 + i * 160}" y="${y0 + 14}" font-size="11" fill="${s.color}">${esc(s.name)}</text>`);
  });
  return out.join('\n');
}

const pts = (f) => samples.map((s) => [s.t, f(s)]);
const panels = [
  panel(0, 'broker RSS (MiB)', [{ name: 'RSS', color: '#1f77b4', points: pts((s) => (s.rss === null ? null : s.rss / 1048576)) }]),
  panel(1, 'open fds and connections', [
    { name: 'fds', color: '#d62728', points: pts((s) => s.fds) },
    { name: 'connections', color: '#2ca02c', points: pts((s) => s.connections) },
  ]),
  panel(2, 'bystander round trip, max per second (ms, log)', [{ name: 'max rtt', color: '#9467bd', points: pts((s) => s.rtt.max) }], { log: true }),
  panel(3, 'event-loop lag: broker gauge and the soak process itself (ms)', [
    { name: 'warren_event_loop_lag', color: '#ff7f0e', points: pts((s) => s.lagMs) },
    { name: 'soak process', color: '#7f7f7f', points: pts((s) => s.selfLagMs) },
  ]),
];
const H = panels.length * (PANEL_H + PAD.top + PAD.bottom) + 30;
const verdict = summary ? `verdict: ${summary.verdict.ok ? 'PASS' : 'FAIL'}` : 'no summary (run interrupted?)';
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${panels.join('\n')}
<text x="${PAD.left}" y="${H - 8}" font-size="12">${esc(verdict)} (${esc(input.split('/').pop())})</text>
</svg>
`;
fs.writeFileSync(output, svg);
process.stdout.write(`${output}\n`);
