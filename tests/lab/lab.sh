#!/usr/bin/env bash
# `make lab` / `make lab-destroy`: a disposable local "VPS" container (Debian 13, systemd, Docker-in-Docker
# capable) on its own network, with its SSH, HTTP and HTTPS ports published on 127.0.0.1. Ansible reaches it
# as a real VPS: SSH as the user debian (a key made for this lab, .lab/NAME/id_ed25519) with NOPASSWD sudo.
#   lab.sh up    create (or reuse) the lab VPS, deploy Chatwoot into it, print how to reach it
#   lab.sh down  remove the VPS, its Docker volume and its network
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=tests/lab/images.env
source "$here/images.env"

name="${LAB_NAME:-chatwoot-lab}"
network="$name-net"
http_port="${LAB_HTTP_PORT:-8080}"
https_port="${LAB_HTTPS_PORT:-8443}"
# sshd's port on 127.0.0.1: LAB_SSH_PORT, else one Docker picks. Either way it is written to .lab/NAME/ssh-port,
# where the lab inventory reads it, so callers need not pass it.
ssh_port="${LAB_SSH_PORT:-}"
# This lab's files, never committed (.lab/ is git-ignored): its SSH key, the sshd host key it saw, the port.
lab_dir="$repo/.lab/$name"
domain="${LAB_DOMAIN:-chatwoot.lab.test}"

up() {
  mkdir -p "$lab_dir" && chmod 0700 "$lab_dir"
  [[ -f "$lab_dir/id_ed25519" ]] || ssh-keygen -q -t ed25519 -N '' -C "lab-$name" -f "$lab_dir/id_ed25519"
  docker network inspect "$network" >/dev/null 2>&1 || docker network create "$network" >/dev/null
  if ! docker container inspect "$name" >/dev/null 2>&1; then
    # Same shape as molecule/resources/create.yml: all capabilities but SYS_RESOURCE (absent from this
    # VM's bounding set), systemd as PID 1, /var/lib/docker on a volume so the inner daemon uses overlay2.
    docker run -d --name "$name" --hostname "$name" --network "$network" --network-alias "$domain" \
      --label selfhost.chatwoot.lab=make-lab \
      --cap-add ALL --cap-drop SYS_RESOURCE \
      --security-opt seccomp=unconfined --security-opt apparmor=unconfined --cgroupns host \
      --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
      -v /sys/fs/cgroup:/sys/fs/cgroup:rw -v "$name-docker:/var/lib/docker" \
      -p "127.0.0.1:$ssh_port:22" -p "127.0.0.1:$http_port:80" -p "127.0.0.1:$https_port:443" \
      "$LAB_VPS_TRIXIE" >/dev/null
    # A new VPS has new host keys.
    rm -f "$lab_dir/known_hosts"
    echo "lab: created the VPS container $name"
  else
    docker start "$name" >/dev/null
    echo "lab: reusing the VPS container $name"
  fi
  state=$(docker exec "$name" systemctl is-system-running --wait || true)
  echo "lab: systemd in $name is $state"
  ssh_port=$(docker port "$name" 22/tcp | sed -n 's/^127\.0\.0\.1://p' | head -n 1)
  printf '%s\n' "$ssh_port" >"$lab_dir/ssh-port"
  # docker exec here, because this is how the key gets in (a cloud provider's metadata does it on a real
  # VPS): the user's key and its sudo rule are given at creation, never baked into the image.
  docker exec -i "$name" sh -ec 'umask 077; cat >/home/debian/.ssh/authorized_keys; chown debian:debian /home/debian/.ssh/authorized_keys
    echo "debian ALL=(ALL:ALL) NOPASSWD: ALL" >/etc/sudoers.d/90-lab-debian; chmod 0440 /etc/sudoers.d/90-lab-debian' \
    <"$lab_dir/id_ed25519.pub"
  local tries=0
  until ssh -q -i "$lab_dir/id_ed25519" -p "$ssh_port" -o BatchMode=yes -o StrictHostKeyChecking=accept-new \
    -o UserKnownHostsFile="$lab_dir/known_hosts" debian@127.0.0.1 sudo -n true; do
    if ((++tries >= 30)); then
      echo "lab: sshd in $name does not let debian in on 127.0.0.1:$ssh_port (is the port taken?)" >&2
      return 1
    fi
    sleep 1
  done
  echo "lab: ssh -i $lab_dir/id_ed25519 -p $ssh_port debian@127.0.0.1 answers (sudo without a password)"

  if [[ -n "${LAB_SKIP_DEPLOY:-}" ]]; then
    echo "lab: LAB_SKIP_DEPLOY is set, not deploying"
    return 0
  fi
  (cd "$repo" && ansible-playbook -i inventories/lab/hosts.yml playbooks/site.yml \
    -e "lab_container=$name" -e "lab_http_port=$http_port" -e "lab_https_port=$https_port" -e "lab_ssh_port=$ssh_port")
  cat <<MSG

Chatwoot is deployed in the lab VPS "$name".
  URL:      https://$domain:$https_port/   (self-signed certificate)
  Resolve:  add "127.0.0.1 $domain" to /etc/hosts, or
            curl -k --resolve $domain:$https_port:127.0.0.1 https://$domain:$https_port/api
  Admin:    e-mail and password in $repo/.lab/credentials/chatwoot-lab-super-admin.json (mode 0600)
  Shell:    ssh -i $lab_dir/id_ed25519 -p $ssh_port debian@127.0.0.1     Remove: make lab-destroy
MSG
}

down() {
  docker rm -f "$name" >/dev/null 2>&1 && echo "lab: removed the VPS container $name" || echo "lab: no VPS container $name"
  docker volume rm "$name-docker" >/dev/null 2>&1 && echo "lab: removed the volume $name-docker" || true
  docker network rm "$network" >/dev/null 2>&1 && echo "lab: removed the network $network" || true
  rm -rf "$lab_dir"
  # The inventory's host is always chatwoot-lab, so its saved credentials belong to the VPS just removed.
  rm -f "$repo/.lab/credentials/chatwoot-lab-super-admin.json"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
