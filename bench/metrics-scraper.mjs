// --scrape-metrics N: a Prometheus-like scraper of a target's /metrics (and /metrics/per-object)
// every N ms while a step runs, so the figures include the cost of being monitored. A scrape
// still in flight when the next is due is not doubled: that tick is skipped and counted.
import { performance } from 'node:perf_hooks';

export function startScraper(baseUrl, { everyMs, perObject }) {
  const paths = perObject ? ['/metrics', '/metrics/per-object'] : ['/metrics'];
  const s = { count: 0, errors: 0, skipped: 0, totalMs: 0, maxMs: 0, bytes: 0, lastError: null };
  let busy = null;
  const scrape = async () => {
    for (const p of paths) {
      const t0 = performance.now();
      try {
        const res = await fetch(`${baseUrl}${p}`, { signal: AbortSignal.timeout(Math.max(everyMs * 4, 30000)) });
        const body = await res.arrayBuffer();
        if (!res.ok) throw new Error(`${p}: HTTP ${res.status}`);
        const ms = performance.now() - t0;
        s.count++;
        s.totalMs += ms;
        s.maxMs = Math.max(s.maxMs, ms);
        s.bytes += body.byteLength;
      } catch (e) {
        s.errors++;
        s.lastError = e.message;
      }
    }
  };
  const tick = () => {
    if (busy) return void s.skipped++;
    busy = scrape().finally(() => (busy = null));
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    /** Stops, waits for a scrape in flight, returns the counts and timings. */
    async stop() {
      clearInterval(timer);
      if (busy) await busy;
      return { count: s.count, errors: s.errors, skipped: s.skipped, meanMs: s.count ? s.totalMs / s.count : null, maxMs: s.maxMs, bytes: s.bytes, lastError: s.lastError };
    },
  };
}

/** Scrape totals per target over every step's record. */
export function scrapeSummary(records, targetNames) {
  const lines = ['| target | scrapes | errors | skipped | mean ms | max ms | mean KiB |', '|---|---|---|---|---|---|---|'];
  for (const t of targetNames) {
    const rs = records.filter((r) => r.target === t && r.scrape);
    const sum = (k) => rs.reduce((a, r) => a + (r.scrape[k] || 0), 0);
    const count = sum('count');
    const totalMs = rs.reduce((a, r) => a + (r.scrape.meanMs || 0) * r.scrape.count, 0);
    const maxMs = Math.max(0, ...rs.map((r) => r.scrape.maxMs));
    const kib = count ? sum('bytes') / count / 1024 : 0;
    lines.push(`| ${t} | ${count} | ${sum('errors')} | ${sum('skipped')} | ${count ? (totalMs / count).toFixed(1) : 'n/a'} | ${maxMs.toFixed(1)} | ${kib.toFixed(1)} |`);
  }
  return lines.join('\n');
}
