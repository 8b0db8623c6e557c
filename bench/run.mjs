// Benchmark driver: `node bench/run.mjs --target warren|rabbitmq|both [--scenario A,B]
// [--client raw|amqplib|both] [--seconds N] [--rounds N] [--deep-count N] [--deep-body BYTES]
// [--deep-fill-limit SECONDS] [--backlog N] [--connections N] [--warren-sync always|batch|off]
// [--warren-node-args "..."] [--warren-root DIR] [--user NAME [--password P] --vhost V]
// [--scrape-metrics MS [--scrape-per-object]] [--results]`.
// Alternates the targets scenario by scenario (order flipped every round) so both see the same
// machine conditions, writes raw records as JSON lines under bench/out/, prints the summary
// table and renders it as an SVG; --results also rewrites bench/RESULTS.md.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { renderSvg } from './chart.mjs';
import { createContext } from './context.mjs';
import { Progress } from './progress.mjs';
import { setupAccess } from './bench-access.mjs';
import { scrapeSummary, startScraper } from './metrics-scraper.mjs';
import { markdownTable, summarize } from './report.mjs';
import { writeResultsMd } from './results-md.mjs';
import { SCENARIOS } from './scenarios.mjs';
import { startRabbit, startWarren } from './targets.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'bench/out');
/** A step may take its measured seconds plus this long (setup, settling, deep queue) before it is abandoned. */
const STEP_GRACE_MS = 15 * 60 * 1000;

function parseArgs(argv) {
  const o = {
    target: 'both',
    scenario: 'all',
    client: 'both',
    seconds: 5,
    rounds: 3,
    deepCount: 200000,
    deepBody: 16,
    deepFillLimit: 480,
    backlog: 50000,
    connections: 1000,
    warrenSync: 'always',
    warrenNodeArgs: '',
    warrenRoot: ROOT,
    results: false,
    user: 'guest',
    password: null,
    vhost: '/',
    scrapeMetrics: 0,
    scrapePerObject: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--target') o.target = val();
    else if (a === '--scenario') o.scenario = val();
    else if (a === '--client') o.client = val();
    else if (a === '--seconds') o.seconds = Number(val());
    else if (a === '--rounds') o.rounds = Number(val());
    else if (a === '--deep-count') o.deepCount = Number(val());
    else if (a === '--deep-body') o.deepBody = Number(val());
    else if (a === '--deep-fill-limit') o.deepFillLimit = Number(val());
    else if (a === '--backlog') o.backlog = Number(val());
    else if (a === '--connections') o.connections = Number(val());
    else if (a === '--warren-sync') o.warrenSync = val();
    else if (a === '--warren-node-args') o.warrenNodeArgs = val();
    else if (a === '--warren-root') o.warrenRoot = path.resolve(val());
    else if (a === '--results') o.results = true;
    else if (a === '--user') o.user = val();
    else if (a === '--password') o.password = val();
    else if (a === '--vhost') o.vhost = val();
    else if (a === '--scrape-metrics') o.scrapeMetrics = Number(val());
    else if (a === '--scrape-per-object') o.scrapePerObject = true;
    else if (a === '--list') o.list = true;
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!['warren', 'rabbitmq', 'both'].includes(o.target)) throw new Error('--target is warren, rabbitmq or both');
  if (!['raw', 'amqplib', 'both'].includes(o.client)) throw new Error('--client is raw, amqplib or both');
  for (const k of ['seconds', 'rounds', 'deepCount', 'deepBody', 'deepFillLimit', 'backlog', 'connections']) {
    if (!(o[k] > 0) || !Number.isFinite(o[k])) throw new Error(`--${k} must be a positive number`);
  }
  if (!(o.scrapeMetrics >= 0) || !Number.isFinite(o.scrapeMetrics)) throw new Error('--scrape-metrics is a period in ms');
  if (o.scrapePerObject && !o.scrapeMetrics) throw new Error('--scrape-per-object needs --scrape-metrics MS');
  if (!o.user) throw new Error('--user needs a name');
  o.password ??= o.user;
  // guest on '/' is the default: nothing to create, and guest's password is left alone.
  o.access = o.user === 'guest' && o.vhost === '/' ? null : { user: o.user, password: o.password, vhost: o.vhost };
  return o;
}

function stamp() {
  return new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help || o.list) {
    console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(0, 4).join('\n'));
    for (const s of SCENARIOS) console.log(`  ${s.name.padEnd(20)} ${s.description}`);
    return;
  }
  const scenarios = o.scenario === 'all' ? SCENARIOS : o.scenario.split(',').map((n) => {
    const s = SCENARIOS.find((x) => x.name === n);
    if (!s) throw new Error(`unknown scenario ${n}; --list shows them`);
    return s;
  });
  const clients = o.client === 'both' ? ['raw', 'amqplib'] : [o.client];
  const targetNames = o.target === 'both' ? ['warren', 'rabbitmq'] : [o.target];
  const opts = { seconds: o.seconds, warmupMs: Math.min(1000, o.seconds * 200), deepCount: o.deepCount, deepBody: o.deepBody, deepFillLimit: o.deepFillLimit, backlog: o.backlog, connections: o.connections };

  fs.mkdirSync(OUT, { recursive: true });
  const id = stamp();
  const jsonl = path.join(OUT, `${id}.jsonl`);
  const targets = {};
  /** Undo of --user/--vhost per target (warren's is redone after a restart: new data directory). */
  const undoAccess = {};
  const stopAll = async () => {
    for (const [name, undo] of Object.entries(undoAccess)) {
      await undo().catch((e) => console.error(`${name}: removing ${o.user}/${o.vhost} failed: ${e.message}`));
      delete undoAccess[name];
    }
    for (const t of Object.values(targets)) await t.stop().catch(() => {});
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

  try {
    if (targetNames.includes('rabbitmq')) {
      targets.rabbitmq = await startRabbit({ root: ROOT });
      if (o.access) undoAccess.rabbitmq = await setupAccess(targets.rabbitmq, o.access);
    }
    if (targetNames.includes('warren')) {
      targets.warren = await startWarren({
        root: o.warrenRoot,
        sync: o.warrenSync,
        nodeArgs: o.warrenNodeArgs.split(' ').filter(Boolean),
        logFile: path.join(OUT, `${id}-warren.log`),
        management: Boolean(o.access),
        metrics: o.scrapeMetrics > 0,
        // The process's data directory goes with it, so its undo is only needed for the last one.
        afterStart: o.access ? async (t) => void (undoAccess.warren = await setupAccess(t, o.access)) : undefined,
      });
    }
    const plan = [];
    for (let round = 1; round <= o.rounds; round++) {
      const order = round % 2 === 1 ? targetNames : [...targetNames].reverse();
      for (const s of scenarios) {
        for (const client of clients.filter((c) => s.clients.includes(c))) {
          for (const t of order) plan.push({ round, scenario: s, client, target: t });
        }
      }
    }
    const progress = new Progress(plan.length);
    const records = [];
    const versions = {};
    for (const step of plan) {
      const target = targets[step.target];
      const label = `round ${step.round} ${step.scenario.name} ${step.client} -> ${step.target}`;
      progress.start(label);
      const rec = { round: step.round, scenario: step.scenario.name, client: step.client, target: step.target, at: new Date().toISOString() };
      const t0 = performance.now();
      let ctx = null;
      let scraper = null;
      try {
        if (step.scenario.freshBroker && target.restart) await target.restart();
        if (!target.alive()) throw new Error(`${step.target} is not running`);
        ctx = await createContext({ target, client: step.client, scenario: step.scenario.name, opts, runId: id.slice(11).replace(/-/g, ''), onProgress: (f) => progress.update(f) });
        versions[step.target] ||= ctx.serverProperties;
        if (o.scrapeMetrics) scraper = startScraper(target.metricsUrl, { everyMs: o.scrapeMetrics, perObject: o.scrapePerObject });
        let timer;
        const limit = new Promise((_, rej) => {
          timer = setTimeout(() => rej(new Error('step timed out')), o.seconds * 1000 + STEP_GRACE_MS);
        });
        const r = await Promise.race([step.scenario.run(ctx), limit]).finally(() => clearTimeout(timer));
        Object.assign(rec, r);
      } catch (e) {
        rec.error = e.message;
        progress.log(`  ${label}: FAILED ${e.message.split('\n')[0]}`);
      } finally {
        if (scraper) rec.scrape = await scraper.stop();
        if (ctx) await ctx.close().catch(() => {});
      }
      rec.stepSeconds = (performance.now() - t0) / 1000;
      records.push(rec);
      fs.appendFileSync(jsonl, `${JSON.stringify(rec)}\n`);
      progress.finish();
    }
    progress.end();

    const rows = summarize(records, scenarios, targetNames);
    const table = markdownTable(rows, targetNames);
    const env = process.env.RABBITMQ_URL ? `RABBITMQ_URL=${process.env.RABBITMQ_URL} ` : '';
    const command = `${env}npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
    const svg = renderSvg(rows, targetNames, `warren vs RabbitMQ: medians of ${o.rounds} round(s), ${o.seconds} s each`);
    fs.writeFileSync(path.join(OUT, `${id}.svg`), svg);
    const access = o.access ? `\nclients connected as ${o.user} to vhost ${o.vhost}\n` : '';
    const scrapes = o.scrapeMetrics
      ? `\nPrometheus scrapes every ${o.scrapeMetrics} ms during the steps (${o.scrapePerObject ? '/metrics and /metrics/per-object' : '/metrics'}):\n\n${scrapeSummary(records, targetNames)}\n`
      : '';
    fs.writeFileSync(path.join(OUT, `${id}.md`), `${table}\n${access}${scrapes}`);
    console.log(`\n${table}\n${access}${scrapes}`);
    console.log(`raw results: ${path.relative(ROOT, jsonl)}\nchart: ${path.relative(ROOT, path.join(OUT, `${id}.svg`))}`);
    if (o.results) {
      fs.writeFileSync(path.join(ROOT, 'bench/results.svg'), svg);
      writeResultsMd(path.join(ROOT, 'bench/RESULTS.md'), { table, command, versions, opts: o, rows });
      console.log('wrote bench/RESULTS.md and bench/results.svg');
    }
  } finally {
    await stopAll();
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exitCode = 1;
});
