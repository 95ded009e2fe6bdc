#!/bin/sh
# The version-specific part of the image: the reported version and the release's migrations.
#   releases/vX.Y.Z/*.rb  are copied in when the image's version is >= X.Y.Z (one folder per release that
#                         changed the schema), so an upgrade applies exactly the migrations in between;
#   releases/broken/*.rb  only with LAB_BROKEN=1 (the lab-only broken release; see README.md).
set -eu
version=${1#v}
broken=${2:-0}
for dir in /app/releases/v*/; do
  release=$(basename "$dir")
  release=${release#v}
  lowest=$(printf '%s\n%s\n' "$release" "$version" | sort -V | head -n 1)
  if [ "$lowest" = "$release" ]; then
    cp "$dir"*.rb /app/db/migrate/
  fi
done
if [ "$broken" = 1 ]; then
  cp /app/releases/broken/*.rb /app/db/migrate/
fi
# Real Chatwoot reports its version without the tag's leading "v" (config/app.yml).
printf 'shared:\n  version: "%s"\n  lab_broken: %s\n' "$version" "$([ "$broken" = 1 ] && echo true || echo false)" \
  >/app/config/app.yml
echo "release $version (broken=$broken): $(ls /app/db/migrate | tr '\n' ' ')"
