"""site.yml refuses invalid nginx input before the docker and app roles (which run first) change the host.

The provided-mode VPS has nginx but no Docker and no Chatwoot: with docker_source=distro the docker role
would install Debian's docker.io there, and the app role would create /opt/chatwoot, were the nginx
input not checked for every role first. (Valid input through the validation play on a fresh VPS: the
default scenario's check and converge.)
"""

from __future__ import annotations

import re

import pytest
from conftest import SCENARIO_DIR, inventory_name, only_on, run_converge, state_fingerprint

HOST = "cwlab-nginx-provided"
SITE = SCENARIO_DIR.parent.parent / "playbooks" / "site.yml"
# Valid input for the docker and app roles on this VPS.
VALID = {
    "docker_source": "distro",
    "docker_service_environment": {"DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE": "1"},
    "app_domain": "chatwoot.lab.test",
}


@pytest.fixture
def site_inventory(tmp_path):
    """The scenario's inventory puts every VPS in `all`; site.yml runs on the group `chatwoot`."""
    path = tmp_path / "chatwoot-group.yml"
    path.write_text(f"chatwoot:\n  hosts:\n    {HOST}:\n")
    return path


def docker_and_chatwoot_absent(host) -> None:
    assert not host.package("docker.io").is_installed
    assert not host.file("/etc/docker").exists
    assert not host.file("/opt/chatwoot").exists


@pytest.mark.parametrize(
    ("invalid", "message"),
    [
        # Refused by the argument spec of the nginx role's validate entry point.
        ({"nginx_tls_mode": "bogus"}, "value of nginx_tls_mode must be one of: acme, provided, selfsigned, got: bogus"),
        # Refused by the nginx role's cross-field rules.
        ({"nginx_server_aliases": ["chat.lab.test;"]}, "nginx_server_name and nginx_server_aliases must be host names"),
    ],
    ids=["argument-spec", "cross-field"],
)
def test_invalid_nginx_input_changes_nothing(host, site_inventory, invalid, message):
    only_on(host, HOST, "a VPS without Docker is needed, and one is enough")
    docker_and_chatwoot_absent(host)
    before = state_fingerprint(host)
    run = run_converge(inventory_name(host), {**VALID, **invalid}, playbook=SITE, inventories=[site_inventory])
    assert run.returncode != 0, run.stdout[-4000:]
    assert message in run.stdout, run.stdout[-4000:]
    assert "Invalid input on cwlab-nginx-provided for selfhost.chatwoot.nginx" in run.stdout, run.stdout[-4000:]
    assert "PLAY [Deploy Chatwoot]" not in run.stdout
    assert re.search(rf"{HOST}\s*: ok=\d+\s+changed=0 ", run.stdout), run.stdout[-2000:]
    docker_and_chatwoot_absent(host)
    assert state_fingerprint(host) == before
