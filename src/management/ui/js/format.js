// Number, byte, rate and time formatting for tables and charts.

export function num(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return '';
  return Number(n).toLocaleString('en-US');
}

export function rate(details) {
  const r = details?.rate;
  if (r === undefined || r === null) return '';
  return `${r >= 100 ? Math.round(r) : Math.round(r * 10) / 10}/s`;
}

export function bytes(n) {
  if (n === undefined || n === null) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function duration(ms) {
  let s = Math.floor(Number(ms) / 1000);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const mm = Math.floor(s / 60); s -= mm * 60;
  return d > 0 ? `${d}d ${hh}h` : hh > 0 ? `${hh}h ${mm}m` : `${mm}m ${s}s`;
}

export function time(ms) {
  return ms ? new Date(ms).toLocaleString() : '';
}

export function json(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object' && Object.keys(v).length === 0) return '';
  return JSON.stringify(v);
}

/** RabbitMQ's queue feature letters: D durable, AD auto-delete, Excl exclusive, Args. */
export function features(q) {
  const f = [];
  if (q.durable) f.push('D');
  if (q.auto_delete) f.push('AD');
  if (q.exclusive) f.push('Excl');
  if (q.arguments && Object.keys(q.arguments).length > 0) f.push('Args');
  return f.join(' ');
}
