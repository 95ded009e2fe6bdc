#!/bin/sh
# Behaves like Chatwoot's docker/entrypoints/rails.sh: clear stale server state, work out where Postgres
# is (DATABASE_URL wins over POSTGRES_*), wait for it with pg_isready, then exec the command. No migrations.
set -e

# A pid file left by a killed container makes `rails s` refuse to start ("A server is already running").
rm -rf /app/tmp/pids/server.pid
rm -rf /app/tmp/cache/*

if [ -n "${DATABASE_URL:-}" ]; then
  rest=${DATABASE_URL#*://}
  rest=${rest%%/*}
  case "$rest" in
    *@*) userinfo=${rest%@*}; hostport=${rest##*@} ;;
    *) userinfo=""; hostport=$rest ;;
  esac
  [ -n "$userinfo" ] && POSTGRES_USERNAME=${userinfo%%:*}
  POSTGRES_HOST=${hostport%%:*}
  case "$hostport" in
    *:*) POSTGRES_PORT=${hostport##*:} ;;
    *) POSTGRES_PORT=5432 ;;
  esac
fi

if [ -z "${POSTGRES_HOST:-}" ]; then
  echo "Missing required environment variable POSTGRES_HOST (or DATABASE_URL)" >&2
  exit 1
fi

echo "Waiting for postgres to become ready...."
until pg_isready -q -h "$POSTGRES_HOST" -p "${POSTGRES_PORT:-5432}" -U "${POSTGRES_USERNAME:-postgres}"; do
  sleep 1
done
echo "Database ready to accept connections."

exec "$@"
