"""Benchmark the idempotent re-run of playbooks/site.yml on a lab VPS over SSH, and over the Docker connection.

Creates its own lab VPS (tests/lab/lab.sh, ports on 127.0.0.1 only), converges it once over SSH (the user
debian, sudo, pipelining, ControlPersist: inventories/lab/hosts.yml and ansible.cfg), then re-runs site.yml
`--reruns` times over SSH and as many times over the Docker connection (`docker exec` as root, what the lab
used before), each with ansible.posix.profile_tasks: wall time, recap, task count and the time per role.
Every re-run must report changed=0. Writes its section of docs/benchmarks.md and removes the VPS.

Run from the repository root after `make lab-images`:
    .venv/bin/python bench/site_rerun.py
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from _lab import lab_env, recap_line, run_site, write_section

REPO = Path(__file__).resolve().parent.parent
SECTION = "site_rerun"
# profile_tasks' summary line: "<role> : <task> ---- 1.23s" (tasks outside a role have no "<role> : ").
PROFILE_LINE = re.compile(r"^(?P<task>.+?) -{2,} (?P<seconds>\d+\.\d+)s$")


def converge(env: dict, name: str, *extra: str) -> dict:
    """Run site.yml once with profile_tasks; return seconds, recap, task count and seconds per role."""
    run_env = dict(
        env,
        ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
        PROFILE_TASKS_TASK_OUTPUT_LIMIT="all",
        PROFILE_TASKS_SORT_ORDER="none",
    )
    seconds, run = run_site(run_env, name, *extra)
    print(f"site.yml {' '.join(extra)}: {seconds:.1f} s", file=sys.stderr, flush=True)
    if run.returncode != 0:
        raise SystemExit(f"converge failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}")
    recap = recap_line(run.stdout)
    summary = run.stdout.rsplit("PLAY RECAP", 1)[1]
    roles: dict[str, float] = defaultdict(float)
    by_task: dict[str, float] = defaultdict(float)
    tasks = 0
    for line in summary.splitlines():
        found = PROFILE_LINE.match(line.strip())
        if not found:
            continue
        tasks += 1
        task = found.group("task")
        role = task.split(" : ", 1)[0] if " : " in task else "(play tasks, facts)"
        roles[role.removeprefix("selfhost.chatwoot.")] += float(found.group("seconds"))
        by_task[task.removeprefix("selfhost.chatwoot.")] += float(found.group("seconds"))
    return {
        "seconds": seconds,
        "recap": recap,
        "tasks": tasks,
        "roles": dict(roles),
        "by_task": dict(by_task),
    }


def median_of(runs: list[dict], key: str) -> dict[str, float]:
    names = {name for run in runs for name in run[key]}
    return {name: statistics.median(run[key].get(name, 0.0) for run in runs) for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="chatwoot-rerun")
    parser.add_argument("--https-port", type=int, default=19443)
    parser.add_argument("--http-port", type=int, default=19080)
    parser.add_argument("--ssh-port", type=int, default=19022)
    parser.add_argument("--reruns", type=int, default=3)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="re-run on the lab VPS --name as it is (already converged: no first converge); removed at the end",
    )
    args = parser.parse_args()
    env = dict(lab_env(args.name, args.https_port, args.http_port), LAB_SSH_PORT=str(args.ssh_port))
    lab_sh = str(REPO / "tests/lab/lab.sh")
    ports = ("-e", f"lab_https_port={args.https_port}", "-e", f"lab_http_port={args.http_port}")
    # The same VPS through `docker exec` as root: the inventory's switch (extra vars naming the connection
    # would also apply to the tasks delegated to the controller).
    docker = ("-e", "lab_connection=docker")

    if not args.reuse:
        subprocess.run([lab_sh, "down"], env=env, check=True, capture_output=True)
    try:
        subprocess.run([lab_sh, "up"], env=dict(env, LAB_SKIP_DEPLOY="1"), check=True, capture_output=True)
        load_before = os.getloadavg()
        first = None if args.reuse else converge(env, args.name, *ports)
        ssh = [converge(env, args.name, *ports) for _run in range(args.reruns)]
        dock = [converge(env, args.name, *ports, *docker) for _run in range(args.reruns)]
        load_after = os.getloadavg()
    finally:
        subprocess.run([lab_sh, "down"], env=env, check=False, capture_output=True)

    for run in ssh + dock:
        if " changed=0 " not in f"{run['recap']} ":
            raise SystemExit(f"a re-run changed something: {run['recap']}")
    rows = [] if first is None else [("first converge (SSH)", first)]
    rows += [(f"re-run {i + 1}, SSH", run) for i, run in enumerate(ssh)]
    rows += [(f"re-run {i + 1}, Docker connection", run) for i, run in enumerate(dock)]
    table = "\n".join(f"| {label} | {run['seconds']:.1f} | {run['tasks']} | `{run['recap']}` |" for label, run in rows)
    ssh_roles, dock_roles = median_of(ssh, "roles"), median_of(dock, "roles")
    ssh_tasks = median_of(ssh, "by_task")
    slowest = "\n".join(
        f"| {name} | {seconds:.1f} |" for name, seconds in sorted(ssh_tasks.items(), key=lambda item: -item[1])[:10]
    )
    role_rows = "\n".join(
        f"| {name} | {ssh_roles.get(name, 0.0):.1f} | {dock_roles.get(name, 0.0):.1f} |"
        for name in sorted(ssh_roles, key=lambda n: -ssh_roles[n])
    )
    ssh_median = statistics.median(run["seconds"] for run in ssh)
    dock_median = statistics.median(run["seconds"] for run in dock)
    body = f"""## site.yml re-run on a lab VPS: over SSH with sudo, and over the Docker connection

- Command: `.venv/bin/python bench/site_rerun.py --name {args.name} --https-port {args.https_port} \\
  --http-port {args.http_port} --ssh-port {args.ssh_port}{" --reuse" if args.reuse else ""}` (after
  `make lab-images`; {"re-runs on the converged VPS" if args.reuse else "creates the VPS container"}, then removes it).
- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC
- Machine: {platform.system()} {platform.release()}, {os.cpu_count()} CPUs, shared with other work; load averages
  {" ".join(f"{x:.2f}" for x in load_before)} before, {" ".join(f"{x:.2f}" for x in load_after)} after.
- SSH: the user debian with a key made for the lab, NOPASSWD sudo, pipelining, ControlPersist=60s
  (inventories/lab/hosts.yml, ansible.cfg). Docker connection: `docker exec` as root into the same VPS.
- Tasks: what ansible.posix.profile_tasks timed (every task that ran or was skipped, facts included);
  seconds per role: the sum of its tasks' times, median over the re-runs.

| run | seconds | tasks | recap |
|---|---:|---:|---|
{table}

- Idempotent re-run, median of {len(ssh)}: **{ssh_median:.1f} s over SSH**, {dock_median:.1f} s over the Docker
  connection (target: 15 s over SSH).

| role | seconds over SSH | seconds over Docker |
|---|---:|---:|
{role_rows}

The ten slowest tasks of the SSH re-runs (median seconds; a task name run more than once is summed):

| task | seconds |
|---|---:|
{slowest}
"""
    write_section(SECTION, body)
    print(body)


if __name__ == "__main__":
    main()
