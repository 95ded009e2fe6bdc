"""Run this collection's modules through real Ansible from integration tests.

Small API, shared by every module's integration tests:

    from support.playbook_runner import run_module, run_tasks, run_playbook, AnsibleRunError

    result = run_module("pgvector", {"login_host": "127.0.0.1", ...}, check=True)
    assert result["changed"] is True and not result.get("failed")

- ``run_module(module, args, check=False, diff=False, extra_env=None, timeout=900) -> dict``: one task on
  localhost (connection local, the repository's .venv Python as interpreter); returns that task's result
  dict exactly as Ansible registered it (``changed``, ``failed``, ``msg``, the module's return values, ...).
  A failing module does NOT raise: assert on ``result["failed"]`` / ``result["msg"]``.
- ``run_tasks(tasks, check=False, ...) -> list[dict]``: several tasks in one play, one result per task.
- ``run_playbook(playbook, check=False, extra_vars=None, ...) -> dict``: a playbook path (or a list of
  plays); returns the parsed output of the ``ansible.posix.json`` callback (``plays``, ``stats``).
- ``AnsibleRunError``: Ansible itself did not produce a usable result (syntax error, unknown module,
  crash, timeout); its message carries stdout/stderr.

Module arguments are written into a generated playbook, every string that Jinja would template tagged
``!unsafe``, so values such as passwords containing ``{{`` reach the module verbatim and never show up on
a command line.
``module`` may be a short name (``pgvector`` -> ``selfhost.chatwoot.pgvector``) or a full FQCN.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv"
PYTHON = VENV / "bin" / "python"
COLLECTION = "selfhost.chatwoot"


class AnsibleRunError(Exception):
    """Ansible did not run the playbook to a parseable result."""


class _Unsafe(str):
    pass


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value), style='"'))


def _unsafe(value):
    """Tag every string so Ansible does not template it."""
    if isinstance(value, str):
        # Only strings Jinja would touch get the tag: Ansible re-resolves !unsafe scalars implicitly, ignoring
        # quotes (an !unsafe "false" would arrive as the boolean False), and such strings cannot resolve to
        # anything but a string.
        return _Unsafe(value) if any(marker in value for marker in ("{{", "{%", "{#")) else value
    if isinstance(value, dict):
        return {k: _unsafe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_unsafe(v) for v in value]
    return value


def fqcn(module: str) -> str:
    return module if "." in module else f"{COLLECTION}.{module}"


def ansible_env(extra_env: dict | None = None) -> dict:
    """Environment for ansible-playbook: this checkout as the collection, JSON output, no colour."""
    env = dict(os.environ)
    env.pop("ANSIBLE_CONFIG", None)  # the cwd is a fresh temp dir: no stray ansible.cfg applies
    env.update(
        {
            "PATH": f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "ANSIBLE_COLLECTIONS_PATH": f"{REPO / '.collections'}{os.pathsep}"
            f"{VENV / 'lib' / f'python{sys.version_info.major}.{sys.version_info.minor}' / 'site-packages'}",
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "ANSIBLE_HOST_KEY_CHECKING": "0",
        }
    )
    if extra_env:
        env.update({k: str(v) for k, v in extra_env.items()})
    return env


def _play(tasks: list[dict]) -> list[dict]:
    return [
        {
            "name": "selfhost.chatwoot integration test",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {"ansible_python_interpreter": str(PYTHON)},
            "tasks": tasks,
        }
    ]


def run_playbook(
    playbook,
    check: bool = False,
    diff: bool = False,
    extra_vars: dict | None = None,
    extra_env: dict | None = None,
    timeout: float = 900,
) -> dict:
    """Run a playbook file (path) or a list of plays; return the ansible.posix.json callback's document."""
    with tempfile.TemporaryDirectory(prefix="cw-ansible-") as tmp:
        if isinstance(playbook, (str, Path)):
            path = str(playbook)
        else:
            path = os.path.join(tmp, "playbook.yml")
            with open(path, "w", encoding="utf-8") as handle:
                yaml.dump(playbook, handle, Dumper=_Dumper, sort_keys=False)
        cmd = [str(VENV / "bin" / "ansible-playbook"), "-i", "localhost,", path]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if extra_vars:
            vars_path = os.path.join(tmp, "extra_vars.json")
            with open(vars_path, "w", encoding="utf-8") as handle:
                json.dump(extra_vars, handle)
            cmd += ["-e", f"@{vars_path}"]
        try:
            proc = subprocess.run(
                cmd, cwd=tmp, env=ansible_env(extra_env), capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise AnsibleRunError(f"ansible-playbook did not finish within {timeout} s: {exc}") from exc
    start = proc.stdout.find("{")
    try:
        document = json.loads(proc.stdout[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        document = None
    if not isinstance(document, dict) or "plays" not in document:
        raise AnsibleRunError(
            f"ansible-playbook exited {proc.returncode} without JSON results\n"
            f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
        )
    document["rc"] = proc.returncode
    document["stderr"] = proc.stderr
    return document


def task_results(document: dict, host: str = "localhost") -> list[dict]:
    """One result dict per task, in order, from a run_playbook document."""
    results = []
    for play in document["plays"]:
        for task in play["tasks"]:
            result = task["hosts"].get(host)
            if result is not None:
                results.append(result)
    return results


def run_tasks(
    tasks: list[dict],
    check: bool = False,
    diff: bool = False,
    extra_env: dict | None = None,
    timeout: float = 900,
    template: bool = False,
) -> list[dict]:
    """Run tasks (dicts as in a playbook) on localhost; one result per task that ran.

    Strings are tagged !unsafe unless ``template`` is true. Ansible stops at the first failing task
    (unless that task sets ignore_errors), so a failure is the last result.
    """
    tasks = tasks if template else _unsafe(tasks)
    document = run_playbook(_play(tasks), check=check, diff=diff, extra_env=extra_env, timeout=timeout)
    results = task_results(document)
    if not results:
        raise AnsibleRunError(f"no task results (rc {document['rc']})\n--- stderr\n{document['stderr'][-4000:]}")
    return results


def run_module(
    module: str,
    args: dict | None = None,
    check: bool = False,
    diff: bool = False,
    extra_env: dict | None = None,
    timeout: float = 900,
) -> dict:
    """Run one module with ``args``; return its registered result (failures are returned, not raised)."""
    task = {"name": f"run {fqcn(module)}", fqcn(module): args or {}}
    return run_tasks([task], check=check, diff=diff, extra_env=extra_env, timeout=timeout)[-1]
