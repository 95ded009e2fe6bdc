#!/usr/bin/env bash
# `make lab` / `make lab-destroy`: a disposable local "VPS" container (Debian 13, systemd, Docker-in-Docker
# capable) on its own network, with its HTTP and HTTPS ports published on 127.0.0.1.
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
domain="${LAB_DOMAIN:-chatwoot.lab.test}"

up() {
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
      -p "127.0.0.1:$http_port:80" -p "127.0.0.1:$https_port:443" \
      "$LAB_VPS_TRIXIE" >/dev/null
    echo "lab: created the VPS container $name"
  else
    docker start "$name" >/dev/null
    echo "lab: reusing the VPS container $name"
  fi
  state=$(docker exec "$name" systemctl is-system-running --wait || true)
  echo "lab: systemd in $name is $state"

  if [[ -n "${LAB_SKIP_DEPLOY:-}" ]]; then
    echo "lab: LAB_SKIP_DEPLOY is set, not deploying"
    return 0
  fi
  (cd "$repo" && ansible-playbook -i inventories/lab/hosts.yml playbooks/site.yml \
    -e "lab_container=$name" -e "lab_http_port=$http_port" -e "lab_https_port=$https_port")
  cat <<MSG

Chatwoot is deployed in the lab VPS "$name".
  URL:      https://$domain:$https_port/   (self-signed certificate)
  Resolve:  add "127.0.0.1 $domain" to /etc/hosts, or
            curl -k --resolve $domain:$https_port:127.0.0.1 https://$domain:$https_port/api
  Admin:    e-mail and password in $repo/.lab/credentials/chatwoot-lab-super-admin.json (mode 0600)
  Shell:    docker exec -it $name bash     Remove: make lab-destroy
MSG
}

down() {
  docker rm -f "$name" >/dev/null 2>&1 && echo "lab: removed the VPS container $name" || echo "lab: no VPS container $name"
  docker volume rm "$name-docker" >/dev/null 2>&1 && echo "lab: removed the volume $name-docker" || true
  docker network rm "$network" >/dev/null 2>&1 && echo "lab: removed the network $network" || true
  # The inventory's host is always chatwoot-lab, so its saved credentials belong to the VPS just removed.
  rm -f "$repo/.lab/credentials/chatwoot-lab-super-admin.json"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
