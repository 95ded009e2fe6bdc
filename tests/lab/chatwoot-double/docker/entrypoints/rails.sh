#!/bin/sh
# The rails service's entrypoint, step for step as Chatwoot's docker/entrypoints/rails.sh (v4.10.1): clear
# stale server state, work out where Postgres is, wait for it with pg_isready, `bundle install`, wait for
# `bundle check`, exec the command. No migrations. Compose sets it for rails only; sidekiq has none.
# Its sharp edges are upstream's too: the pg_isready line is built from unquoted POSTGRES_HOST, POSTGRES_PORT
# and POSTGRES_USERNAME, so an empty one (e.g. a DATABASE_URL without a port) makes pg_isready fail and this
# loop wait forever.

set -x

rm -rf /app/tmp/pids/server.pid
rm -rf /app/tmp/cache/*

echo "Waiting for postgres to become ready...."

# DATABASE_URL, when set, wins over POSTGRES_HOST/PORT/USERNAME (printed as an export line and evaluated).
$(docker/entrypoints/helpers/pg_database_url.rb)
PG_READY="pg_isready -h $POSTGRES_HOST -p $POSTGRES_PORT -U $POSTGRES_USERNAME"

until $PG_READY
do
  sleep 2;
done

echo "Database ready to accept connections."

bundle install

BUNDLE="bundle check"

until $BUNDLE
do
  sleep 2;
done

exec "$@"
