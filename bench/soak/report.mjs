// The soak's output: one table row per reporting interval, and the verdict over the whole run.

const MiB = 1024 * 1024;

export function median(xs) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function quantile(xs, q) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const COLUMNS = [
  ['t s', 6],
  ['rss MiB', 8],
  ['fds', 5],
  ['conns', 6],
  ['cpu %', 6],
  ['rtt p50', 8],
  ['rtt max', 8],
  ['lag ms', 7],
  ['pub/s', 6],
  ['ack/s', 6],
  ['conn/s', 7],
  ['crash/s', 8],
  ['junk/s', 7],
  ['ready', 6],
  ['held', 5],
  ['errs', 5],
];

export function tableHeader() {
  return COLUMNS.map(([name, w]) => name.padStart(w)).join(' ');
}

const fmt = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));

/** One row summarising `window` (consecutive 1 s samples); `before` is the sample preceding it, if any. */
export function tableRow(window, before) {
  const last = window[window.length - 1];
  const secs = Math.max(1e-3, last.t - (before ? before.t : 0));
  const perSec = (f) => fmt((f(last) - (before ? f(before) : 0)) / secs, 1);
  const rtts = window.flatMap((s) => s.rtt.all);
  const lags = window.map((s) => s.lagMs).filter((v) => v !== null);
  const cells = [
    fmt(last.t),
    fmt(last.rss / MiB, 1),
    fmt(last.fds),
    fmt(last.connections),
    fmt(window.reduce((a, s) => a + (s.cpuPct ?? 0), 0) / window.length),
    fmt(median(rtts), 1),
    fmt(Math.max(0, ...window.map((s) => s.rtt.max)), 1),
    lags.length ? fmt(Math.max(...lags), 1) : '-',
    perSec((s) => s.steady.published),
    perSec((s) => s.steady.acked),
    perSec((s) => s.chaos.churnConnects),
    perSec((s) => s.chaos.crashes),
    perSec((s) => s.chaos.garbage),
    fmt(last.ready),
    fmt(last.chaos.heldSockets),
    fmt(last.steady.errors + last.chaos.errors + last.bystanderErrors),
  ];
  return cells.map((c, i) => c.padStart(COLUMNS[i][1])).join(' ');
}

/**
 * Checks over the run. Growth compares the median of the first and the last third of the samples
 * taken after warm-up; a stall is any bystander round trip over the limit.
 */
export function verdict(samples, end, limits) {
  const checks = [];
  const add = (name, ok, detail, fatal = true) => checks.push({ name, ok, detail, fatal });
  const steadyState = samples.filter((s) => s.t >= limits.warmupS);
  const third = Math.floor(steadyState.length / 3);
  if (third < 2) {
    add('enough samples after warm-up', false, `${steadyState.length} samples after ${limits.warmupS} s warm-up; run longer`);
  } else {
    const a = steadyState.slice(0, third);
    const b = steadyState.slice(steadyState.length - third);
    const rssA = median(a.map((s) => s.rss));
    const rssB = median(b.map((s) => s.rss));
    const rssGrowth = rssB - rssA;
    const rssAllowed = Math.max(limits.rssGrowthMiB * MiB, (limits.rssGrowthPct / 100) * rssA);
    add(
      'RSS growth (median, first vs last third)',
      rssGrowth <= rssAllowed,
      `${fmt(rssA / MiB, 1)} -> ${fmt(rssB / MiB, 1)} MiB (${rssGrowth >= 0 ? '+' : ''}${fmt(rssGrowth / MiB, 1)}; allowed +${fmt(rssAllowed / MiB, 1)})`,
    );
    const fdA = median(a.map((s) => s.fds));
    const fdB = median(b.map((s) => s.fds));
    const hint = end.heldOverLimitMax > 0 ? `; ${end.heldOverLimitMax} sockets still held 35 s after being half-closed, see below` : '';
    add('fd growth (median, first vs last third)', fdB - fdA <= limits.fdGrowth, `${fdA} -> ${fdB} (allowed +${limits.fdGrowth})${hint}`);
    const connA = median(a.map((s) => s.connections ?? 0));
    const connB = median(b.map((s) => s.connections ?? 0));
    add('connections (median, first vs last third)', true, `${connA} -> ${connB}`, false);
  }
  // Stalls are judged after warm-up: starting the load processes competes for the same cores.
  const warm = samples.filter((s) => s.t < limits.warmupS);
  const rtts = steadyState.flatMap((s) => s.rtt.all);
  const maxRtt = Math.max(0, ...steadyState.map((s) => s.rtt.max));
  add(
    'no stall (max bystander round trip after warm-up)',
    maxRtt < limits.maxRttMs,
    `max ${fmt(maxRtt, 1)} ms, p50 ${fmt(median(rtts), 1)}, p99 ${fmt(quantile(rtts, 0.99), 1)}, ${rtts.length} probes (limit ${limits.maxRttMs} ms)`,
  );
  add('bystander round trip during warm-up', true, `max ${fmt(Math.max(0, ...warm.map((s) => s.rtt.max)), 1)} ms`, false);
  const connectMax = Math.max(0, ...steadyState.flatMap((s) => s.connectMs));
  const connectWarm = Math.max(0, ...warm.flatMap((s) => s.connectMs));
  add(
    'new connections accepted (bystander, every 5 s, after warm-up)',
    connectMax < limits.maxRttMs * 4,
    `slowest handshake ${fmt(connectMax, 1)} ms (${fmt(connectWarm, 1)} during warm-up)`,
    false,
  );
  const lags = samples.map((s) => s.lagMs).filter((v) => v !== null);
  add('broker event-loop lag metric', true, lags.length ? `max ${fmt(Math.max(...lags), 1)} ms` : 'not exposed by this build (warren_event_loop_lag_seconds)', false);
  const selfLag = Math.max(0, ...samples.map((s) => s.selfLagMs));
  add('measuring process own event-loop delay', true, `max ${fmt(selfLag, 1)} ms (high values mean the soak itself was starved)`, false);
  add('broker alive at the end', end.alive, end.aliveDetail);
  const r = end.steadyResult;
  if (r) {
    add(
      'every confirmed message accounted for',
      r.missing === 0,
      `${r.confirmed} confirmed, ${r.accounted} copies consumed, ${r.missing} missing${r.missing ? ` (e.g. ${r.missingSample.slice(0, 5).join(', ')})` : ''}; ${r.drained} drained at the end`,
    );
    add('no acked message delivered again (nor unconfirmed ones consumed)', r.unconfirmedConsumed === 0, `${r.unconfirmedConsumed}${r.unconfirmedConsumed ? ` (e.g. ${r.unconfirmedSample.slice(0, 5).join(', ')})` : ''}`, false);
  } else add('every confirmed message accounted for', false, 'the steady load did not report (see errors)');
  add('steady clients and bystander never dropped', end.steadyErrors === 0, `${end.steadyErrors} errors${end.steadyErrorSample ? `: ${end.steadyErrorSample}` : ''}`);
  add('load stopped: broker back to its idle fds', end.idleFds !== null && end.idleFds - end.baselineFds <= limits.idleFdSlack, `${end.baselineFds} before the load, ${end.idleFds} after it (${end.idleConnections} connections)`);
  add('no 541 INTERNAL_ERROR answer to garbage', end.internalErrors === 0, `${end.internalErrors} of ${end.garbage} garbage clients`, false);
  add('half-closed/silent sockets released within 35 s', end.heldOverLimitMax === 0, `up to ${end.heldOverLimitMax} held longer (${end.heldOverLimitKinds})`, false);
  return { ok: checks.every((c) => c.ok || !c.fatal), checks };
}

export function formatVerdict(v) {
  const lines = v.checks.map((c) => `  ${c.ok ? 'ok  ' : c.fatal ? 'FAIL' : 'warn'}  ${c.name}: ${c.detail}`);
  lines.push(v.ok ? 'verdict: PASS' : 'verdict: FAIL');
  return lines.join('\n');
}
