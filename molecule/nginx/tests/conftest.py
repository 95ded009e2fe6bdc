"""Helpers for the nginx scenario's tests: which VPS a test runs on, and re-running the role with other input."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

SCENARIO_DIR = Path(__file__).resolve().parent.parent


def inventory_name(host) -> str:
    return host.backend.host


def only_on(host, name: str, why: str) -> None:
    if inventory_name(host) != name:
        pytest.skip(f"runs on {name} only: {why}")


def run_converge(limit: str, extra_vars: dict, check: bool = False) -> subprocess.CompletedProcess:
    """Run this scenario's converge.yml on one VPS with extra vars (highest precedence)."""
    command = [
        "ansible-playbook",
        *(["--check"] if check else []),
        "--inventory",
        os.environ["MOLECULE_INVENTORY_FILE"],
        "--limit",
        limit,
        "--extra-vars",
        json.dumps(extra_vars),
        str(SCENARIO_DIR / "converge.yml"),
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
        "find /etc/nginx /etc/ssl /etc/systemd/system /var/www -xdev -printf '%p %s %T@ %m\\n' 2>/dev/null || true; } "
        "| sort | sha256sum"
    )
    return host.check_output(f"bash -c {shlex.quote(command)}")
