// Runs one broker in this process so a test can SIGKILL it. Usage: node launch-broker.mjs <dataDir>
// Prints one JSON line on stdout once listening: { port, pid, recovered, corruptRecords, truncatedBytes }.
// Exits when stdin closes, so a broker never outlives the test process that started it.
// WARREN_CRASH_ENTRY may name another build's index.js (to check that the tests catch a broken one).

import { pathToFileURL } from 'node:url';

const entry = process.env.WARREN_CRASH_ENTRY;
const { startBroker } = await import(entry ? pathToFileURL(entry).href : '../../dist/index.js');

const dataDir = process.argv[2];
if (dataDir === undefined || dataDir === '') {
  process.stderr.write('usage: launch-broker.mjs <dataDir>\n');
  process.exit(2);
}

const running = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', sync: 'always' });
const stats = running.broker.persistence?.messages.stats();
process.stdout.write(
  JSON.stringify({
    port: running.port,
    pid: process.pid,
    recovered: stats?.recoveredMessages ?? 0,
    corruptRecords: stats?.corruptRecords ?? 0,
    truncatedBytes: stats?.truncatedBytes ?? 0,
  }) + '\n',
);

process.stdin.on('data', () => undefined);
process.stdin.on('end', () => process.exit(0));
