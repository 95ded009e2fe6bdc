"""`-e key=value` gives strings: the role must treat "false", "no", "3" like the typed values.

Check-mode runs on the converged VPSs; nothing changes. (tests/unit/test_role_string_extra_vars.py
compares string and typed renderings of daemon.json.)
"""

from __future__ import annotations

import re

from conftest import BOOKWORM, TRIXIE, inventory_name, only_on, run_converge, state_fingerprint

testinfra_hosts = [TRIXIE, BOOKWORM]


def dash_e(**values: str) -> list[str]:
    return [arg for key, value in values.items() for arg in ("-e", f"{key}={value}")]


def planned(run) -> list[str]:
    """The +/- lines of the planned diffs (without the ---/+++ headers, which name temporary files)."""
    return [line.rstrip() for line in run.stdout.splitlines() if re.match(r"^[-+](?![-+]{2} )", line)]


def test_daemon_json_from_string_options(host):
    only_on(host, "cwlab-docker-trixie", "daemon.json is written there")
    before = state_fingerprint(host)
    run = run_converge(
        inventory_name(host),
        {},
        check=True,
        diff=True,
        extra_args=dash_e(docker_live_restore="false", docker_log_max_file="3", docker_repository_only="no"),
    )
    assert run.returncode == 0, run.stdout[-4000:]
    lines = planned(run)
    # JSON false, not the string "false" (which dockerd refuses); max-file is a string in daemon.json.
    assert '-  "live-restore": true,' in lines and '+  "live-restore": false,' in lines, "\n".join(lines)
    assert '-    "max-file": "5",' in lines and '+    "max-file": "3",' in lines, "\n".join(lines)
    assert state_fingerprint(host) == before


def test_repository_only_from_a_string(host):
    only_on(host, "cwlab-docker-bookworm", "docker_repository_only is true there")
    before = state_fingerprint(host)
    run = run_converge(
        inventory_name(host),
        {},
        check=True,
        extra_args=dash_e(docker_repository_only="yes", docker_remove_conflicting_packages="off"),
    )
    assert run.returncode == 0, run.stdout[-4000:]
    assert "docker_repository_only is true" in run.stdout
    assert re.search(r"Remove distribution packages that conflict[^\n]*\*+\nskipping:", run.stdout), run.stdout
    assert re.search(r"changed=0 ", run.stdout), run.stdout[-2000:]
    assert state_fingerprint(host) == before
