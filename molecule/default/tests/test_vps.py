"""The lab VPS boots systemd and can run Docker containers inside it."""

from __future__ import annotations


def test_systemd_is_pid_1_and_running(host):
    assert host.process.get(pid=1).comm == "systemd"
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state == "running", host.run("systemctl --failed --no-legend").stdout


def test_docker_runs_a_container_inside_the_vps(host):
    assert host.service("docker").is_running
    # No registry is reachable: make a one-file image from the VPS's own busybox-free /bin/true.
    build = host.run(
        "set -e; d=$(mktemp -d); cp /bin/true $d/true; "
        "ldd /bin/true | grep -o '/[^ ]*' | xargs -I{} cp --parents {} $d; "
        "tar -C $d -c . | docker import - lab-true:latest >/dev/null; "
        "docker run --rm lab-true:latest /true && echo ran"
    )
    assert build.rc == 0, build.stderr
    assert build.stdout.strip().endswith("ran")


def test_docker_uses_overlay2_on_the_outer_volume(host):
    assert host.run("docker info --format '{{.Driver}}'").stdout.strip() == "overlay2"
