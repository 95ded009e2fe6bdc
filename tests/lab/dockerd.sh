#!/usr/bin/env bash
# Start or stop a Docker daemon for the lab.
#   dockerd.sh start  - start dockerd in the background unless one already answers
#   dockerd.sh stop   - stop the daemon only if this script started it
# The pid file marks "we started it", so a daemon someone else runs is never stopped.
set -euo pipefail

state_dir="${LAB_STATE_DIR:-/run/selfhost-chatwoot-lab}"
pid_file="$state_dir/dockerd.pid"
log_file="$state_dir/dockerd.log"

daemon_answers() { docker info >/dev/null 2>&1; }

start() {
  if daemon_answers; then
    echo "dockerd: a daemon is already running"
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "dockerd: not installed (run 'make setup' first)" >&2
    return 1
  fi
  mkdir -p "$state_dir"
  # containerd is started by dockerd itself when no system containerd is running.
  nohup dockerd >"$log_file" 2>&1 &
  echo $! >"$pid_file"
  for _ in $(seq 1 60); do
    if daemon_answers; then
      echo "dockerd: started (pid $(cat "$pid_file"), log $log_file)"
      return 0
    fi
    sleep 1
  done
  echo "dockerd: did not answer within 60 s; last log lines:" >&2
  tail -n 20 "$log_file" >&2 || true
  return 1
}

stop() {
  if [[ ! -f "$pid_file" ]]; then
    echo "dockerd: not started by this script, leaving it alone"
    return 0
  fi
  pid=$(cat "$pid_file")
  # A pid file that outlived its daemon may name an unrelated process by now.
  if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" != dockerd ]]; then
    rm -f "$pid_file"
    echo "dockerd: pid $pid is no longer our dockerd, nothing to stop"
    return 0
  fi
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
  fi
  rm -f "$pid_file"
  echo "dockerd: stopped (pid $pid)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
