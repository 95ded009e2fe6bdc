"""Benchmark the backup tool and playbooks/restore.yml on a lab VPS seeded with a sizeable database and storage.

Creates its own lab VPS (tests/lab/lab.sh up with LAB_NAME=chatwoot-bench-backup, ports on 127.0.0.1 only;
lab.sh runs site.yml, backup role included), seeds --rows message rows (in a few conversations of the
lab's account and inbox) and --storage-mb of random, incompressible files under /opt/chatwoot/data/storage,
then times:

1. a first backup: `selfhost-chatwoot-backup backup --tag manual` run inside the VPS (docker exec; the tool
   the timer, backup.yml and the upgrade flow all call), and the restic repository's size after it;
2. 1 % more rows and 2 more files, a second backup and what it added to the repository (dedup);
3. `ansible-playbook playbooks/restore.yml` of the latest snapshot onto the same host (preflight, pre-restore
   backup, load into a new database and swap, files, app and nginx roles, row-count check).

Writes its section of docs/benchmarks.md and removes the VPS (also when a step fails).

Run from the repository root after `make lab-images`:
    .venv/bin/python bench/backup_restore.py                              # 1,000,000 rows, 1 GiB storage
    .venv/bin/python bench/backup_restore.py --rows 20000 --storage-mb 20 # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from _lab import lab_env, write_section

REPO = Path(__file__).resolve().parent.parent
SECTION = "backup_restore"
PROJECT = "/opt/chatwoot"
STORAGE = f"{PROJECT}/data/storage"
RESTIC_REPO = "/var/backups/selfhost-chatwoot/restic"
TOOL = "/usr/local/sbin/selfhost-chatwoot-backup"
SEED_DIR = f"{STORAGE}/bench-seed"
CONVERSATIONS = 100
BATCH = 100_000

# Message-like content: a sentence from a small set, the row number and 12 hex characters, about 70 bytes.
CONTENT_SQL = (
    "(ARRAY['Hello, I need help with my order','Thanks, that solved it!',"
    "'Could you send me the invoice again, please?','The app logs me out every morning',"
    "'We will look into it and get back to you today','Is there a discount for yearly plans?',"
    "'My package has not arrived yet','Please reset the password of my account'])[1 + g % 8]"
    " || ' #' || g || ' ' || substr(md5(g::text), 1, 12)"
)


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def run(argv: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        raise SystemExit(
            f"{what} failed (exit {result.returncode}): {' '.join(argv)}\n"
            f"--- stdout (tail)\n{result.stdout[-6000:]}\n--- stderr (tail)\n{result.stderr[-3000:]}"
        )
    return result


class Vps:
    def __init__(self, name: str):
        self.name = name

    def sh(self, script: str, what: str, stdin: str | None = None) -> str:
        argv = ["docker", "exec", *(["-i"] if stdin is not None else []), self.name, "sh", "-c", script]
        return run(argv, what, input=stdin).stdout

    def psql(self, sql: str, what: str) -> str:
        argv = [
            "docker",
            "exec",
            "-i",
            self.name,
            "docker",
            "compose",
            "--project-directory",
            PROJECT,
            "exec",
            "-T",
            "postgres",
            "psql",
            "-U",
            "postgres",
            "-d",
            "chatwoot_production",
            "-v",
            "ON_ERROR_STOP=1",
            "-qAt",
        ]
        return run(argv, what, input=sql).stdout.strip()

    def repo_bytes(self) -> int:
        return int(self.sh(f"du -sb {RESTIC_REPO} | cut -f1", "du of the restic repository").strip())

    def backup(self) -> tuple[float, dict]:
        started = time.monotonic()
        out = run(["docker", "exec", self.name, TOOL, "backup", "--tag", "manual"], "selfhost-chatwoot-backup backup")
        return time.monotonic() - started, json.loads(out.stdout)


def other_containers(own: str) -> set[str]:
    out = subprocess.run(["docker", "ps", "--format", "{{.Names}}"], capture_output=True, text=True, check=False)
    return {name for name in out.stdout.split() if not name.startswith(own)}


def seed_rows(vps: Vps, conversation: tuple[int, int, int], first: int, count: int) -> float:
    """Insert messages first..first+count-1 (batches of BATCH rows, each its own transaction)."""
    account, inbox, first_id = conversation
    started = time.monotonic()
    done = 0
    while done < count:
        low, high = first + done, first + min(count, done + BATCH) - 1
        vps.psql(
            f"""
            INSERT INTO messages (account_id, inbox_id, conversation_id, message_type, content, sender_type,
                                  created_at, updated_at)
            SELECT {account}, {inbox}, {first_id} + g % {CONVERSATIONS}, g % 2, {CONTENT_SQL}, 'Contact', t, t
            FROM generate_series({low}, {high}) AS g,
                 LATERAL (SELECT (now() AT TIME ZONE 'UTC') - ({first + count} - g) * interval '1 second') AS s(t);
            """,
            f"inserting messages {low}..{high}",
        )
        done = high - first + 1
        log(f"  {done:,} / {count:,} rows")
    return time.monotonic() - started


def prepare_conversations(vps: Vps) -> tuple[int, int, int]:
    """CONVERSATIONS conversations in the lab's first account and inbox: (account, inbox, first conversation id)."""
    account = vps.psql("SELECT coalesce(min(id), 1) FROM accounts;", "reading the account")
    inbox = vps.psql(f"SELECT coalesce(min(id), 1) FROM inboxes WHERE account_id = {account};", "reading the inbox")
    ids = vps.psql(
        f"""
        WITH base AS (SELECT coalesce(max(display_id), 0) AS d FROM conversations WHERE account_id = {account})
        INSERT INTO conversations (account_id, inbox_id, status, display_id, created_at, updated_at)
        SELECT {account}, {inbox}, 0, base.d + n,
               (now() AT TIME ZONE 'UTC') - interval '30 days', (now() AT TIME ZONE 'UTC') - interval '1 day'
        FROM base, generate_series(1, {CONVERSATIONS}) AS n
        RETURNING id;
        """,
        "creating the conversations",
    ).split()
    numbers = sorted(int(x) for x in ids)
    if numbers != list(range(numbers[0], numbers[0] + CONVERSATIONS)):
        raise SystemExit(f"the new conversations' ids are not contiguous: {numbers[:5]}...")
    return int(account), int(inbox), numbers[0]


def seed_files(vps: Vps, first: int, count: int, file_mb: int) -> float:
    started = time.monotonic()
    vps.sh(
        f"set -e; mkdir -p {SEED_DIR}; i={first}; while [ $i -lt {first + count} ]; do "
        f"head -c {file_mb}M /dev/urandom > {SEED_DIR}/file-$i.bin; i=$((i + 1)); done; "
        f"chown -R --reference={STORAGE} {SEED_DIR}; chmod 0750 {SEED_DIR}; chmod 0640 {SEED_DIR}/*",
        "writing the storage files",
    )
    return time.monotonic() - started


def restore(env: dict, name: str, http_port: int, https_port: int) -> tuple[float, str, list[str], list[str]]:
    """playbooks/restore.yml of the latest snapshot; (seconds, recap, slowest tasks, the command)."""
    argv = [
        "ansible-playbook",
        "-i",
        "inventories/lab/hosts.yml",
        "playbooks/restore.yml",
        "-e",
        f"lab_container={name}",
        "-e",
        f"lab_http_port={http_port}",
        "-e",
        f"lab_https_port={https_port}",
    ]
    started = time.monotonic()
    result = run(
        argv,
        "playbooks/restore.yml",
        cwd=REPO,
        env=dict(env, ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="8"),
    )
    elapsed = time.monotonic() - started
    Path(f"/tmp/{name}-restore.log").write_text(result.stdout)
    lines = result.stdout.splitlines()
    recap = next(line for line in lines if re.search(r"\bok=\d+\s+changed=\d+", line))
    slowest = []
    for line in lines:
        found = re.match(r"^(.+?) -+ (\d+\.\d+)s$", line.strip())
        if found:
            slowest.append(f"{found.group(2)} s {found.group(1).strip()}")
    return elapsed, " ".join(recap.split()), slowest[:8], argv


def mib(count: int) -> str:
    return f"{count / 2**20:,.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="chatwoot-bench-backup")
    parser.add_argument("--https-port", type=int, default=38443)
    parser.add_argument("--http-port", type=int, default=38080)
    parser.add_argument("--rows", type=int, default=1_000_000, help="message rows to seed (default 1,000,000)")
    parser.add_argument("--storage-mb", type=int, default=1024, help="MiB of random files to seed (default 1024)")
    parser.add_argument("--file-mb", type=int, default=4, help="size of each seeded file in MiB (default 4)")
    parser.add_argument("--no-doc", action="store_true", help="print the section, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    command = " ".join(
        [".venv/bin/python bench/backup_restore.py"]
        + [f"--rows {args.rows}"] * (args.rows != 1_000_000)
        + [f"--storage-mb {args.storage_mb}"] * (args.storage_mb != 1024)
        + [f"--file-mb {args.file_mb}"] * (args.file_mb != 4)
    )
    env = lab_env(args.name, args.https_port, args.http_port)
    lab_sh = str(REPO / "tests/lab/lab.sh")
    vps = Vps(args.name)
    files = max(1, args.storage_mb // args.file_mb)
    extra_rows = max(1, args.rows // 100)
    # A SIGTERM (a killed run) still goes through the finally below and removes the VPS.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started_at, started = datetime.now(UTC), time.monotonic()
    others = other_containers(args.name)
    subprocess.run([lab_sh, "down"], env=env, check=False, capture_output=True)
    try:
        log(f"lab.sh up ({args.name}: VPS and site.yml)")
        tick = time.monotonic()
        run([lab_sh, "up"], "tests/lab/lab.sh up", env=env)
        deploy = time.monotonic() - tick
        load_before = os.getloadavg()

        log(f"seeding {args.rows:,} message rows and {files} x {args.file_mb} MiB files")
        conversation = prepare_conversations(vps)
        account, inbox, _first_id = conversation
        seed_seconds = seed_rows(vps, conversation, 1, args.rows)
        files_seconds = seed_files(vps, 0, files, args.file_mb)
        sizes = vps.psql(
            "SELECT pg_database_size(current_database()), pg_total_relation_size('messages'), "
            "pg_table_size('messages'), (SELECT count(*) FROM messages), "
            "(SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'messages');",
            "reading the database size",
        ).split("|")
        db_bytes, messages_total, messages_table, messages_count, indexes = (int(x) for x in sizes)
        storage_bytes = int(vps.sh(f"du -sb {STORAGE} | cut -f1", "du of the storage").strip())
        others |= other_containers(args.name)

        repo_empty = vps.repo_bytes()
        log("backup 1")
        backup1, result1 = vps.backup()
        repo1 = vps.repo_bytes()
        log(f"  {backup1:.1f} s, repository {mib(repo1)}")
        others |= other_containers(args.name)

        log(f"adding {extra_rows:,} rows and 2 files")
        seed_rows(vps, conversation, args.rows + 1, extra_rows)
        seed_files(vps, files, 2, args.file_mb)
        log("backup 2")
        backup2, result2 = vps.backup()
        repo2 = vps.repo_bytes()
        log(f"  {backup2:.1f} s, added {mib(repo2 - repo1)}")
        others |= other_containers(args.name)

        log("restore.yml (latest snapshot, same host)")
        restore_seconds, recap, slowest, restore_argv = restore(env, args.name, args.http_port, args.https_port)
        log(f"  {restore_seconds:.1f} s")
        after = int(vps.psql("SELECT count(*) FROM messages;", "counting the restored messages"))
        if after != messages_count + extra_rows:
            raise SystemExit(f"after the restore messages holds {after} rows, expected {messages_count + extra_rows}")
        repo3 = vps.repo_bytes()
        others |= other_containers(args.name)
        load_after = os.getloadavg()
    finally:
        log(f"lab.sh down ({args.name})")
        subprocess.run([lab_sh, "down"], env=env, check=False, capture_output=True)
    total_minutes = (time.monotonic() - started) / 60

    kinds = {"cwlab": "Molecule", "cwtest": "tests"}
    groups: dict[str, int] = {}
    for other in others:
        prefix = other.split("-", 1)[0] if "-" in other else ""
        groups[prefix] = groups.get(prefix, 0) + 1
    overlap = (
        f"This run overlapped other work on the {os.cpu_count()}-core machine: {len(others)} other containers ran\n"
        "  beside it ("
        + ", ".join(
            f"{count} `{prefix}-*`" + (f" ({kinds[prefix]})" if prefix in kinds else "") if prefix else f"{count} other"
            for prefix, count in sorted(groups.items())
        )
        + "), so its seconds are upper bounds."
        if others
        else "No other containers ran during this run."
    )
    restore_cmd = " ".join(restore_argv)
    dump1, dump2 = mib(result1.get("dump_bytes", 0)), mib(result2.get("dump_bytes", 0))
    slow_rows = "\n".join(f"  - {line}" for line in slowest)
    body = f"""## Backup and restore on a lab VPS: {messages_count:,} messages, {mib(storage_bytes)} of storage

- Command: `{command}`
  (after `make lab-images`; creates the VPS container `{args.name}` with `tests/lab/lab.sh up`, which runs
  site.yml including the backup role, and removes it at the end).
- Date: {started_at:%Y-%m-%d %H:%M} UTC; the whole run (VPS, deploy, seeding, backups, restore, removal) took
  {total_minutes:.0f} min.
- Machine: {platform.system()} {platform.release()}, {os.cpu_count()} CPUs; the VPS is a Debian 13 container
  (its Docker on a volume, restic from Debian, the default repository
  `{RESTIC_REPO}` on the same disk).
- Load averages: {" ".join(f"{x:.2f}" for x in load_before)} before, {" ".join(f"{x:.2f}" for x in load_after)} after.
  {overlap}
- Data: {messages_count:,} rows in `messages` (about 70 bytes of text each, {CONVERSATIONS} conversations of
  account {account} / inbox {inbox}; the table with its {indexes} indexes, GIN trigram on content included:
  {mib(messages_total)}, table alone {mib(messages_table)}; database {mib(db_bytes)}), inserted with SQL in
  {seed_seconds:.0f} s; storage (written in {files_seconds:.0f} s): {files} files of {args.file_mb} MiB
  from /dev/urandom (incompressible) under `{SEED_DIR}`;
  `{STORAGE}` holds {mib(storage_bytes)}.
- Backups: `docker exec {args.name} selfhost-chatwoot-backup backup --tag manual`
  (the host tool itself, what `playbooks/backup.yml` runs; online `pg_dump -Fc` into staging, then
  `restic backup` of staging and storage). The dump is compressed: the seeded text repeats 8 sentences, so
  the {mib(messages_table)} table dumps to about {dump1} (indexes are rebuilt on restore, not dumped); real
  message text compresses less.
  Repository size: `du -sb {RESTIC_REPO}` in the VPS ({mib(repo_empty)} before the first backup).
- Second backup: after {extra_rows:,} more rows (1 %) and 2 more {args.file_mb} MiB files.
- Restore: `{restore_cmd}`
  (latest snapshot = backup 2, onto the same host): preflight, a `pre-restore` backup of the running
  install, `pg_restore` into a new database and swap, files and storage, app role at the snapshot's version
  (rails and sidekiq restart, LAB_BOOT_DELAY included), nginx, row-count check. Afterwards `messages` held
  {after:,} rows (checked).

| step | wall time, s | figure |
|---|---:|---|
| deploy (`lab.sh up`: VPS, site.yml) | {deploy:.1f} | |
| backup 1 (full) | **{backup1:.1f}** | dump {dump1}; repository after it **{mib(repo1)}** |
| backup 2 (+1 % rows, +2 files) | **{backup2:.1f}** | dump {dump2}; added to the repository **{mib(repo2 - repo1)}** |
| restore.yml of backup 2 | **{restore_seconds:.1f}** | repository then {mib(repo3)} (pre-restore snapshot in) |

- Restore recap: `{recap}`.
  Slowest tasks (ansible.posix.profile_tasks):
{slow_rows}
"""
    if not args.no_doc:
        write_section(SECTION, body)
    print(body)


if __name__ == "__main__":
    main()
