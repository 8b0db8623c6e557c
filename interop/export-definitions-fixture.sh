#!/usr/bin/env bash
# Regenerates test/fixtures/rabbitmq-3.10-definitions.json: sets up users (one with a non-ASCII
# name), vhosts (one named with '/' and '%'), permissions, topic permissions, limits, queues,
# exchanges and bindings on a real RabbitMQ node with rabbitmqctl and rabbitmqadmin-free AMQP,
# then runs `rabbitmqctl export_definitions`. Keeps only the objects made here (the node may be
# shared), and removes them again.
#
#   interop/rabbitmq.sh start && interop/export-definitions-fixture.sh
#
# Passwords (the test logs in with them): fx-admin/admin-pw, fx-zoë/zoë-pw, fx-app/app-pw.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../test/fixtures/rabbitmq-3.10-definitions.json}"
P="fx-"
# amqplib unescapes the vhost it is given, so the % is followed by letters that are no hex escape.
V2="${P}team/50%off"

export RABBITMQ_NODENAME="warren-interop@localhost"
export RABBITMQ_USE_LONGNAME=false
export ERL_EPMD_ADDRESS=127.0.0.1

ctl() {
  # As the rabbitmq user: it owns the Erlang cookie.
  local args=""
  for a in "$@"; do args="$args '${a//\'/\'\\\'\'}'"; done
  timeout 60 su rabbitmq -s /bin/sh -c "cd /var/lib/rabbitmq && HOME=/var/lib/rabbitmq exec /usr/lib/rabbitmq/bin/rabbitmqctl -q $args"
}

cleanup() {
  for u in "${P}admin" "${P}zoë" "${P}app"; do ctl delete_user "$u" >/dev/null 2>&1 || true; done
  for v in "${P}prod" "$V2"; do ctl delete_vhost "$v" >/dev/null 2>&1 || true; done
}
cleanup
trap cleanup EXIT

ctl add_vhost "${P}prod"
ctl add_vhost "$V2"
ctl add_user "${P}admin" admin-pw
ctl set_user_tags "${P}admin" administrator
ctl add_user "${P}zoë" zoë-pw
ctl set_user_tags "${P}zoë" management policymaker
ctl add_user "${P}app" app-pw
ctl set_permissions -p "${P}prod" "${P}admin" '.*' '.*' '.*'
ctl set_permissions -p "$V2" "${P}admin" '.*' '.*' '.*'
ctl set_permissions -p "${P}prod" "${P}zoë" '^zoe\.' '^(zoe\..*|amq\.default)$' '.*'
ctl set_permissions -p "$V2" "${P}app" '^app\.' '.*' '^app\.'
ctl set_topic_permissions -p "${P}prod" "${P}zoë" amq.topic '^orders\.' '.*'
ctl set_vhost_limits -p "${P}prod" '{"max-connections": 50, "max-queues": 100}'
ctl set_user_limits "${P}app" '{"max-channels": 20}'

# Queues, exchanges and bindings over AMQP, as fx-admin (node has amqplib in this repo).
node --input-type=module - "${P}prod" "$V2" <<'EOF'
import * as amqplib from 'amqplib';
const [prod, team] = process.argv.slice(2);
for (const vhost of [prod, team]) {
  const c = await amqplib.connect({ protocol: 'amqp', hostname: '127.0.0.1', port: 5672, username: 'fx-admin', password: 'admin-pw', vhost }).catch((e) => { console.error(vhost, e.message); process.exit(1); });
  const ch = await c.createChannel();
  await ch.assertExchange('fx.events', 'topic', { durable: true });
  await ch.assertExchange('fx.dlx', 'fanout', { durable: true });
  await ch.assertExchange('fx.internal', 'direct', { durable: true, internal: true });
  await ch.assertQueue('fx.orders', { durable: true, arguments: { 'x-max-length': 1000, 'x-dead-letter-exchange': 'fx.dlx', 'x-queue-type': 'classic' } });
  await ch.assertQueue('fx.quorum', { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 5 } });
  await ch.assertQueue('fx.dead', { durable: true });
  await ch.bindQueue('fx.orders', 'fx.events', 'orders.#');
  await ch.bindQueue('fx.orders', 'fx.events', 'orders.eu.*', { 'x-note': 'eu' });
  await ch.bindQueue('fx.dead', 'fx.dlx', '');
  await ch.bindExchange('fx.internal', 'fx.events', 'audit.#');
  await c.close();
}
EOF

tmp="$(mktemp -d)"
chmod 777 "$tmp"
ctl export_definitions "$tmp/all.json"
# Only what was made here, with the node's own top-level keys and order.
node --input-type=module - "$tmp/all.json" "$out" "$P" <<'EOF'
import { readFileSync, writeFileSync } from 'node:fs';
const [src, dst, p] = process.argv.slice(2);
const d = JSON.parse(readFileSync(src, 'utf8'));
const mine = (s) => typeof s === 'string' && s.startsWith(p);
const out = {};
for (const [k, v] of Object.entries(d)) {
  if (!Array.isArray(v)) { out[k] = v; continue; }
  out[k] = v.filter((o) => mine(o.name) && (k === 'users' || k === 'vhosts') || mine(o.vhost) || (k === 'global_parameters' && o.name === 'cluster_name'));
}
writeFileSync(dst, JSON.stringify(out, null, 2) + '\n');
EOF
rm -rf "$tmp"
echo "wrote $out"
