// A broker in a child process that a test can SIGKILL, driven over stdin: one JSON line per call
// `{ "id": 1, "op": "putUser", "args": [...] }` runs broker.access[op](...args) and answers
// `{ "id": 1, "ok": true, "result": ... }` once it resolved (durable). `op: "dump"` answers the
// access state as the live stores hold it. Usage: node access-admin-child.mjs <dataDir>
// The first stdout line is `{ "port": n }`. Exits when stdin closes.

import { createInterface } from 'node:readline';

const { startBroker } = await import('../../dist/index.js');
const running = await startBroker({ host: '127.0.0.1', port: 0, dataDir: process.argv[2], logLevel: 'silent', sync: 'always' });
const b = running.broker;
process.stdout.write(JSON.stringify({ port: running.port }) + '\n');

function dump() {
  return {
    users: b.users.list().map((u) => ({ name: u.name, tags: u.tags, limits: b.limits.user(u.name) })).sort((x, y) => x.name.localeCompare(y.name)),
    vhosts: b.access.vhostNames().sort().map((v) => ({ name: v, open: b.vhost(v) !== undefined, meta: b.access.vhostMetadata(v), limits: b.limits.vhost(v) })),
    permissions: b.permissions.list(),
    topicPermissions: b.permissions.listTopic(),
    clusterName: b.access.clusterName,
    queues: Object.fromEntries([...b.vhosts].map(([name, v]) => [name, [...v.queues.keys()]])),
  };
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const { id, op, args } = JSON.parse(line);
  const run = op === 'dump' ? Promise.resolve(dump()) : b.access[op](...args);
  run.then(
    (result) => process.stdout.write(JSON.stringify({ id, ok: true, result }) + '\n'),
    (err) => process.stdout.write(JSON.stringify({ id, ok: false, error: String(err?.message ?? err) }) + '\n'),
  );
});
rl.on('close', () => process.exit(0));
