#!/usr/bin/env node
// warren ctl against rabbitmqctl: the same commands build the same state on RabbitMQ 3.10.8
// (rabbitmqctl through interop/rabbitmq.sh ctl) and on warren (warren ctl over its management API),
// then each read command's output (-q, rows sorted: rabbitmqctl lists in no fixed order) and each
// exit code are compared. Differences must be listed in interop/KNOWN-DIFFERENCES.md as
// `## ctl.<command name>`.
//
//   node interop/ctl/run.mjs [--verbose]
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import * as amqplib from 'amqplib';

const here = fileURLToPath(new URL('.', import.meta.url));
const run = promisify(execFile);
const verbose = process.argv.includes('--verbose') || process.argv.includes('-v');
const V = 'ctl-interop';
const U = 'ctl-interop-user';

/** rabbitmqctl -q ARGS on the reference node. */
async function rabbitmqctl(args) {
  try {
    const r = await run('bash', [join(here, '..', 'rabbitmq.sh'), 'ctl', ...args], { timeout: 90_000 });
    return { code: 0, out: r.stdout };
  } catch (e) {
    return { code: typeof e.code === 'number' ? e.code : -1, out: e.stdout ?? '' };
  }
}

/** warren ctl -q ARGS, in-process. */
function warrenCtl(runCtl, url) {
  return async (args) => {
    let out = '';
    const code = await runCtl(['--url', url, '-q', ...args], { env: {}, cwd: tmpdir(), stdout: (t) => (out += t), stderr: () => undefined });
    return { code, out };
  };
}

/** Rows sorted (header kept first), trailing blanks dropped: order is not part of the contract. */
function normalise(text) {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 2) return lines;
  const [head, ...rows] = lines;
  return [head, ...rows.sort()];
}

const SETUP = [
  ['add_vhost', V],
  ['add_user', U, 'pw'],
  ['set_user_tags', U, 'management'],
  ['set_permissions', '-p', V, U, '^q', '.*', '.*'],
  ['set_permissions', '-p', V, 'guest', '.*', '.*', '.*'],
  ['set_topic_permissions', '-p', V, U, 'amq.topic', '^a\\.', '^b\\.'],
  ['set_policy', '-p', V, '--priority', '2', '--apply-to', 'queues', 'ctl-ttl', '^q', '{"message-ttl":60000}'],
  ['set_vhost_limits', '-p', V, '{"max-queues":10}'],
];
const TEARDOWN = [
  ['delete_vhost', V],
  ['delete_user', U],
];

/** Read (and failing) commands compared; [name, args]. */
const CHECKS = [
  ['list_vhosts', ['list_vhosts', 'name', 'tracing'], (l) => l.startsWith(V) || l.startsWith('name')],
  ['list_users', ['list_users'], (l) => l.startsWith(U) || l.startsWith('user')],
  ['list_permissions', ['list_permissions', '-p', V]],
  ['list_user_permissions', ['list_user_permissions', U]],
  ['list_topic_permissions', ['list_topic_permissions', '-p', V]],
  ['list_policies', ['list_policies', '-p', V]],
  ['list_vhost_limits', ['list_vhost_limits', '-p', V]],
  ['list_queues', ['list_queues', '-p', V, 'name', 'messages', 'messages_ready', 'durable', 'auto_delete', 'exclusive', 'arguments', 'policy', 'consumers']],
  ['list_exchanges', ['list_exchanges', '-p', V, 'name', 'type', 'durable', 'auto_delete', 'internal', 'arguments']],
  ['list_bindings', ['list_bindings', '-p', V]],
  ['purge_queue', ['purge_queue', '-p', V, 'q-one']],
  ['list_queues_after_purge', ['list_queues', '-p', V, 'name', 'messages']],
  ['delete_queue', ['delete_queue', '-p', V, 'q-two']],
  ['delete_user_missing', ['delete_user', 'ctl-interop-nobody']],
  ['delete_vhost_missing', ['delete_vhost', 'ctl-interop-nowhere']],
  ['set_user_tags_missing', ['set_user_tags', 'ctl-interop-nobody', 'administrator']],
  ['list_queues_bad_column', ['list_queues', 'no_such_column']],
];

/** The same AMQP state on both: two queues, messages, a topic binding. */
async function populate(url) {
  const c = await amqplib.connect(url);
  try {
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('q-one', { durable: true });
    await ch.assertQueue('q-two', { durable: false, arguments: { 'x-max-length': 10 } });
    await ch.bindQueue('q-two', 'amq.topic', 'a.#');
    for (let i = 0; i < 3; i++) ch.sendToQueue('q-one', Buffer.from(`m${i}`), { persistent: true });
    ch.sendToQueue('q-two', Buffer.from('x'));
    await ch.waitForConfirms();
  } finally {
    await c.close();
  }
}

function knownCommands() {
  const text = readFileSync(join(here, '..', 'KNOWN-DIFFERENCES.md'), 'utf8').replace(/<!--[\s\S]*?-->/g, '');
  return new Set([...text.matchAll(/^##\s+`?ctl\.([\w-]+)`?/gm)].map((m) => m[1]));
}

async function main() {
  const { startBroker } = await import(pathToFileURL(join(here, '..', '..', 'dist', 'index.js')).href);
  const { runCtl } = await import(pathToFileURL(join(here, '..', '..', 'dist', 'cli', 'ctl', 'main.js')).href);
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-ctl-interop-'));
  const broker = await startBroker({ host: '127.0.0.1', port: 0, managementPort: 0, dataDir, logLevel: 'silent' });
  const warren = warrenCtl(runCtl, `http://127.0.0.1:${broker.managementPort}`);
  const known = knownCommands();
  let same = 0;
  let differ = 0;
  let unlisted = 0;
  try {
    for (const cmd of TEARDOWN) await rabbitmqctl(cmd);
    for (const cmd of SETUP) {
      const [r, w] = [await rabbitmqctl(cmd), await warren(cmd)];
      if (r.code !== 0 || w.code !== 0) throw new Error(`setup ${cmd.join(' ')}: rabbitmqctl exit ${r.code}, warren ctl exit ${w.code}`);
    }
    const vpath = encodeURIComponent(V);
    await populate(`amqp://guest:guest@127.0.0.1:5672/${vpath}`);
    await populate(`amqp://guest:guest@127.0.0.1:${broker.port}/${vpath}`);
    for (const [name, cmd, keep] of CHECKS) {
      const [r, w] = [await rabbitmqctl(cmd), await warren(cmd)];
      const pick = (o) => ({ code: o.code, lines: normalise(o.out).filter(keep ?? (() => true)) });
      const rr = pick(r);
      const ww = pick(w);
      const equal = JSON.stringify(rr) === JSON.stringify(ww);
      if (equal) {
        same++;
        console.log(`same    ctl.${name} (exit ${rr.code}, ${rr.lines.length} lines)`);
        if (verbose) console.log(`  ${JSON.stringify(rr.lines)}`);
        continue;
      }
      differ++;
      const ok = known.has(name);
      if (!ok) unlisted++;
      console.log(`differs ctl.${name}${ok ? ' (known)' : ''}`);
      console.log(`  rabbitmqctl (exit ${rr.code}): ${JSON.stringify(rr.lines)}`);
      console.log(`  warren ctl  (exit ${ww.code}): ${JSON.stringify(ww.lines)}`);
      if (verbose) console.log(`  raw rabbitmqctl: ${JSON.stringify(r.out)}\n  raw warren:      ${JSON.stringify(w.out)}`);
    }
  } finally {
    for (const cmd of TEARDOWN) await rabbitmqctl(cmd);
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`interop ctl: ${same} same, ${differ} differ`);
  if (unlisted > 0) console.log(`interop ctl: ${unlisted} difference(s) not listed in KNOWN-DIFFERENCES.md`);
  return unlisted > 0 ? 1 : 0;
}

main().then((code) => process.exit(code), (err) => {
  console.error(err);
  process.exit(1);
});
