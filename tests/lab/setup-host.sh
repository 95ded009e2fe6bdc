#!/usr/bin/env bash
# Prepare this machine for the lab and the tests: system packages, the Docker daemon, the pinned
# Python tool chain in .venv, and a link that makes this checkout the collection selfhost.chatwoot.
# Every step checks before it acts, so a second run changes nothing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv="$repo/.venv"
python="${LAB_PYTHON:-python3.11}"

# openssh-client: Ansible reaches the lab VPSs over SSH, as it does a real VPS.
system_packages=(docker.io debootstrap rsync git make openssh-client)

missing=()
for pkg in "${system_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) != 0 ]]; then
    echo "setup: missing system packages ${missing[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

"$here/dockerd.sh" start

command -v "$python" >/dev/null || python=python3
requirements="$repo/tests/requirements.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "setup: installing the pinned Python tool chain into .venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet -r "$requirements"
  echo "$want" >"$stamp"
else
  echo "setup: .venv is up to date"
fi

link_dir="$repo/.collections/ansible_collections/selfhost"
mkdir -p "$link_dir"
if [[ "$(readlink "$link_dir/chatwoot" 2>/dev/null)" != "$repo" ]]; then
  ln -sfn "$repo" "$link_dir/chatwoot"
  echo "setup: linked this checkout as selfhost.chatwoot"
fi
