#!/usr/bin/env bash
# Build every lab image from Debian packages only (no registry is reachable here), cached by content:
#   - base root filesystems come from debootstrap and carry a label with the hash of their inputs;
#     an image whose label matches is reused, so an unchanged base is never rebuilt;
#   - the images on top are plain `docker build`s, whose layer cache skips unchanged steps;
#   - the stack image archive is re-saved only when one of its image IDs changed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=tests/lab/images.env
source "$here/images.env"

out_dir="${LAB_OUT_DIR:-$repo/.lab}"
mirror="${LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
archive="$out_dir/stack-images.tar"
mkdir -p "$out_dir"

log() { printf '[lab-images] %s\n' "$*"; }

base_image() {
  local suite=$1 tag=$2
  local include="ca-certificates"
  local key
  key=$(printf '%s\n' "rootfs-v1" "$suite" "$mirror" "$include" | sha256sum | cut -c1-16)
  if [[ "$(docker image inspect "$tag" --format '{{index .Config.Labels "lab.inputs"}}' 2>/dev/null)" == "$key" ]]; then
    log "$tag: up to date ($key)"
    return 0
  fi
  log "$tag: debootstrap $suite (inputs $key)"
  local rootfs
  rootfs=$(mktemp -d "$out_dir/rootfs-$suite.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$rootfs'" RETURN
  debootstrap --variant=minbase --include="$include" "$suite" "$rootfs" "$mirror" >"$out_dir/debootstrap-$suite.log" 2>&1 || {
    tail -n 30 "$out_dir/debootstrap-$suite.log" >&2
    return 1
  }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  # Keep images small and apt quiet inside containers.
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$rootfs/etc/apt/apt.conf.d/90lab-no-recommends"
  printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' >"$rootfs/etc/dpkg/dpkg.cfg.d/90lab-nodoc"
  tar -C "$rootfs" -c . | docker import \
    --change "LABEL lab.inputs=$key" \
    --change 'ENV DEBIAN_FRONTEND=noninteractive' \
    --change 'CMD ["/bin/bash"]' \
    - "$tag" >/dev/null
  log "$tag: imported"
}

build() {
  local tag=$1 context=$2
  shift 2
  log "$tag: docker build $context"
  if ! DOCKER_BUILDKIT=0 docker build --quiet --tag "$tag" "$@" "$context" >"$out_dir/build.log" 2>&1; then
    tail -n 40 "$out_dir/build.log" >&2
    log "$tag: build FAILED (full log: $out_dir/build.log)"
    return 1
  fi
}

# Every Chatwoot release tag (vX.Y.Z from images.env, in file order).
chatwoot_releases() {
  local name
  while IFS='=' read -r name _; do
    [[ "$name" == LAB_CHATWOOT_V* ]] && printf '%s\n' "${!name}"
  done <"$here/images.env"
}

save_archive() {
  # Everything a Molecule scenario may deploy: every release tag, its -ce twin and the broken release.
  # Shared layers are stored once in the archive.
  local images=("$LAB_POSTGRES" "$LAB_REDIS") tag
  while read -r tag; do images+=("$tag" "$tag-ce"); done < <(chatwoot_releases)
  images+=("$LAB_CHATWOOT_BROKEN" "$LAB_CHATWOOT_BROKEN-ce")
  local ids
  ids=$(printf '%s ' "${images[@]}"; docker image inspect --format '{{.Id}}' "${images[@]}" | tr '\n' ' ')
  if [[ -f "$archive" && -f "$archive.ids" && "$(cat "$archive.ids")" == "$ids" ]]; then
    log "$archive: up to date"
    return 0
  fi
  log "$archive: docker save ${images[*]}"
  docker save "${images[@]}" -o "$archive.tmp"
  mv "$archive.tmp" "$archive"
  printf '%s' "$ids" >"$archive.ids"
}

# One Chatwoot double image per release from the one Dockerfile; only its last layers differ. Also tags
# vX.Y.Z-ce with the same image ID, as Chatwoot publishes both.
build_chatwoot() {
  local tag=$1 broken=$2
  local version=${tag##*:}
  build "$tag" "$here/chatwoot-double" --build-arg "BASE=$LAB_BASE_TRIXIE" \
    --build-arg "CHATWOOT_VERSION=$version" --build-arg "LAB_BROKEN=$broken"
  docker tag "$tag" "$tag-ce"
}

main() {
  local started=$SECONDS
  base_image trixie "$LAB_BASE_TRIXIE"
  base_image bookworm "$LAB_BASE_BOOKWORM"

  build "$LAB_VPS_TRIXIE" "$here/images/vps" --build-arg "BASE=$LAB_BASE_TRIXIE"
  build "$LAB_VPS_BOOKWORM" "$here/images/vps" --build-arg "BASE=$LAB_BASE_BOOKWORM"
  build "$LAB_POSTGRES" "$here/images/postgres" --build-arg "BASE=$LAB_BASE_TRIXIE" --build-arg WITH_PGVECTOR=1
  build "$LAB_POSTGRES_NO_PGVECTOR" "$here/images/postgres" --build-arg "BASE=$LAB_BASE_TRIXIE" --build-arg WITH_PGVECTOR=0
  build "$LAB_REDIS" "$here/images/redis" --build-arg "BASE=$LAB_BASE_TRIXIE"

  if [[ -f "$here/chatwoot-double/Dockerfile" ]]; then
    local tag
    while read -r tag; do build_chatwoot "$tag" 0; done < <(chatwoot_releases)
    build_chatwoot "$LAB_CHATWOOT_BROKEN" 1
    save_archive
  else
    log "chatwoot double: tests/lab/chatwoot-double/Dockerfile missing, stack archive not written"
    exit 1
  fi
  log "all lab images ready in $((SECONDS - started)) s"
}

main "$@"
