"""Helpers shared by the default scenario's verifier suites (tests/ and tests/step/).

`lab` wraps testinfra's `host` (the lab VPS) with the few commands every check needs: compose, psql and
redis-cli inside the stack, HTTPS through the VPS's own Nginx, and the version compose.yaml pins.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[3] / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))  # the repository's shared test helpers (tests/support)
from support.lab import read_lab_images  # noqa: E402  (needs the path above)

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # lab_runs, for the suites in the sub-directories too
from lab_runs import docker_exec  # noqa: E402  (needs the path above)

PROJECT = "/opt/chatwoot"
DOMAIN = "chatwoot.lab.test"


class LabHost:
    def __init__(self, host):
        self.host = host

    def compose(self, *args: str, check: bool = True):
        result = self.host.run(
            "docker compose --project-directory " + " ".join(["%s"] * (len(args) + 1)), PROJECT, *args
        )
        if check:
            assert result.rc == 0, result.stderr
        return result

    def psql(self, sql: str) -> str:
        result = self.host.run(
            "docker compose --project-directory %s exec -T postgres psql -U postgres -d chatwoot_production -Atc %s",
            PROJECT,
            sql,
        )
        assert result.rc == 0, result.stderr
        return result.stdout.strip()

    def redis_cli(self, *args: str) -> str:
        result = self.host.run(
            "docker compose --project-directory %s exec -T redis sh -c "
            '\'redis-cli -a "$REDIS_PASSWORD" --no-auth-warning "$@"\' redis-cli ' + " ".join(["%s"] * len(args)),
            PROJECT,
            *args,
        )
        assert result.rc == 0, result.stderr
        return result.stdout.strip()

    def pinned_tag(self) -> str:
        """The Chatwoot tag compose.yaml runs (vX.Y.Z or vX.Y.Z-ce)."""
        compose_file = self.host.file(f"{PROJECT}/compose.yaml").content_string
        tags = set(re.findall(r"image: \S+/chatwoot:(v\d+\.\d+\.\d+(?:-ce)?)\s", compose_file))
        assert len(tags) == 1, tags
        return tags.pop()

    def expected_version(self) -> str:
        """The version /api must report for the pinned tag (no v, no -ce)."""
        return re.sub(r"^v|-ce$", "", self.pinned_tag())

    def cert_path(self) -> str:
        path = f"/etc/ssl/selfhost-chatwoot/{DOMAIN}/fullchain.pem"
        assert self.host.file(path).is_file, "the nginx role wrote no certificate"
        return path

    def https_request(self, path: str, headers: dict | None = None, method: str = "GET", data: str | None = None):
        """(status, body) of a request through the VPS's Nginx, certificate verified."""
        header_args = " ".join(f"-H '{k}: {v}'" for k, v in (headers or {}).items())
        data_args = f"--data-raw '{data}'" if data is not None else ""
        result = self.host.run(
            f"curl -sS -X {method} -o /tmp/body -w '%{{http_code}}' --cacert {self.cert_path()} "
            f"--resolve {DOMAIN}:443:127.0.0.1 {header_args} {data_args} 'https://{DOMAIN}{path}'; echo; cat /tmp/body"
        )
        assert result.rc == 0, result.stderr
        status, _sep, body = result.stdout.partition("\n")
        return int(status), body

    def https_get(self, path: str, headers: dict | None = None):
        return self.https_request(path, headers)


@pytest.fixture
def lab(host) -> LabHost:
    return LabHost(host)


@pytest.fixture(scope="session")
def lab_images() -> dict[str, str]:
    """tests/lab/images.env, references resolved (LAB_CHATWOOT_NEWEST -> chatwoot-lab/chatwoot:v4.16.2)."""
    return read_lab_images()


@pytest.fixture
def final_verification(lab_images):
    """Checks that cost minutes run once, in the verification after the last upgrade (newest release).

    The VPS is read through docker exec (FIREWALL_TEST_VPS names another lab's): the `host` fixture would
    run the test per host.
    """
    newest = lab_images["LAB_CHATWOOT_NEWEST"].rsplit(":", 1)[1]
    vps = os.environ.get("FIREWALL_TEST_VPS", "cwlab-default-trixie")
    compose_file = docker_exec(vps, "cat /opt/chatwoot/compose.yaml").stdout
    pinned = set(re.findall(r"image: \S+/chatwoot:(v\d+\.\d+\.\d+)(?:-ce)?\s", compose_file))
    assert len(pinned) == 1, pinned
    if pinned.pop() != newest:
        pytest.skip(f"runs once, in the final verification at {newest}")
