// Like launch-broker.mjs, plus a command on stdin: a line `move <source> <target>` runs a message
// move in this process, printing `{"progress":n}` after each batch and `{"moved":n}` at the end, so
// a test can SIGKILL the broker in the middle of a move. Exits when stdin closes.

import { createInterface } from 'node:readline';

const { startBroker } = await import('../../dist/index.js');
const { moveMessages } = await import('../../dist/broker/ops/move.js');

const dataDir = process.argv[2];
const running = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', sync: 'always' });
process.stdout.write(JSON.stringify({ port: running.port, pid: process.pid }) + '\n');

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [cmd, source, target] = line.trim().split(' ');
  if (cmd !== 'move') return;
  const vhost = running.broker.vhost('/');
  moveMessages(vhost, source, { target, onProgress: (n) => process.stdout.write(JSON.stringify({ progress: n }) + '\n') }, {}).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (err) => process.stdout.write(JSON.stringify({ error: String(err) }) + '\n'),
  );
});
lines.on('close', () => process.exit(0));
