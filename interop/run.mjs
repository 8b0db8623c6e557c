#!/usr/bin/env node
// Runs every interop scenario against RabbitMQ and warren and compares what clients observe.
//
//   node interop/run.mjs [--only PATTERN] [--target both|rabbitmq|warren]
//                        [--rabbitmq-url URL] [--warren-url URL] [--timeout MS]
//                        [--serial] [--verbose] [--list]
//
// PATTERN is a substring, or a glob with `*`; several may be given separated by commas.
// With one target the observations are printed instead of compared. Exit status is
// non-zero when a difference is not listed in KNOWN-DIFFERENCES.md.
import { readdirSync, readFileSync, mkdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Context, normalise, diff, sleep, describeError } from './lib.mjs';
import { rabbitmqAdmin, warrenAdmin } from './access-admin.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));

function parseArgs(argv) {
  const o = {
    only: null,
    target: 'both',
    rabbitmqUrl: process.env.RABBITMQ_URL || 'amqp://guest:guest@127.0.0.1:5672',
    warrenUrl: process.env.WARREN_URL || null,
    timeoutMs: 5000,
    serial: false,
    verbose: false,
    list: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--only') o.only = val();
    else if (a === '--target') o.target = val();
    else if (a === '--rabbitmq-url') o.rabbitmqUrl = val();
    else if (a === '--warren-url') o.warrenUrl = val();
    else if (a === '--timeout') o.timeoutMs = Number(val());
    else if (a === '--serial') o.serial = true;
    else if (a === '--verbose' || a === '-v') o.verbose = true;
    else if (a === '--list') o.list = true;
    else if (a === '--help' || a === '-h') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 10).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!['both', 'rabbitmq', 'warren'].includes(o.target)) throw new Error('--target must be both, rabbitmq or warren');
  return o;
}

function matcher(pattern) {
  if (!pattern) return () => true;
  const parts = pattern.split(',').map((p) => p.trim()).filter(Boolean);
  const tests = parts.map((p) => {
    if (!p.includes('*')) return (n) => n.includes(p);
    const re = new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return (n) => re.test(n);
  });
  return (n) => tests.some((t) => t(n));
}

/** Scenarios from scenarios/*.mjs: `export default { 'name': async (ctx) => obs }`. */
async function loadScenarios() {
  const dir = join(here, 'scenarios');
  const files = readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort();
  const all = [];
  for (const f of files) {
    const mod = await import(pathToFileURL(join(dir, f)).href);
    const group = f.replace(/\.mjs$/, '');
    const opts = mod.options ?? {};
    for (const [name, run] of Object.entries(mod.default)) {
      all.push({ name: `${group}.${name}`, run, ...(opts[name] ?? {}) });
    }
  }
  const seen = new Set();
  for (const s of all) {
    if (seen.has(s.name)) throw new Error(`duplicate scenario ${s.name}`);
    seen.add(s.name);
  }
  return all;
}

/**
 * KNOWN-DIFFERENCES.md: each `## <scenario name or glob>` heading lists one accepted
 * difference; the text under it (required) says why.
 */
function loadKnown() {
  let text = '';
  try {
    text = readFileSync(join(here, 'KNOWN-DIFFERENCES.md'), 'utf8');
  } catch {
    return [];
  }
  const entries = [];
  let cur = null;
  text = text.replace(/<!--[\s\S]*?-->/g, '');
  for (const line of text.split('\n')) {
    const h = /^##\s+(.+?)\s*$/.exec(line);
    if (h) {
      // `## scenario-glob` accepts any difference in the scenario; `## scenario-glob @ path-glob`
      // only differences whose path (before the colon in the diff line) matches path-glob.
      const [pattern, path] = h[1].replace(/`/g, '').split(/\s+@\s+/);
      cur = { pattern, path, reason: '' };
      entries.push(cur);
    } else if (cur && line.trim()) cur.reason += `${line.trim()} `;
  }
  for (const e of entries) {
    if (!e.reason.trim()) throw new Error(`KNOWN-DIFFERENCES.md: entry ${e.pattern} has no reason`);
    e.test = e.pattern.includes('*') ? matcher(e.pattern) : (n) => n === e.pattern;
    e.testPath = e.path === undefined ? () => true : matcher(`*${e.path}*`);
  }
  return entries;
}

async function runOne(scenario, target, url, admin, timeoutMs, onBackground) {
  const ctx = new Context({ target, url, timeoutMs, admin });
  onBackground.current = ctx;
  const limit = scenario.timeout ?? timeoutMs;
  let timer;
  let obs;
  const started = Date.now();
  try {
    obs = await Promise.race([
      Promise.resolve().then(() => scenario.run(ctx)),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`timed out after ${limit}ms`), { timeout: true })), limit);
      }),
    ]);
  } catch (e) {
    obs = e?.timeout ? { timeout: true } : { threw: describeError(e) };
    if (e?.timeout) ctx.destroy();
  } finally {
    clearTimeout(timer);
  }
  // Snapshot before teardown: scenarios often return live event arrays.
  obs = normalise(obs, ctx.prefix);
  const hard = ctx.connectionErrors();
  if (hard.length) obs = { result: obs, connectionErrors: normalise(hard, ctx.prefix) };
  await Promise.race([ctx.teardown().catch(() => {}), sleep(5000)]);
  if (ctx.background.length) obs = { result: obs, background: normalise(ctx.background, ctx.prefix) };
  return { obs, ms: Date.now() - started };
}

async function startWarren() {
  const { startBroker } = await import(pathToFileURL(join(here, '..', 'dist', 'index.js')).href);
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-interop-'));
  const broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
  return {
    url: `amqp://guest:guest@127.0.0.1:${broker.port}`,
    admin: warrenAdmin(broker.broker),
    async close() {
      await Promise.race([broker.close(), sleep(5000)]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const scenarios = (await loadScenarios()).filter((s) => matcher(opts.only)(s.name));
  if (opts.list) {
    for (const s of scenarios) console.log(s.name);
    console.log(`${scenarios.length} scenarios`);
    return 0;
  }
  const known = loadKnown();

  const targets = [];
  let warren = null;
  // Access scenarios set up users with rabbitmqctl, or on the in-process warren directly; a
  // --warren-url broker is taken to be a RabbitMQ node reachable through rabbitmq.sh ctl.
  if (opts.target !== 'warren') targets.push({ name: 'rabbitmq', url: opts.rabbitmqUrl, admin: rabbitmqAdmin() });
  if (opts.target !== 'rabbitmq') {
    let url = opts.warrenUrl;
    let admin = rabbitmqAdmin();
    if (!url) {
      try {
        warren = await startWarren();
        url = warren.url;
        admin = warren.admin;
      } catch (e) {
        console.log(`warren did not start: ${e?.stack ?? e}`);
        console.log(`interop: 0 same, ${scenarios.length} differ, ${scenarios.length} total`);
        return 1;
      }
    }
    targets.push({ name: 'warren', url, admin });
  }

  const outDir = join(here, 'out');
  mkdirSync(outDir, { recursive: true });
  const report = [];
  let same = 0;
  let differ = 0;
  let unlisted = 0;
  // Errors escaping a scenario's promise chain (e.g. an unhandled event) are attributed to
  // the scenario running at the time instead of crashing the suite.
  const bgByTarget = Object.fromEntries(targets.map((t) => [t.name, { current: null }]));
  const stray = (e) => {
    for (const b of Object.values(bgByTarget)) b.current?.background.push(describeError(e));
  };
  process.on('unhandledRejection', stray);
  process.on('uncaughtException', stray);

  for (const s of scenarios) {
    const run = (t) => runOne(s, t.name, t.url, t.admin, opts.timeoutMs, bgByTarget[t.name]);
    let results;
    if (opts.serial) {
      results = [];
      for (const t of targets) results.push(await run(t));
    } else results = await Promise.all(targets.map(run));
    for (const b of Object.values(bgByTarget)) b.current = null;

    if (targets.length === 1) {
      console.log(`${s.name} (${results[0].ms}ms)`);
      console.log(`  ${JSON.stringify(results[0].obs)}`);
      report.push({ name: s.name, [targets[0].name]: results[0].obs });
      continue;
    }
    const [r, w] = results;
    const lines = diff(r.obs, w.obs);
    report.push({ name: s.name, same: lines.length === 0, rabbitmq: r.obs, warren: w.obs });
    if (lines.length === 0) {
      same++;
      console.log(`same    ${s.name}`);
      if (opts.verbose) console.log(`  ${JSON.stringify(r.obs)}`);
    } else {
      differ++;
      // Every differing path must be covered by some entry for this scenario.
      const entries = known.filter((e) => e.test(s.name));
      const covered = (l) => entries.some((e) => e.testPath(l.slice(0, l.indexOf(':')).trim()));
      const k = entries.length > 0 && lines.every(covered);
      if (!k) unlisted++;
      console.log(`differs ${s.name}${k ? ' (known)' : ''}`);
      for (const l of lines) console.log(`  ${l}`);
      if (opts.verbose) {
        console.log(`  rabbitmq: ${JSON.stringify(r.obs)}`);
        console.log(`  warren:   ${JSON.stringify(w.obs)}`);
      }
    }
  }
  writeFileSync(join(outDir, 'report.json'), JSON.stringify(report, null, 1));
  if (warren) await warren.close();
  if (targets.length === 1) {
    console.log(`interop: ${scenarios.length} run against ${targets[0].name} only`);
    return 0;
  }
  console.log(`interop: ${same} same, ${differ} differ, ${scenarios.length} total`);
  if (unlisted) console.log(`interop: ${unlisted} difference(s) not listed in KNOWN-DIFFERENCES.md`);
  return unlisted ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Client libraries may keep sockets or timers alive after a misbehaving broker.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (e) => {
    console.error(e?.stack ?? e);
    process.exit(2);
  },
);
