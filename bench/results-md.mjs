// Writes bench/RESULTS.md: the latest table with the date, the machine, the versions, the
// command that produced it, how to read it, and the durability difference between the brokers.
// Sections below the table ("## ..." headings: deep-queue memory, before/after, frame parser)
// are kept when the table is rewritten.
import fs from 'node:fs';
import os from 'node:os';

/** Heading of the section bench/parser.mjs --results maintains; kept when the main table is rewritten. */
export const PARSER_HEADING = '## Frame parser';

/** The "## " sections after the generated part (the generated part has no such headings). */
function keptSections(file) {
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const at = old.search(/^## /m);
  return at >= 0 ? `\n${old.slice(at)}` : '';
}

/** Replaces (or appends) the frame-parser section of RESULTS.md. */
export function writeParserSection(file, text) {
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n';
  const at = old.indexOf(PARSER_HEADING);
  const head = (at >= 0 ? old.slice(0, at) : old).trimEnd();
  fs.writeFileSync(file, `${head}\n\n${PARSER_HEADING}\n\n${text.trim()}\n`);
}

export function writeResultsMd(file, { table, command, versions, opts, rows }) {
  const kept = keptSections(file);
  const cpus = os.cpus();
  const rabbit = versions.rabbitmq?.version ? `${versions.rabbitmq.version} (${versions.rabbitmq.platform ?? 'Erlang'})` : 'not measured';
  const missed = rows.filter((r) => r.met === false).map((r) => `${r.scenario} (${r.client}, ${r.metric.unit})`);
  const met = rows.filter((r) => r.met === true).length;
  const judged = rows.filter((r) => r.met !== null).length;
  const text = `# Benchmark results

Latest run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC

Machine: ${cpus.length} cores (${cpus[0]?.model ?? 'unknown CPU'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory, Linux ${os.release()}
Node ${process.version}; RabbitMQ ${rabbit}; warren --sync ${opts.warrenSync}

Command:

    ${command}

Each scenario ran ${opts.rounds} round(s) of ${opts.seconds} s per target (after a warm-up), targets alternating
scenario by scenario with the order flipped every round. Cells are the median over rounds with min–max.
Load comes from separate processes (\`client\`: \`raw\` is bench/raw-client.mjs with pre-encoded frames,
\`amqplib\` is the library applications use). CPU is % of one core over the measured window: the broker
process (from /proc) and the busiest load process; a load process near 100 % means the client, not the
broker, was the limit. Deep queue: ${opts.deepCount.toLocaleString('en-US')} messages of ${opts.deepBody} B (transient); idle connections: ${opts.connections.toLocaleString('en-US')}.
Pub/sub publishers pause while ${(opts.backlog ?? 50000).toLocaleString('en-US')} messages (64 MiB for big bodies) are unconsumed, so rates are
sustainable ones. Memory rows are broker RSS growth; warren is restarted before them so its baseline
carries no garbage from earlier scenarios (RabbitMQ, run externally, is not restarted).

**Durability:** warren with \`--sync always\` confirms a persistent message only after the group-commit
fsync that covers it. RabbitMQ documents that a persistent message routed to a durable queue is
confirmed once it has been persisted to disk (its message store batches writes and fsyncs them). This
harness does not verify either broker's fsync behaviour (no syscall tracing, no power-loss test), so
confirm-persistent compares the two documented guarantees, not a measured one.

Speed targets (warren/RabbitMQ): transient throughput ≥ 2x, confirm-persistent ≥ 1.5x, latency p99 at
1,000 msg/s ≤ 1x, deep-queue memory ≤ 0.5x. Met ${met} of ${judged}${missed.length ? `; missed: ${missed.join(', ')}` : ''}.

${table}

![chart](results.svg)

Raw per-round records (JSON lines) are written to bench/out/ (not committed).
${kept}`;
  fs.writeFileSync(file, text);
}
