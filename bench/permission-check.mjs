// Micro-benchmark: the per-message cost of the permission checks on publish through a cached
// AccessContext (src/broker/auth/permissions.ts), against testing the compiled regexes every time.
// Two cases: write on the exchange only (no topic permissions, the common case), and write plus a
// topic write over 64 routing keys. Run after `npm run build`: node bench/permission-check.mjs
import { PermissionStore } from '../dist/broker/auth/permissions.js';

const N = 5_000_000;
const ROUNDS = 7;
const WRITE = '^(app\\..*|amq\\.(default|topic))$';
const TOPIC = '^{username}\\.orders\\.';
const keys = Array.from({ length: 64 }, (_, i) => `app.orders.region-${i}`);

function context(withTopic) {
  const store = new PermissionStore();
  store.set('app', 'prod', { configure: '^app\\.', write: WRITE, read: '^app\\.' });
  if (withTopic) store.setTopic('app', 'prod', 'amq.topic', { write: TOPIC, read: '.*' });
  return store.access('app', 'prod');
}

const plain = context(false);
const topic = context(true);
const writeRe = new RegExp(WRITE);
const topicRe = new RegExp(TOPIC.replace('{username}', 'app'));

const cases = {
  'exchange write, cached AccessContext': () => {
    for (let i = 0; i < N; i++) plain.check('write', 'exchange', 'amq.topic');
  },
  'exchange write, regex every time': () => {
    let ok = 0;
    for (let i = 0; i < N; i++) if (writeRe.test('amq.topic')) ok++;
    if (ok !== N) throw new Error('mismatch');
  },
  'exchange + topic write, cached AccessContext': () => {
    for (let i = 0; i < N; i++) {
      topic.check('write', 'exchange', 'amq.topic');
      topic.checkTopic('write', 'amq.topic', keys[i & 63]);
    }
  },
  'exchange + topic write, regex every time': () => {
    let ok = 0;
    for (let i = 0; i < N; i++) if (writeRe.test('amq.topic') && topicRe.test(keys[i & 63])) ok++;
    if (ok !== N) throw new Error('mismatch');
  },
};

for (const [name, fn] of Object.entries(cases)) {
  fn(); // warm-up
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint();
    fn();
    rounds.push(Number(process.hrtime.bigint() - t) / N);
  }
  rounds.sort((a, b) => a - b);
  const med = rounds[ROUNDS >> 1];
  console.log(`| ${name} | ${med.toFixed(1)} | ${rounds[0].toFixed(1)}–${rounds[ROUNDS - 1].toFixed(1)} |`);
}
