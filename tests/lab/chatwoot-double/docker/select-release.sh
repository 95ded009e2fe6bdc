#!/bin/sh
# Applies the version-specific part of the image: the reported version and the release's extra migrations.
#   base   -> db/migrate as shipped
#   next   -> + releases/next/*.rb       (one additive migration)
#   broken -> + releases/next/*.rb + releases/broken/*.rb (a migration that fails part-way)
set -eu
version=$1
release=$2
case "$release" in
  base) ;;
  next) cp /app/releases/next/*.rb /app/db/migrate/ ;;
  broken) cp /app/releases/next/*.rb /app/releases/broken/*.rb /app/db/migrate/ ;;
  *) echo "unknown RELEASE '$release' (base|next|broken)" >&2; exit 1 ;;
esac
# Real Chatwoot reports its version without the tag's leading "v" (config/app.yml).
printf 'shared:\n  version: "%s"\n  release: "%s"\n' "${version#v}" "$release" >/app/config/app.yml
