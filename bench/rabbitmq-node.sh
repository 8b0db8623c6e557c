#!/usr/bin/env bash
# A RabbitMQ node reserved for benchmarks, separate from the interop node so test runs that
# restart that one cannot disturb a measurement, and with a file-descriptor limit high enough
# for the 1,000-idle-connections scenario (Debian's default of 1024 caps RabbitMQ near 830).
#
#   bench/rabbitmq-node.sh start   start it on 127.0.0.1:$BENCH_RABBITMQ_PORT (default 5690)
#   bench/rabbitmq-node.sh stop    stop the node this script started, and nothing else
#
# Then: RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5690 npm run bench -- --target both
set -euo pipefail

PORT="${BENCH_RABBITMQ_PORT:-5690}"
STATE_DIR="${BENCH_RABBITMQ_STATE:-/tmp/warren-bench-rabbitmq}"
NODENAME="warren-bench@localhost"
# Distribution port: AMQP port + 20000, RabbitMQ's own convention.
DIST_PORT=$((PORT + 20000))
# Open files for the node: 1,000 benchmark connections plus queues' files and headroom.
NOFILE=8192
START_TIMEOUT=90

log() { echo "rabbitmq-node.sh: $*" >&2; }

node_env() {
  export RABBITMQ_NODENAME="$NODENAME" RABBITMQ_USE_LONGNAME=false
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$PORT" RABBITMQ_DIST_PORT="$DIST_PORT"
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$STATE_DIR/enabled_plugins"
  export RABBITMQ_CONFIG_FILE="$STATE_DIR/rabbitmq"
  export RABBITMQ_LOGS="$STATE_DIR/log/rabbit.log"
  export RABBITMQ_MNESIA_BASE="$STATE_DIR/mnesia"
}

port_open() { timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null; }

start() {
  if [ -f "$STATE_DIR/pid" ] && kill -0 "$(cat "$STATE_DIR/pid")" 2>/dev/null; then
    log "already running (pid $(cat "$STATE_DIR/pid"))"
    return 0
  fi
  if port_open; then
    log "127.0.0.1:$PORT is taken by something else"
    return 1
  fi
  command -v rabbitmq-server >/dev/null || { log "rabbitmq-server is not installed (apt-get install rabbitmq-server)"; return 1; }
  mkdir -p "$STATE_DIR/log" "$STATE_DIR/mnesia"
  echo '[].' >"$STATE_DIR/enabled_plugins"
  cat >"$STATE_DIR/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$PORT
loopback_users.guest = true
disk_free_limit.absolute = 50MB
vm_memory_high_watermark.relative = 0.8
log.console = false
log.file.level = warning
EOF
  chown -R rabbitmq:rabbitmq "$STATE_DIR"
  node_env
  setsid su rabbitmq -s /bin/sh -c "ulimit -n $NOFILE; cd '$STATE_DIR' && HOME=/var/lib/rabbitmq exec /usr/lib/rabbitmq/bin/rabbitmq-server" \
    >"$STATE_DIR/log/startup.out" 2>&1 </dev/null &
  echo $! >"$STATE_DIR/pid"
  local waited=0
  until port_open; do
    if ! kill -0 "$(cat "$STATE_DIR/pid")" 2>/dev/null; then
      log "node exited during startup; see $STATE_DIR/log"
      rm -f "$STATE_DIR/pid"
      return 1
    fi
    if [ "$waited" -ge "$START_TIMEOUT" ]; then
      log "node not listening after ${START_TIMEOUT}s"
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "ready on amqp://guest:guest@127.0.0.1:$PORT"
}

stop() {
  [ -f "$STATE_DIR/pid" ] || { log "no node started by this script"; return 0; }
  local pid
  pid="$(cat "$STATE_DIR/pid")"
  node_env
  if kill -0 "$pid" 2>/dev/null; then
    timeout 60 su rabbitmq -s /bin/sh -c "HOME=/var/lib/rabbitmq /usr/lib/rabbitmq/bin/rabbitmqctl -q -t 50 stop" >/dev/null 2>&1 || true
    local i
    for i in $(seq 1 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    kill -0 "$pid" 2>/dev/null && kill -TERM -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$STATE_DIR/pid"
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
