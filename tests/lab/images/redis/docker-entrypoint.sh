#!/bin/bash
# Like the official image: flags alone mean redis-server; the server runs as "redis", listens on all
# interfaces without protected mode (the container network is the boundary; use --requirepass).
set -euo pipefail
if [[ "${1:-}" == -* ]]; then set -- redis-server "$@"; fi
if [[ "${1:-}" == redis-server ]]; then
  shift
  set -- redis-server --bind '*' --protected-mode no --dir /data "$@"
  if [[ "$(id -u)" == 0 ]]; then
    chown -R redis:redis /data
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
