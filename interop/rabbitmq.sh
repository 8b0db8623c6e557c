#!/usr/bin/env bash
# Start or stop a local RabbitMQ node for the interop suite.
#
#   interop/rabbitmq.sh start   install (Debian package) if missing, start a node bound to
#                               loopback only, wait until it answers
#   interop/rabbitmq.sh stop    stop the node this script started (and nothing else)
#   interop/rabbitmq.sh status
#   interop/rabbitmq.sh management
#                               enable the management plugin on the running node, its HTTP API
#                               on 127.0.0.1:15672 (for the management API comparer and tests)
#   interop/rabbitmq.sh ctl ARGS  run rabbitmqctl ARGS against the node (each argument passed
#                               as is: regexes and JSON need no extra quoting); the interop
#                               access scenarios set up users and permissions with it
#
# Environment: RABBITMQ_PORT (default 5672), RABBITMQ_START_TIMEOUT (seconds, default 90),
# WARREN_RABBITMQ_STATE (state directory, default /tmp/warren-interop-rabbitmq),
# RABBITMQ_MANAGEMENT_PORT (default 15672), RABBITMQ_PROMETHEUS_PORT (default 15692).
set -euo pipefail

PORT="${RABBITMQ_PORT:-5672}"
START_TIMEOUT="${RABBITMQ_START_TIMEOUT:-90}"
STATE_DIR="${WARREN_RABBITMQ_STATE:-/tmp/warren-interop-rabbitmq}"
NODENAME="warren-interop@localhost"
# Distribution port for the Erlang node; bound to loopback below. 25672 is RabbitMQ's
# default (AMQP port + 20000); keep that relation so several ports can coexist.
DIST_PORT=$((PORT + 20000))

log() { echo "rabbitmq.sh: $*" >&2; }

# Everything the node and its CLI tools need to agree on; exported for both.
export_node_env() {
  export RABBITMQ_NODENAME="$NODENAME"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$PORT"
  export RABBITMQ_DIST_PORT="$DIST_PORT"
  export RABBITMQ_USE_LONGNAME=false
  # epmd (started by the first Erlang node) listens on loopback only.
  export ERL_EPMD_ADDRESS=127.0.0.1
  # Keep the distribution listener on loopback as well.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  # The management API (15672) and Prometheus (15692) plugins, both bound to loopback below.
  export RABBITMQ_ENABLED_PLUGINS_FILE="$STATE_DIR/enabled_plugins"
  export RABBITMQ_CONFIG_FILE="$STATE_DIR/rabbitmq"
  export RABBITMQ_LOGS="$STATE_DIR/log/rabbit.log"
}

dpkg_locked() {
  # fuser is not always installed; fall back to looking for running apt/dpkg processes.
  if command -v fuser >/dev/null 2>&1; then
    fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1 && return 0
  fi
  pgrep -x 'apt-get|apt|dpkg|unattended-upgr' >/dev/null 2>&1
}

wait_for_dpkg() {
  local waited=0
  while dpkg_locked; do
    if [ "$waited" -ge 600 ]; then
      log "apt/dpkg still busy after ${waited}s"
      return 1
    fi
    [ $((waited % 30)) -eq 0 ] && log "waiting for another apt/dpkg to finish"
    sleep 2
    waited=$((waited + 2))
  done
}

installed() {
  dpkg-query -W -f='${Status}' rabbitmq-server 2>/dev/null | grep -q 'install ok installed'
}

install_if_missing() {
  wait_for_dpkg
  if installed; then return 0; fi
  log "installing rabbitmq-server"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update
  wait_for_dpkg
  timeout 900 apt-get install -y --no-install-recommends rabbitmq-server
  # The package's service may have been started by the postinst; it is not ours to use,
  # but it would hold port 5672. Stop it only if systemd/invoke-rc.d started it just now.
  if command -v invoke-rc.d >/dev/null 2>&1; then
    timeout 60 invoke-rc.d rabbitmq-server stop >/dev/null 2>&1 || true
  fi
}

# Runs a RabbitMQ CLI tool as the rabbitmq user (it owns the Erlang cookie), bounded in time.
rmq_cli() {
  local limit="$1" tool="$2"; shift 2
  timeout "$limit" su rabbitmq -s /bin/sh -c "cd /var/lib/rabbitmq && HOME=/var/lib/rabbitmq exec /usr/lib/rabbitmq/bin/$tool $*"
}

amqp_port_open() {
  timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null
}

node_ready() {
  rmq_cli 20 rabbitmq-diagnostics -q -t 10 check_port_connectivity >/dev/null 2>&1
}

write_config() {
  mkdir -p "$STATE_DIR/log"
  echo '[rabbitmq_management,rabbitmq_prometheus].' >"$STATE_DIR/enabled_plugins"
  cat >"$STATE_DIR/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$PORT
# guest/guest is restricted to loopback connections, which is all we use.
loopback_users.guest = true
# Keep disk/memory alarms out of the way on small CI machines.
disk_free_limit.absolute = 50MB
vm_memory_high_watermark.relative = 0.8
management.tcp.ip = 127.0.0.1
management.tcp.port = ${RABBITMQ_MANAGEMENT_PORT:-15672}
prometheus.tcp.ip = 127.0.0.1
prometheus.tcp.port = ${RABBITMQ_PROMETHEUS_PORT:-15692}
log.console = false
log.file.level = warning
EOF
  chown -R rabbitmq:rabbitmq "$STATE_DIR"
  chmod 755 "$STATE_DIR"
}

start() {
  install_if_missing
  if [ -f "$STATE_DIR/pid" ] && kill -0 "$(cat "$STATE_DIR/pid")" 2>/dev/null; then
    log "node already started by this script (pid $(cat "$STATE_DIR/pid"))"
  elif amqp_port_open; then
    log "something already listens on 127.0.0.1:$PORT; using it and not managing it"
    return 0
  else
    mkdir -p "$STATE_DIR"
    write_config
    export_node_env
    local epmd_before=""
    epmd_before="$(pgrep -x epmd || true)"
    # Many short-lived connections and queues: the default soft limit of 1024 descriptors
    # is exhausted quickly and leaves the node half-broken. Raise it as far as allowed.
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    log "starting node $NODENAME on 127.0.0.1:$PORT (open files limit $(ulimit -n))"
    # setsid: own process group, detached from this shell; su keeps the exported env.
    # pam_limits resets the soft limit under su, so raise it again inside (up to the hard limit).
    setsid su rabbitmq -s /bin/sh -c "ulimit -n \$(ulimit -Hn) 2>/dev/null; cd /var/lib/rabbitmq && HOME=/var/lib/rabbitmq exec /usr/lib/rabbitmq/bin/rabbitmq-server" \
      >"$STATE_DIR/log/startup.out" 2>"$STATE_DIR/log/startup.err" </dev/null &
    echo $! >"$STATE_DIR/pid"
    # Record epmd only if this start launched it, so stop can end exactly that one.
    if [ -z "$epmd_before" ]; then
      local i
      for i in $(seq 1 20); do
        local e
        e="$(pgrep -x epmd || true)"
        if [ -n "$e" ]; then echo "$e" >"$STATE_DIR/epmd.pid"; break; fi
        sleep 0.5
      done
    fi
  fi
  export_node_env
  local deadline=$((SECONDS + START_TIMEOUT))
  until node_ready; do
    if ! kill -0 "$(cat "$STATE_DIR/pid")" 2>/dev/null; then
      log "node exited during startup; see $STATE_DIR/log"
      tail -n 30 "$STATE_DIR/log/startup.err" "$STATE_DIR/log/startup.out" >&2 || true
      rm -f "$STATE_DIR/pid"
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "node not ready after ${START_TIMEOUT}s; see $STATE_DIR/log"
      return 1
    fi
    sleep 1
  done
  log "ready on amqp://guest:guest@127.0.0.1:$PORT"
}

stop() {
  if [ ! -f "$STATE_DIR/pid" ]; then
    log "no node started by this script"
    return 0
  fi
  local pid
  pid="$(cat "$STATE_DIR/pid")"
  export_node_env
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping node $NODENAME (pid $pid)"
    rmq_cli 60 rabbitmqctl -q -t 50 stop >/dev/null 2>&1 || true
    local i
    for i in $(seq 1 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "node did not stop; terminating its process group"
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    fi
  fi
  if [ -f "$STATE_DIR/epmd.pid" ]; then
    local epid
    epid="$(cat "$STATE_DIR/epmd.pid")"
    if [ "$(cat "/proc/$epid/comm" 2>/dev/null || true)" = "epmd" ]; then
      kill "$epid" 2>/dev/null || true
    fi
    rm -f "$STATE_DIR/epmd.pid"
  fi
  rm -f "$STATE_DIR/pid"
}

# The plugin is enabled online, so its listener address is set in the running node first: a
# node started without it (by an older copy of this script) must not listen on every interface.
MGMT_PORT="${RABBITMQ_MANAGEMENT_PORT:-15672}"
management() {
  export_node_env
  if ! node_ready; then
    log "no node answers on 127.0.0.1:$PORT; run '$0 start' first"
    return 1
  fi
  rmq_cli 30 rabbitmqctl -q eval "'application:set_env(rabbitmq_management, tcp_config, [{ip, \"127.0.0.1\"}, {port, $MGMT_PORT}]).'" >/dev/null
  rmq_cli 120 rabbitmq-plugins -q enable rabbitmq_management >/dev/null
  local deadline=$((SECONDS + START_TIMEOUT))
  until curl -fsS -u guest:guest "http://127.0.0.1:$MGMT_PORT/api/overview" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "management API not answering on 127.0.0.1:$MGMT_PORT after ${START_TIMEOUT}s"
      return 1
    fi
    sleep 1
  done
  log "management API on http://127.0.0.1:$MGMT_PORT/api/"
}

ctl() {
  export_node_env
  # "$@" reaches rabbitmqctl unparsed: su hands the arguments after the command name to the shell.
  timeout 60 su rabbitmq -s /bin/sh -c 'cd /var/lib/rabbitmq && HOME=/var/lib/rabbitmq exec /usr/lib/rabbitmq/bin/rabbitmqctl -q "$@"' -- rabbitmqctl "$@"
}

status() {
  if amqp_port_open; then echo "listening on 127.0.0.1:$PORT"; else echo "not listening"; fi
  if [ -f "$STATE_DIR/pid" ]; then echo "started by this script: pid $(cat "$STATE_DIR/pid")"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  management) management ;;
  ctl) shift; ctl "$@" ;;
  *) echo "usage: $0 start|stop|status|management|ctl ARGS" >&2; exit 2 ;;
esac
