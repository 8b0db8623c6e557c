#!/usr/bin/env node
// Compares warren's management API with RabbitMQ 3.10.8's (management plugin on 127.0.0.1:15672)
// scenario by scenario, field by field, volatile values masked. Differences must be listed in
// interop/KNOWN-DIFFERENCES.md under `## mgmt.<scenario>` (optionally `@ <path glob>`).
//
//   node interop/management/run.mjs [--only PATTERN] [--rabbitmq URL] [--verbose]
//
// warren is started in-process from dist/ with its API on a free port.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { diff } from '../lib.mjs';
import { Api } from './client.mjs';
import scenarios from './scenarios.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));

function args(argv) {
  const o = { only: null, rabbitmq: process.env.RABBITMQ_MANAGEMENT_URL || 'http://127.0.0.1:15672', verbose: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only') o.only = argv[++i];
    else if (argv[i] === '--rabbitmq') o.rabbitmq = argv[++i];
    else if (argv[i] === '--verbose' || argv[i] === '-v') o.verbose = true;
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return o;
}

/** `## mgmt.<name>[ @ path]` entries of KNOWN-DIFFERENCES.md (same rules as interop/run.mjs). */
function known() {
  const text = readFileSync(join(here, '..', 'KNOWN-DIFFERENCES.md'), 'utf8').replace(/<!--[\s\S]*?-->/g, '');
  const out = [];
  for (const line of text.split('\n')) {
    const h = /^##\s+(mgmt\.\S+)(?:\s+@\s+(.+?))?\s*$/.exec(line.replace(/`/g, ''));
    if (h) out.push({ name: h[1], path: h[2] });
  }
  const glob = (p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return out.map((e) => ({ test: glob(e.name), path: e.path === undefined ? null : glob(`*${e.path}*`) }));
}

async function main() {
  const o = args(process.argv.slice(2));
  const { startBroker } = await import(pathToFileURL(join(here, '..', '..', 'dist', 'index.js')).href);
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-mgmt-interop-'));
  const broker = await startBroker({ host: '127.0.0.1', port: 0, managementPort: 0, dataDir, logLevel: 'silent' });
  const entries = known();
  let same = 0;
  let differ = 0;
  let unlisted = 0;
  try {
    for (const [name, run] of Object.entries(scenarios)) {
      const full = `mgmt.${name}`;
      if (o.only !== null && !full.includes(o.only)) continue;
      const rabbit = new Api(o.rabbitmq);
      const warren = new Api(`http://127.0.0.1:${broker.managementPort}`);
      warren.prefix = rabbit.prefix;
      const [r, w] = await Promise.all([run(rabbit).catch((e) => ({ threw: String(e) })), run(warren).catch((e) => ({ threw: String(e) }))]);
      const lines = diff(r, w, { max: 40 });
      if (lines.length === 0) {
        same++;
        console.log(`same    ${full}`);
        continue;
      }
      differ++;
      const mine = entries.filter((e) => e.test.test(full));
      const covered = (l) => mine.some((e) => e.path === null || e.path.test(l.slice(0, l.indexOf(':')).trim()));
      const ok = mine.length > 0 && lines.every(covered);
      if (!ok) unlisted++;
      console.log(`differs ${full}${ok ? ' (known)' : ''}`);
      for (const l of lines) console.log(`  ${l}`);
      if (o.verbose) console.log(`  rabbitmq: ${JSON.stringify(r)}\n  warren:   ${JSON.stringify(w)}`);
    }
  } finally {
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`interop management: ${same} same, ${differ} differ`);
  if (unlisted > 0) console.log(`interop management: ${unlisted} difference(s) not listed in KNOWN-DIFFERENCES.md`);
  return unlisted > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
