"""What the lab benchmarks share: the environment of a lab VPS of their own, and their section of
docs/benchmarks.md (between `<!-- bench:NAME start/end -->` markers, rewritten in place)."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "benchmarks.md"


def lab_env(name: str, https_port: int, http_port: int) -> dict:
    """tests/lab/lab.sh and ansible-playbook settings for the VPS `name` (ports on 127.0.0.1 only)."""
    env = dict(os.environ)
    env.update(
        LAB_NAME=name,
        LAB_HTTPS_PORT=str(https_port),
        LAB_HTTP_PORT=str(http_port),
        PATH=f"{REPO}/.venv/bin:{env['PATH']}",
        ANSIBLE_COLLECTIONS_PATH=f"{REPO}/.collections:{REPO}/.venv/lib/python3.11/site-packages",
        ANSIBLE_NOCOLOR="1",
    )
    return env


def write_section(section: str, body: str) -> None:
    start, end = f"<!-- bench:{section} start -->", f"<!-- bench:{section} end -->"
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _m: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text)


def run_site(env: dict, name: str, *extra: str) -> tuple[float, subprocess.CompletedProcess]:
    """site.yml once on the lab VPS NAME (inventories/lab); (seconds, the finished ansible-playbook)."""
    started = time.monotonic()
    inventory, playbook = "inventories/lab/hosts.yml", "playbooks/site.yml"
    command = ["ansible-playbook", "-i", inventory, playbook, "-e", f"lab_container={name}"]
    run = subprocess.run(
        [*command, *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return time.monotonic() - started, run


def recap_line(output: str) -> str:
    """The PLAY RECAP line of a run (ok=... changed=...), whitespace collapsed."""
    return " ".join(next(line for line in output.splitlines() if re.search(r"\bok=\d+\s+changed=\d+", line)).split())
