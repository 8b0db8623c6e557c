// Preloaded into a warren process by bench/requeue-lag.mjs (node --import): every 100 ms, appends
// "<epoch ms> <max event-loop delay in ms over those 100 ms>" to $WARREN_LAG_FILE, so the bench
// can report the broker's own event-loop lag for each measured window.
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.WARREN_LAG_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 2 });
  h.enable();
  setInterval(() => {
    fs.appendFileSync(file, `${Date.now()} ${(h.max / 1e6).toFixed(1)}\n`);
    h.reset();
  }, 100).unref();
}
