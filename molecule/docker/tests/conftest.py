"""Helpers for the docker scenario's tests: which VPS a test runs on, and re-running the role with other input."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

SCENARIO_DIR = Path(__file__).resolve().parent.parent

# testinfra's ansible backend reads the scenario's inventory: over SSH as the user debian with sudo. On
# trixie it runs commands through its own ssh client (NOPASSWD sudo); bookworm's sudo asks for the password
# the inventory keeps in vault, which only Ansible can use, so there testinfra runs every command through
# Ansible (force_ansible).
TRIXIE = "ansible://cwlab-docker-trixie"
BOOKWORM = "ansible://cwlab-docker-bookworm?force_ansible=True"


def inventory_name(host) -> str:
    return host.backend.host


def only_on(host, name: str, why: str) -> None:
    if inventory_name(host) != name:
        pytest.skip(f"runs on {name} only: {why}")


def run_converge(
    limit: str,
    extra_vars: dict,
    check: bool = False,
    diff: bool = False,
    extra_args: Sequence[str] = (),
    playbook: Path = SCENARIO_DIR / "converge.yml",
    inventories: Sequence[Path] = (),
) -> subprocess.CompletedProcess:
    """Run a playbook (this scenario's converge.yml) on one VPS with extra vars (highest precedence).

    extra_args go to ansible-playbook as they are, e.g. ["-e", "nginx_http2=false"] for the string a
    command line gives; inventories are added to the scenario's.
    """
    command = [
        "ansible-playbook",
        *(["--check"] if check else []),
        *(["--diff"] if diff else []),
        "--inventory",
        os.environ["MOLECULE_INVENTORY_FILE"],
        *(arg for inventory in inventories for arg in ("--inventory", str(inventory))),
        "--limit",
        limit,
        "--extra-vars",
        json.dumps(extra_vars),
        *extra_args,
        str(playbook),
    ]
    env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
    # Ansible writes task errors to stderr: one stream keeps the whole story in `stdout`.
    return subprocess.run(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=SCENARIO_DIR,
        timeout=900,
        check=False,
    )


def state_fingerprint(host) -> str:
    """Everything a role run could change here: installed packages and the managed configuration trees."""
    command = (
        "set -o pipefail; { dpkg-query -W -f '${Package} ${Version}\\n'; "
        "find /etc/apt /etc/docker /etc/systemd/system -xdev -printf '%p %s %T@ %m\\n' 2>/dev/null || true; } "
        "| sort | sha256sum"
    )
    return host.check_output(f"bash -c {shlex.quote(command)}")
