// Renders the summary rows as a self-contained SVG: per row, one bar per target scaled to the
// larger of the two (units differ between rows), the values, and the warren/RabbitMQ ratio
// coloured by whether the speed target is met.
import { fmt } from './report.mjs';

const COLORS = { warren: '#2f6fb0', rabbitmq: '#e07b24' };
const NAMES = { warren: 'warren', rabbitmq: 'RabbitMQ' };
const ROW_H = 40;
const LABEL_W = 330;
const BAR_W = 420;
const RATIO_W = 150;
const TOP = 58;

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderSvg(rows, targets, title) {
  const width = LABEL_W + BAR_W + RATIO_W + 20;
  const height = TOP + rows.length * ROW_H + 30;
  const barH = targets.length === 2 ? 14 : 22;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  targets.forEach((t, i) => {
    const x = LABEL_W + i * 120;
    out.push(`<rect x="${x}" y="34" width="12" height="12" fill="${COLORS[t]}"/>`);
    out.push(`<text x="${x + 17}" y="44">${NAMES[t]}</text>`);
  });
  if (targets.length === 2) out.push(`<text x="${LABEL_W + BAR_W + 10}" y="44" fill="#555">warren/RabbitMQ</text>`);
  rows.forEach((r, i) => {
    const y = TOP + i * ROW_H;
    if (i % 2 === 0) out.push(`<rect x="0" y="${y}" width="${width}" height="${ROW_H}" fill="#f4f6f8"/>`);
    out.push(`<text x="10" y="${y + 17}" font-weight="bold">${esc(`${r.scenario} · ${r.client}`)}</text>`);
    const dir = r.metric.better === 'lower' ? 'lower is better' : 'higher is better';
    out.push(`<text x="10" y="${y + 32}" fill="#555">${esc(`${r.metric.unit} (${dir})`)}</text>`);
    const max = Math.max(...targets.map((t) => r.by[t]?.median ?? 0), 1e-12);
    targets.forEach((t, j) => {
      const v = r.by[t]?.median;
      const by = y + 5 + j * (barH + 2);
      const w = Number.isFinite(v) ? Math.max(1, ((BAR_W - 90) * v) / max) : 0;
      out.push(`<rect x="${LABEL_W}" y="${by}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[t]}"/>`);
      out.push(`<text x="${LABEL_W + w + 5}" y="${by + barH - 3}">${esc(fmt(v))}</text>`);
    });
    if (targets.length === 2) {
      const color = r.met === null ? '#333' : r.met ? '#1a7f37' : '#c62828';
      const ratio = r.ratio === null ? 'n/a' : `${r.ratio.toFixed(2)}x`;
      const goal = r.metric.target ? ` (goal ${r.metric.target.cmp} ${r.metric.target.ratio}x)` : '';
      out.push(`<text x="${LABEL_W + BAR_W + 10}" y="${y + 24}" fill="${color}" font-weight="bold">${esc(ratio)}</text>`);
      out.push(`<text x="${LABEL_W + BAR_W + 60}" y="${y + 24}" fill="#555" font-size="10">${esc(goal)}</text>`);
    }
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
