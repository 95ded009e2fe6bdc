"""Runs of the app role against the converged lab VPS, and the host state a refused run must not change.

Shared by test_refusals.py (final verification) and data_safety/ (after the first converge).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

SCENARIO_DIR = Path(__file__).resolve().parents[1]
REPO = SCENARIO_DIR.parents[1]


def state(lab) -> dict:
    """What must not change: the live files and the containers (name -> image ID and start time)."""
    files = {
        path: hashlib.sha256(lab.host.file(f"/opt/chatwoot/{path}").content).hexdigest()
        for path in ("compose.yaml", ".env", "postgres.env", "redis.env", "secrets.json")
    }
    listing = lab.host.run("docker ps --filter label=com.docker.compose.project=chatwoot --format '{{.ID}}'")
    containers = {}
    for cid in listing.stdout.split():
        info = json.loads(lab.host.run("docker inspect %s", cid).stdout)[0]
        containers[info["Name"]] = (info["Image"], info["State"]["StartedAt"])
    return {"files": files, "containers": containers}


def docker_exec(container: str, script: str, timeout: int = 60) -> subprocess.CompletedProcess:
    """bash -c SCRIPT in a lab container through docker exec, as root (the console's view, not Ansible's)."""
    return subprocess.run(
        ["docker", "exec", container, "bash", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def container_address(container: str) -> str:
    """The first network address of a lab container."""
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", container],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out, f"{container} has no address"
    return out[0]


def run_playbook(playbook: Path, *args: str, extra_vars: dict | None = None, timeout: int = 900):
    """ansible-playbook against the scenario's inventory, from the scenario directory (no colour)."""
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = f"{REPO}/.collections:{REPO}/.venv/lib/python3.11/site-packages"
    env["ANSIBLE_NOCOLOR"] = "1"
    command = ["ansible-playbook", "-i", str(Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent), *args]
    if extra_vars is not None:
        command += ["-e", json.dumps(extra_vars)]
    return subprocess.run(
        [*command, str(playbook)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=SCENARIO_DIR,
        timeout=timeout,
    )


def run_lab_playbook(name: str, timeout: int = 900, **extra_vars) -> subprocess.CompletedProcess:
    """playbooks/NAME.yml with the lab's settings (the verifier runs outside Molecule's converge)."""
    return run_playbook(
        REPO / f"playbooks/{name}.yml",
        extra_vars={"lab_repo": str(REPO), "lab_https_port": 443, **extra_vars},
        timeout=timeout,
    )


def run_app_role(**extra_vars) -> subprocess.CompletedProcess:
    return run_lab_playbook("app", **extra_vars)


def assert_refused(lab, before: dict, run: subprocess.CompletedProcess, *phrases: str) -> None:
    output = run.stdout + run.stderr
    assert run.returncode != 0, output[-3000:]
    for phrase in phrases:
        assert phrase in output, f"{phrase!r} not in:\n{output[-3000:]}"
    assert state(lab) == before, "the refused run changed the host"
