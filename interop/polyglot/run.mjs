#!/usr/bin/env node
// Runs the polyglot client programs (Python pika/kombu/Celery, Ruby Bunny, Java, PHP, Go, amqp-tools)
// against RabbitMQ and warren and compares what each client observed, check by check.
//
//   node interop/polyglot/run.mjs [--only GLOB,...] [--rabbitmq-url URL] [--warren-url URL] [--verbose]
//
// warren is started in-process from dist/ on a free port (`npm run build` first). RabbitMQ is the
// node at $RABBITMQ_URL (default amqp://guest:guest@127.0.0.1:5672). Differences listed in
// ../KNOWN-DIFFERENCES.md under `## polyglot/<check glob>` are allowed; any other fails. A missing
// toolchain fails its checks. Last line: `polyglot: N ok, N failed`; exit status 1 on any failure.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { normalise, diff } from '../lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const PY = '/usr/bin/python3';
const JAVA_CP = ['/usr/share/java/amqp-client.jar', '/usr/share/java/slf4j-api.jar', '/usr/share/java/slf4j-nop.jar'];
const GO_SRC = '/usr/share/gocode';
const PHP_LIB = '/usr/share/php/PhpAmqpLib/autoload.php';

const TUTORIALS = ['connect', 'hello', 'work_queues', 'fanout', 'direct', 'topic', 'rpc', 'rpc_declared', 'confirms', 'headers'];
const REDECLARE = ['redeclare_args', 'redeclare_classic'];

/**
 * The programs, in the order they run against each broker. `needs` are the toolchain checks
 * (a failing one fails every check of the program, with its message); `build` compiles once.
 */
const PROGRAMS = [
  {
    id: 'pika', cmd: () => [PY, join(here, 'pika_checks.py')],
    needs: [[PY, '-c', 'import pika'], 'python3-pika'],
    checks: [...TUTORIALS, 'redeclare_setup'],
  },
  {
    id: 'kombu', cmd: () => [PY, join(here, 'kombu_checks.py')],
    needs: [[PY, '-c', 'import kombu, amqp'], 'python3-kombu'],
    checks: ['connect', 'connect_amqplain', 'hello', 'work_queues', 'fanout', 'topic', 'rpc', 'rpc_declared', 'confirms', 'headers', ...REDECLARE],
  },
  {
    id: 'bunny', cmd: () => ['ruby', join(here, 'bunny_checks.rb')],
    needs: [['ruby', '-e', 'require "bunny"'], 'ruby and ruby-bunny'],
    checks: [...TUTORIALS, ...REDECLARE],
  },
  {
    id: 'java', cmd: (b) => ['java', '-cp', [b, ...JAVA_CP].join(':'), 'JavaChecks'],
    needs: [['sh', '-c', `command -v javac && command -v java && ls ${JAVA_CP.join(' ')}`], 'a JDK (javac, java) and librabbitmq-client-java with libslf4j-java'],
    build: (dir) => [['javac', '-d', dir, '-cp', JAVA_CP.join(':'), join(here, 'JavaChecks.java')]],
    checks: [...TUTORIALS, ...REDECLARE],
  },
  {
    id: 'php', cmd: () => ['php', join(here, 'php_checks.php')],
    needs: [['sh', '-c', `command -v php && ls ${PHP_LIB}`], 'php-cli and php-amqplib'],
    checks: ['connect', 'connect_amqplain', 'hello', 'work_queues', 'fanout', 'direct', 'topic', 'rpc', 'rpc_declared', 'confirms', 'headers', ...REDECLARE],
  },
  {
    id: 'go', cmd: (b) => [join(b, 'go-checks')],
    needs: [['sh', '-c', `command -v go && ls ${GO_SRC}/src/github.com/rabbitmq/amqp091-go/connection.go`], 'golang-go and golang-github-rabbitmq-amqp091-go-dev'],
    build: (dir) => goBuild(dir),
    checks: ['connect', 'connect_amqplain', ...TUTORIALS.slice(1), ...REDECLARE],
  },
  {
    id: 'amqp-tools', cmd: () => [PY, join(here, 'amqp_tools_checks.py')],
    needs: [['sh', '-c', 'command -v amqp-declare-queue amqp-publish amqp-get amqp-consume amqp-delete-queue'], 'amqp-tools'],
    checks: ['declare_publish_get', 'consume', 'headers', 'redeclare_args'],
  },
  {
    id: 'celery', cmd: () => [PY, join(here, 'celery_checks.py')],
    needs: [[PY, '-c', 'import celery, kombu'], 'python3-celery'],
    checks: ['task_result', 'task_result_long_expiry'],
    timeoutMs: 90_000,
  },
];
// connection.blocked: run alone with a memory alarm raised (see runBlocked).
const BLOCKED = ['pika', 'kombu', 'bunny', 'java', 'php', 'go'];

function parseArgs(argv) {
  const o = { only: null, warrenUrl: null, rabbitmqUrl: process.env.RABBITMQ_URL || 'amqp://guest:guest@127.0.0.1:5672', verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') o.only = argv[++i];
    else if (a === '--rabbitmq-url') o.rabbitmqUrl = argv[++i];
    else if (a === '--warren-url') o.warrenUrl = argv[++i];
    else if (a === '--verbose') o.verbose = true;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

function globTest(pattern) {
  if (!pattern) return () => true;
  const res = pattern.split(',').map((p) => new RegExp(`^${p.trim().split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  return (n) => res.some((r) => r.test(n));
}

/** `## polyglot/<check glob>` or `## polyglot/<check glob> @ <path glob>` entries, each with a reason. */
function loadKnown() {
  const text = readFileSync(join(here, '..', 'KNOWN-DIFFERENCES.md'), 'utf8').replace(/<!--[\s\S]*?-->/g, '');
  const entries = [];
  let cur = null;
  for (const line of text.split('\n')) {
    const h = /^##\s+(.+?)\s*$/.exec(line);
    if (h) {
      const [pattern, path] = h[1].replace(/`/g, '').split(/\s+@\s+/);
      cur = pattern.startsWith('polyglot/') ? { check: globTest(pattern.slice('polyglot/'.length)), path: path ? globTest(`*${path}*`) : () => true, reason: '', pattern } : null;
      if (cur) entries.push(cur);
    } else if (cur && line.trim()) cur.reason += line;
  }
  for (const e of entries) if (!e.reason.trim()) throw new Error(`KNOWN-DIFFERENCES.md: ${e.pattern} has no reason`);
  return entries;
}

function goBuild(dir) {
  // Offline: GOPATH mode against Debian's source package (no module download).
  const src = join(dir, 'gopath', 'src', 'gochecks');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'main.go'), readFileSync(join(here, 'go_checks.go')));
  return [['sh', '-c', `cd ${src} && GOPATH=${join(dir, 'gopath')}:${GO_SRC} GO111MODULE=off GOFLAGS= GOCACHE=${join(dir, 'gocache')} go build -o ${join(dir, 'go-checks')} .`]];
}

function runSync(argv) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 180_000 });
  if (r.error) return `${argv[0]}: ${r.error.message}`;
  if (r.status !== 0) return `${argv.join(' ').slice(0, 200)} exited ${r.status}: ${(r.stderr || r.stdout).trim().slice(-600)}`;
  return null;
}

/** Runs one program with the given checks; returns { lines, stderr, problem }. onLine sees each JSON line. */
function runProgram(argv, url, checks, env, timeoutMs, onLine = () => {}) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], [...argv.slice(1), url, ...checks], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = [];
    let stderr = '';
    let buf = '';
    let problem = null;
    const timer = setTimeout(() => {
      problem = `timed out after ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (!line.startsWith('{')) continue;
        try {
          const obj = JSON.parse(line);
          lines.push(obj);
          onLine(obj);
        } catch {
          stderr += `unparsable line: ${line}\n`;
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
    child.on('error', (e) => { problem = e.message; });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (!problem && code !== 0) problem = `exited ${code ?? signal}`;
      resolve({ lines, stderr, problem });
    });
  });
}

async function startWarren() {
  const { startBroker } = await import(pathToFileURL(join(here, '..', '..', 'dist', 'index.js')).href);
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-polyglot-'));
  const running = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
  const config = running.broker.config;
  const original = config.memoryHighWatermark;
  return {
    url: `amqp://guest:guest@127.0.0.1:${running.port}`,
    // Same effect as RabbitMQ's set_vm_memory_high_watermark: a 1-byte limit raises the memory alarm.
    async alarm(on) {
      config.memoryHighWatermark = on ? 1 : original;
      await running.broker.alarms.check();
    },
    async close() {
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** rabbitmqctl for the node interop/rabbitmq.sh runs (override with POLY_RABBITMQCTL, a shell prefix). */
function rabbitmqctl(args) {
  const node = process.env.RABBITMQ_NODENAME || 'warren-interop@localhost';
  const prefix = process.env.POLY_RABBITMQCTL;
  const cmd = prefix
    ? `${prefix} ${args}`
    : `su rabbitmq -s /bin/sh -c "cd /var/lib/rabbitmq && HOME=/var/lib/rabbitmq ERL_EPMD_ADDRESS=127.0.0.1 /usr/lib/rabbitmq/bin/rabbitmqctl -q -n ${node} ${args.replace(/"/g, '\\"')}"`;
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`rabbitmqctl ${args}: ${(r.stderr || r.stdout || r.error?.message || '').trim().slice(-400)}`);
  return r.stdout.trim();
}

function rabbitmqAlarm() {
  let original = null;
  return {
    async alarm(on) {
      if (on) {
        original = rabbitmqctl("eval 'vm_memory_monitor:get_vm_memory_high_watermark().'");
        // 0 raises the memory alarm at once: every publishing connection is blocked.
        rabbitmqctl('set_vm_memory_high_watermark 0');
      } else {
        const v = original && /^[0-9.]+$/.test(original) ? original : '0.8';
        rabbitmqctl(`set_vm_memory_high_watermark ${v}`);
      }
    },
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const only = globTest(opts.only);
  const known = loadKnown();
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'polyglot-'));
  const run = `p${randomBytes(4).toString('hex')}`;
  const results = new Map(); // check -> { rabbitmq, warren, problem }
  const record = (check, target, obs) => {
    if (!only(check)) return;
    const r = results.get(check) ?? {};
    r[target] = obs;
    results.set(check, r);
  };
  const fail = (check, why) => {
    if (!only(check)) return;
    const r = results.get(check) ?? {};
    r.problem = r.problem ?? why;
    results.set(check, r);
  };

  // Toolchains and builds, once.
  const ready = new Map();
  for (const p of PROGRAMS) {
    // pika declares the queues the redeclare checks of the other programs redeclare: always ready.
    const wanted = p.id === 'pika' || [...p.checks, ...(BLOCKED.includes(p.id) ? ['blocked'] : [])].some((c) => only(`${p.id}.${c}`));
    if (!wanted) continue;
    const missing = runSync(p.needs[0]);
    let problem = missing ? `toolchain missing: install ${p.needs[1]} (${missing})` : null;
    const dir = join(work, p.id);
    mkdirSync(dir, { recursive: true });
    if (!problem && p.build) {
      const t = Date.now();
      for (const step of p.build(dir)) {
        const err = problem ? null : runSync(step);
        if (err) problem = `build failed: ${err}`;
      }
      if (opts.verbose) console.log(`built ${p.id} in ${Date.now() - t} ms`);
    }
    ready.set(p.id, { dir, problem });
  }

  let warren = null;
  if (!opts.warrenUrl) {
    try {
      warren = await startWarren();
    } catch (e) {
      console.log(`warren did not start: ${e?.stack ?? e}`);
    }
  }
  const targets = [
    { name: 'rabbitmq', url: opts.rabbitmqUrl, control: rabbitmqAlarm() },
    // --warren-url (e.g. RabbitMQ's own URL) checks that the programs are deterministic.
    opts.warrenUrl ? { name: 'warren', url: opts.warrenUrl, control: rabbitmqAlarm() } : { name: 'warren', url: warren?.url, control: warren },
  ];

  for (const t of targets) {
    // No __pycache__ next to the programs.
    const env = { POLY_RUN: run, PYTHONDONTWRITEBYTECODE: '1' };
    const collect = (p, checks, out) => {
      const byCheck = new Map(out.lines.filter((l) => l.check).map((l) => [l.check, l]));
      for (const c of checks) {
        const full = `${p.id}.${c}`;
        const obs = byCheck.get(c);
        if (obs) {
          const { check: _c, ...rest } = obs;
          record(full, t.name, normalise(rest, run));
        } else fail(full, `${t.name}: no observation (${out.problem ?? 'check not reported'}) ${out.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      }
    };
    const t0 = Date.now();
    if (!t.url) {
      for (const p of PROGRAMS) for (const c of [...p.checks, ...(BLOCKED.includes(p.id) ? ['blocked'] : [])]) fail(`${p.id}.${c}`, `${t.name} not available`);
      continue;
    }
    for (const p of PROGRAMS) {
      const r = ready.get(p.id);
      if (!r) continue;
      const checks = p.checks.filter((c) => only(`${p.id}.${c}`) || c === 'redeclare_setup');
      if (r.problem) {
        for (const c of checks) fail(`${p.id}.${c}`, r.problem);
        if (p.id === 'pika') for (const q of PROGRAMS) for (const c of REDECLARE) if (q.checks.includes(c)) fail(`${q.id}.${c}`, `pika is needed to declare the queues to redeclare: ${r.problem}`);
        continue;
      }
      if (checks.length === 0) continue;
      const pt = Date.now();
      const out = await runProgram(p.cmd(r.dir), t.url, checks, env, p.timeoutMs ?? 60_000);
      if (opts.verbose) console.log(`${t.name} ${p.id}: ${Date.now() - pt} ms${out.problem ? ` (${out.problem})` : ''}`);
      collect(p, checks, out);
      if (p.id === 'pika' && !out.lines.some((l) => l.check === 'redeclare_setup' && !l.failed)) {
        for (const q of PROGRAMS) for (const c of REDECLARE) if (q.checks.includes(c)) fail(`${q.id}.${c}`, `${t.name}: pika could not declare the queues to redeclare`);
      }
    }
    // connection.blocked: one memory alarm for all programs at once (rabbitmqctl is slow). It is raised
    // before they connect and cleared once each has said it saw the block (or has exited).
    const blockers = BLOCKED.map((id) => ({ p: PROGRAMS.find((x) => x.id === id), r: ready.get(id), full: `${id}.blocked` }))
      .filter(({ r, full }) => r && only(full));
    for (const b of blockers) if (b.r.problem) fail(b.full, b.r.problem);
    const runnable = blockers.filter((b) => !b.r.problem);
    if (runnable.length) {
      let raised = true;
      try {
        await t.control.alarm(true);
      } catch (e) {
        raised = false;
        for (const b of runnable) fail(b.full, `${t.name}: cannot raise a memory alarm: ${e.message}`);
      }
      if (raised) {
        let waiting = runnable.length;
        let allSignalled;
        const signalled = new Promise((res) => { allSignalled = res; });
        const arrived = () => { if (--waiting === 0) allSignalled(); };
        const runs = runnable.map((b) => {
          let said = false;
          const once = () => { if (!said) { said = true; arrived(); } };
          return runProgram(b.p.cmd(b.r.dir), t.url, ['blocked'], env, 90_000, (l) => { if (l.signal === 'blocked') once(); })
            .then((out) => { once(); return out; });
        });
        await signalled;
        try {
          await t.control.alarm(false);
        } catch (e) {
          for (const b of runnable) fail(b.full, `${t.name}: cannot clear the memory alarm: ${e.message}`);
        }
        const outs = await Promise.all(runs);
        runnable.forEach((b, i) => collect(b.p, ['blocked'], outs[i]));
      }
    }
    // Cleanup of the queues the redeclare checks share.
    if (ready.get('pika') && !ready.get('pika').problem) await runProgram(PROGRAMS[0].cmd(), t.url, ['redeclare_cleanup'], env, 30_000);
    if (opts.verbose) console.log(`${t.name}: all programs in ${Date.now() - t0} ms`);
  }
  if (warren) await warren.close();
  rmSync(work, { recursive: true, force: true });

  let ok = 0;
  let failed = 0;
  const report = [];
  for (const [check, r] of [...results.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    report.push({ check, ...r });
    if (r.problem) {
      failed++;
      console.log(`FAIL ${check}: ${r.problem}`);
      continue;
    }
    if (r.rabbitmq?.failed) {
      failed++;
      console.log(`FAIL ${check}: the check itself fails against RabbitMQ: ${r.rabbitmq.failed}`);
      continue;
    }
    const lines = diff(r.rabbitmq, r.warren, { max: 20 });
    const entries = known.filter((e) => e.check(check));
    const unlisted = lines.filter((l) => !entries.some((e) => e.path(l.split(': ')[0])));
    if (unlisted.length === 0) {
      ok++;
      console.log(`ok   ${check}${lines.length ? ' (known difference)' : ''}`);
      if (lines.length && opts.verbose) for (const l of lines) console.log(`  ${l}`);
    } else {
      failed++;
      console.log(`FAIL ${check}: differs`);
      for (const l of unlisted) console.log(`  ${l}`);
    }
  }
  mkdirSync(join(here, '..', 'out'), { recursive: true });
  writeFileSync(join(here, '..', 'out', 'polyglot.json'), `${JSON.stringify(report, null, 1)}\n`);
  console.log(`polyglot: ran in ${Math.round((Date.now() - started) / 1000)} s; observations in interop/out/polyglot.json`);
  console.log(`polyglot: ${ok} ok, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.log(`polyglot: runner error: ${e?.stack ?? e}`);
  console.log('polyglot: 0 ok, 1 failed');
  process.exitCode = 1;
});
