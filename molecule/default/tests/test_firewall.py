"""selfhost.chatwoot.firewall on the lab VPS, probed from its neighbour: what answers, what is dropped.

A probe tells three outcomes apart: `open` (the connection is accepted), `refused` (a TCP RST: nothing
listens, but the packet got through) and `dropped` (no answer within the probe timeout: the firewall). A
port that must be closed has to be `dropped`, so a test cannot pass only because nothing listens there; the
test also proves from inside the VPS that the container port published on 0.0.0.0 does listen.

Traffic goes only to the scenario's own containers (the VPS, its neighbour, the containers this file starts
inside the VPS) and to loopback. Every wait is bounded. The reboot comes last and waits until Chatwoot
answers through Nginx again, so the verifier files after this one find the host as before.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from lab_runs import container_address, docker_exec

VPS = os.environ.get("FIREWALL_TEST_VPS", "cwlab-default-trixie")
NEIGHBOUR = os.environ.get("FIREWALL_TEST_NEIGHBOUR", "cwlab-default-neighbour")
DOMAIN = "chatwoot.lab.test"
TABLE = "selfhost_chatwoot"
# A throwaway container inside the VPS publishing 0.0.0.0:PUBLISHED by mistake (the kind of port the firewall
# must keep off the outside), and an HTTP server on the neighbour for the outbound check.
PUBLISHED = 18080
PUBLISHED_CONTAINER = "selfhost-chatwoot-firewall-test-published"
NEIGHBOUR_HTTP_PORT = 18181
IMAGE = "chatwoot-lab/redis:8"  # loaded by the app role from the lab archive; has bash and redis-server
MUST_DROP = (3000, 5432, 6379, 7433, PUBLISHED)
PROBE_TIMEOUT = 2  # seconds; a dropped SYN gets no answer, a closed port answers with a RST at once
REPO = Path(__file__).resolve().parents[3]
GUARD_PLAY = """
- name: Only the firewall role's validate entry point (its lock-out guard)
  hosts: chatwoot
  gather_facts: false
  tasks:
    - name: Validate
      ansible.builtin.include_role:
        name: selfhost.chatwoot.firewall
        tasks_from: validate
"""


def probe(container: str, target: str, ports) -> dict[int, str]:
    """open / refused / dropped for each TCP port of ``target``, probed from ``container`` in parallel."""
    script = " ".join(
        f"( timeout {PROBE_TIMEOUT} bash -c 'exec 3<>/dev/tcp/{target}/{port}' 2>/dev/null; echo {port} $? ) &"
        for port in ports
    )
    result = docker_exec(container, script + " wait", timeout=PROBE_TIMEOUT + 30)
    codes = dict(line.split() for line in result.stdout.splitlines() if line.strip())
    assert len(codes) == len(ports), result.stdout + result.stderr
    return {int(p): {"0": "open", "124": "dropped"}.get(code, "refused") for p, code in codes.items()}


def wait_for(what: str, script: str, container: str = VPS, attempts: int = 90, delay: float = 2) -> str:
    for _attempt in range(attempts):
        result = docker_exec(container, script, timeout=30)
        if result.returncode == 0:
            return result.stdout
        time.sleep(delay)
    pytest.fail(f"{what}: not after {attempts * delay:.0f} s ({script}): {result.stdout[-500:]} {result.stderr[-500:]}")


def wait_for_docker_and_the_published_container() -> None:
    wait_for("dockerd answers", "docker info --format '{{.ServerVersion}}'")
    wait_for(
        "the published test container listens inside the VPS",
        f"timeout {PROBE_TIMEOUT} bash -c 'exec 3<>/dev/tcp/127.0.0.1/{PUBLISHED}'",
    )


@pytest.fixture(scope="module")
def published_container():
    """A container inside the VPS publishing a port on 0.0.0.0 (comes back after a reboot: unless-stopped)."""
    docker_exec(VPS, f"docker rm -f {PUBLISHED_CONTAINER} >/dev/null 2>&1")
    started = docker_exec(
        VPS,
        f"docker run -d --name {PUBLISHED_CONTAINER} --restart unless-stopped -p 0.0.0.0:{PUBLISHED}:6379 "
        f"--entrypoint redis-server {IMAGE} --protected-mode no",
    )
    assert started.returncode == 0, started.stderr
    wait_for_docker_and_the_published_container()
    yield PUBLISHED_CONTAINER
    docker_exec(VPS, f"docker rm -f {PUBLISHED_CONTAINER}")


@pytest.fixture(scope="module")
def neighbour_http_server():
    """A tiny HTTP server on the neighbour (bounded lifetime), for outbound traffic from a container."""
    started = docker_exec(
        NEIGHBOUR,
        "mkdir -p /tmp/firewall-test && echo firewall-outbound-ok > /tmp/firewall-test/index.html && "
        f"(setsid timeout 1800 python3 -m http.server {NEIGHBOUR_HTTP_PORT} --directory /tmp/firewall-test "
        ">/dev/null 2>&1 & echo $!)",
    )
    assert started.returncode == 0, started.stderr
    pid = started.stdout.strip()
    wait_for(
        "the neighbour's HTTP server listens",
        f"timeout {PROBE_TIMEOUT} bash -c 'exec 3<>/dev/tcp/127.0.0.1/{NEIGHBOUR_HTTP_PORT}'",
        container=NEIGHBOUR,
        attempts=15,
        delay=1,
    )
    yield container_address(NEIGHBOUR)
    docker_exec(NEIGHBOUR, f"kill {pid}")


def sshd_listens() -> bool:
    return docker_exec(VPS, "ss -Hltn 'sport = :22' | grep -q .").returncode == 0


def check_the_firewall(outbound_target: str) -> None:
    # The rule set is loaded, and Docker's own DNAT for the published port is there (so a drop is ours).
    table = docker_exec(VPS, f"nft list table inet {TABLE}")
    assert table.returncode == 0, f"the firewall table is not loaded: {table.stderr}"
    assert "policy drop" in table.stdout
    nat = docker_exec(VPS, "iptables -t nat -S DOCKER")
    assert f"--dport {PUBLISHED}" in nat.stdout, f"Docker has no DNAT rule for {PUBLISHED}: {nat.stdout}"

    states = probe(NEIGHBOUR, container_address(VPS), (22, 80, 443, *MUST_DROP))
    assert {p: states[p] for p in MUST_DROP} == dict.fromkeys(MUST_DROP, "dropped"), states
    assert states[80] == "open" and states[443] == "open", states
    # Until the lab image runs sshd, port 22 only has to get through the firewall (refused, not dropped).
    assert states[22] == ("open" if sshd_listens() else "refused"), states

    # Loopback binds keep working: Chatwoot's rails on 127.0.0.1:3000, the test container on its port.
    inside = probe(VPS, "127.0.0.1", (3000, PUBLISHED))
    assert inside == {3000: "open", PUBLISHED: "open"}, inside

    # A container inside the VPS reaches the neighbour (outbound through Docker's NAT).
    outbound = docker_exec(
        VPS,
        f"docker run --rm --entrypoint bash {IMAGE} -c "
        f"'exec 3<>/dev/tcp/{outbound_target}/{NEIGHBOUR_HTTP_PORT} && "
        f'printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && timeout 5 cat <&3\'',
    )
    assert "firewall-outbound-ok" in outbound.stdout, outbound.stdout + outbound.stderr


def test_rules_are_live_for_the_next_boot_and_nftables_cannot_wipe_docker():
    assert docker_exec(VPS, "systemctl is-enabled nftables").stdout.strip() == "enabled"
    conf = docker_exec(VPS, "cat /etc/nftables.conf").stdout
    assert 'include "/etc/nftables.d/*.nft"' in conf
    assert not [line for line in conf.splitlines() if line.strip().startswith("flush ruleset")], conf
    assert docker_exec(VPS, "nft -c -f /etc/nftables.d/selfhost-chatwoot.nft").returncode == 0
    stop = docker_exec(VPS, "systemctl show -p ExecStop nftables").stdout
    assert f"delete table inet {TABLE}" in stop and "flush" not in stop, stop


def test_the_lock_out_guard_refuses_rules_that_drop_the_ssh_session(tmp_path):
    """Over SSH the validate entry point refuses a firewall_ssh_port other than the one Ansible came in on."""
    inventory = os.environ.get("FIREWALL_TEST_INVENTORY") or str(Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent)
    play = tmp_path / "guard.yml"
    play.write_text(GUARD_PLAY)
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": f"{REPO}/.collections:{REPO}/.venv/lib/python3.11/site-packages",
        "ANSIBLE_NOCOLOR": "1",
    }

    def guard(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ansible-playbook", "-i", inventory, str(play), *extra],
            capture_output=True,
            text=True,
            check=False,
            timeout=180,
            env=env,
        )

    accepted = guard()
    assert accepted.returncode == 0, accepted.stdout[-3000:]
    # The scenario reaches its VPS over SSH, so there the guard must see the session; only a lab reached
    # another way (FIREWALL_TEST_INVENTORY) has none to protect.
    if "Ansible is not connected over SSH" in accepted.stdout and os.environ.get("FIREWALL_TEST_INVENTORY"):
        pytest.skip("the inventory reaches the VPS without SSH: there is no SSH session for the guard to protect")
    assert "The rules keep the SSH connection Ansible is using open" in accepted.stdout, accepted.stdout[-3000:]
    refused = guard("-e", "firewall_ssh_port=65001", "-e", '{"firewall_allowed_tcp_ports": [65002]}')
    # A failed task's message goes to stderr (ansible-core 2.19's default callback), the play's lines to stdout.
    refusal = refused.stdout + refused.stderr
    assert refused.returncode == 2, refusal[-3000:]
    assert "The firewall would drop the SSH connection Ansible is using" in " ".join(refusal.split()), refusal[-3000:]
    # Refused before any change: the loaded rules still open the real SSH port, not the refused one.
    assert "65001" not in docker_exec(VPS, f"nft list table inet {TABLE}").stdout


def test_only_ssh_http_and_https_get_in_and_containers_get_out(published_container, neighbour_http_server):
    check_the_firewall(neighbour_http_server)


def test_the_same_after_a_docker_restart(final_verification, published_container, neighbour_http_server):
    restarted = docker_exec(VPS, "systemctl restart docker", timeout=180)
    assert restarted.returncode == 0, restarted.stderr
    wait_for_docker_and_the_published_container()
    check_the_firewall(neighbour_http_server)


def test_the_same_after_a_reboot(final_verification, published_container, neighbour_http_server):
    """Last in the file: restarts the VPS container and waits for systemd, Docker and Chatwoot."""
    rebooted = subprocess.run(["docker", "restart", VPS], capture_output=True, text=True, check=False, timeout=180)
    assert rebooted.returncode == 0, rebooted.stderr
    wait_for("systemd finished booting", "systemctl is-system-running --wait | grep -Eq '^(running|degraded)$'")
    wait_for_docker_and_the_published_container()
    wait_for(
        "Chatwoot answers through Nginx",
        f"curl -sk -o /dev/null -w '%{{http_code}}' --max-time 5 --resolve {DOMAIN}:443:127.0.0.1 "
        f"https://{DOMAIN}/api | grep -qx 200",
        attempts=150,
    )
    check_the_firewall(neighbour_http_server)
