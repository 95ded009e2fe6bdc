# Managed by selfhost.chatwoot.backup.
"""Back up and restore a Chatwoot compose project with restic (the host tool of selfhost.chatwoot.backup).

Every subcommand prints ONE JSON object on stdout and human text on stderr; the exit codes are the
interface the roles rely on (EXIT_* below). Nothing printed contains a secret: the restic password is read
by restic from its file, repository credentials only reach restic's environment, and PostgreSQL is reached
through `docker compose exec -T postgres` on its local socket.

Configuration: /etc/selfhost-chatwoot/backup.json (written 0600 by the role), see load_config().
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = "/etc/selfhost-chatwoot/backup.json"
# datetime.UTC is Python 3.11+; Ubuntu 22.04 hosts run 3.10.
UTC = datetime.timezone.utc  # noqa: UP017

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_REPOSITORY = 3
EXIT_DISK = 4
EXIT_NO_SNAPSHOT = 5
EXIT_DATABASE = 6

KINDS = ("scheduled", "manual", "pre-upgrade", "pre-restore")
# Files of the project a restore needs (encrypted columns, sessions, the stack's own configuration).
PROJECT_FILES = (".env", "secrets.json", "compose.yaml", "postgres.env", "redis.env")
PROJECT_DIRS = ("state",)
DUMP_NAME = "chatwoot.dump"
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
# Room kept free on top of every estimate (restic's own writes, logs, the manifest).
DISK_MARGIN = 16 * 1024 * 1024
# A custom-format dump restores into at most this many times its size (indexes are rebuilt, data expands).
RESTORE_EXPANSION = 4
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
SECRET_LINE = re.compile(r"(PASSWORD|SECRET|KEY|SALT|TOKEN)[A-Za-z_]*\s*[=:]\s*\S+", re.IGNORECASE)


class ToolError(Exception):
    """A failure with its exit code; the message names the cause and the fix."""

    def __init__(self, message: str, code: int = EXIT_FAILURE, **fields):
        super().__init__(message)
        self.code = code
        self.fields = fields


# --------------------------------------------------------------------------------------------- pure logic


def retention_args(retention: dict) -> list[str]:
    """restic forget arguments for the policy ({"daily": 7, "weekly": 4, ...}); zero/absent keeps none."""
    args: list[str] = []
    for key in ("last", "hourly", "daily", "weekly", "monthly", "yearly"):
        value = int(retention.get(key, 0) or 0)
        if value < 0:
            raise ToolError(f"retention {key} is {value}; use 0 or more.", EXIT_USAGE)
        if value:
            args += [f"--keep-{key}", str(value)]
    if not args:
        raise ToolError("the retention policy keeps nothing; set backup_retention (e.g. daily: 7).", EXIT_USAGE)
    return args


def forget_args(retention: dict) -> list[str]:
    """Only scheduled snapshots are ever forgotten; manual, pre-upgrade and pre-restore ones stay."""
    return ["forget", "--tag", "scheduled", *retention_args(retention), "--prune"]


def version_tag(version: str) -> str:
    return "chatwoot-" + (version or "unknown")


def build_tags(kind: str, extra: list[str] | None, version: str) -> list[str]:
    if kind not in KINDS:
        raise ToolError(f"the first --tag must be one of {', '.join(KINDS)}, not {kind!r}.", EXIT_USAGE)
    tags = [kind, version_tag(version)]
    for tag in extra or []:
        if not re.match(r"^[A-Za-z0-9._:+-]+$", tag) or tag in tags:
            if tag in tags:
                continue
            raise ToolError(f"tag {tag!r} has characters restic tags cannot hold (use [A-Za-z0-9._:+-]).", EXIT_USAGE)
        if tag in KINDS:
            raise ToolError(f"one kind per backup: {kind!r} and {tag!r} given.", EXIT_USAGE)
        tags.append(tag)
    return tags


def kind_of(tags: list[str]) -> str | None:
    for tag in tags or []:
        if tag in KINDS:
            return tag
    return None


def dump_need(table_bytes: int) -> int:
    """Bytes a custom-format dump may take: at most the tables' heap size (it is compressed), plus a margin."""
    return max(0, int(table_bytes)) + DISK_MARGIN


def restore_need(dump_bytes: int, database_bytes: int = 0) -> int:
    """Bytes a database restored from a dump may take on PostgreSQL's filesystem."""
    return max(int(dump_bytes) * RESTORE_EXPANSION, int(database_bytes)) + DISK_MARGIN


def disk_problem(path: str, need: int, free: int) -> str | None:
    if free >= need:
        return None
    return (
        f"not enough disk at {path}: {need} bytes needed ({human(need)}), {free} bytes free ({human(free)}). "
        "Free some space there (or point backup_staging_dir at a larger filesystem) and run again."
    )


def human(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def make_manifest(
    *,
    version: str,
    image_ref: str,
    image_id: str,
    postgres_image: str,
    database: str,
    schema_version: str,
    row_counts: dict,
    created: str,
    kind: str,
    tags: list[str],
    project_dir: str,
    hostname: str,
    dump_bytes: int,
) -> dict:
    return {
        "format": MANIFEST_FORMAT,
        "created": created,
        "hostname": hostname,
        "kind": kind,
        "tags": list(tags),
        "chatwoot_version": version,
        "image_ref": image_ref,
        "image_id": image_id,
        "postgres_image": postgres_image,
        "project_dir": project_dir,
        "database": database,
        "schema_version": schema_version,
        "dump": DUMP_NAME,
        "dump_bytes": dump_bytes,
        "row_counts": dict(sorted(row_counts.items())),
    }


def version_key(version: str) -> tuple[int, ...] | None:
    match = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", version or "")
    return tuple(int(part) for part in match.groups()) if match else None


def newer_data_problems(manifest: dict, target: dict) -> list[str]:
    """Why the target holds newer data than the snapshot (empty: safe to restore over it)."""
    problems = []
    if not target.get("installed"):
        return problems
    snap_v, target_v = version_key(manifest.get("chatwoot_version", "")), version_key(target.get("version", ""))
    if snap_v and target_v and target_v > snap_v:
        problems.append(
            f"the target runs Chatwoot {target['version']}, newer than the snapshot's {manifest['chatwoot_version']}"
        )
    snap_s, target_s = str(manifest.get("schema_version") or ""), str(target.get("schema_version") or "")
    if snap_s and target_s and target_s > snap_s:
        problems.append(f"the target's newest schema migration {target_s} is newer than the snapshot's {snap_s}")
    last, created = target.get("last_change"), manifest.get("created")
    if last and created and parse_time(last) > parse_time(created):
        problems.append(f"the target's data changed at {last}, after the snapshot was taken ({created})")
    return problems


def parse_time(value: str) -> datetime.datetime:
    text = value.strip().replace("Z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # restic prints nanoseconds
    text = re.sub(r"([+-]\d\d)$", r"\1:00", text)  # PostgreSQL prints +00
    moment = datetime.datetime.fromisoformat(text.replace(" ", "T"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def redact(text: str, limit: int = 2000) -> str:
    """A log excerpt safe to print: secret-looking assignments hidden, the tail kept."""
    cleaned = SECRET_LINE.sub(lambda m: m.group(1) + "=<hidden>", text or "")
    return cleaned[-limit:]


def parse_env_file(text: str) -> dict:
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _sep, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def image_ref_from_compose(text: str) -> str:
    """The Chatwoot image compose.yaml runs (the x-chatwoot anchor's image)."""
    for match in re.finditer(r"^\s*image:\s*(\S+)\s*$", text, re.MULTILINE):
        ref = match.group(1).strip("'\"")
        if "chatwoot" in ref.rsplit("/", 1)[-1].split(":")[0]:
            return ref
    return ""


def service_image_from_compose(text: str, service: str) -> str:
    block = re.search(rf"^  {re.escape(service)}:\n((?:    .*\n|\s*\n)*)", text, re.MULTILINE)
    if block:
        match = re.search(r"^\s+image:\s*(\S+)", block.group(1), re.MULTILINE)
        if match:
            return match.group(1).strip("'\"")
    return ""


def snapshot_summary(entry: dict) -> dict:
    return {
        "id": entry.get("id", ""),
        "short_id": entry.get("short_id", entry.get("id", "")[:8]),
        "time": entry.get("time", ""),
        "tags": entry.get("tags") or [],
        "paths": entry.get("paths") or [],
        "hostname": entry.get("hostname", ""),
    }


def sort_snapshots(entries: list[dict]) -> list[dict]:
    return sorted((snapshot_summary(e) for e in entries), key=lambda s: parse_time(s["time"]) if s["time"] else 0)


def pick_snapshot(snapshots: list[dict], wanted: str) -> dict | None:
    """The snapshot `wanted` names: latest, a full id or an unambiguous prefix of one."""
    if not snapshots:
        return None
    if wanted in ("", "latest"):
        return snapshots[-1]
    matches = [s for s in snapshots if s["id"].startswith(wanted)]
    return matches[0] if len(matches) == 1 else None


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def row_count_sql(tables: list[str]) -> str:
    parts = [f"SELECT {quote_literal(t)}, count(*) FROM public.{quote_ident(t)}" for t in sorted(tables)]
    return " UNION ALL ".join(parts) if parts else "SELECT NULL, NULL WHERE false"


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# ----------------------------------------------------------------------------------------------- the host


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def now_iso() -> str:
    return datetime.datetime.now(UTC).isoformat(timespec="seconds")


def load_config(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except FileNotFoundError as exc:
        raise ToolError(f"{path} is missing: apply the selfhost.chatwoot.backup role first.", EXIT_USAGE) from exc
    except (OSError, ValueError) as exc:
        raise ToolError(f"{path} cannot be read ({exc}); re-apply the selfhost.chatwoot.backup role.") from exc
    for key in ("project_dir", "postgres_user", "postgres_database", "repository", "password_file", "staging_dir"):
        if not config.get(key):
            raise ToolError(f"{path} lacks {key}; re-apply the selfhost.chatwoot.backup role.", EXIT_USAGE)
    config.setdefault("status_file", "/var/lib/selfhost-chatwoot/backup-status.json")
    config.setdefault("retention", {"daily": 7, "weekly": 4, "monthly": 6})
    return config


class Host:
    """Commands against the host: restic, docker compose, PostgreSQL inside the stack."""

    def __init__(self, config: dict):
        self.config = config
        self.project = Path(config["project_dir"])
        self.staging = Path(config["staging_dir"])

    # restic ------------------------------------------------------------------------------------------
    def restic_env(self) -> dict:
        env = dict(os.environ)
        env_file = self.config.get("repository_env_file")
        if env_file and os.path.exists(env_file):
            with open(env_file, encoding="utf-8") as handle:
                env.update({k: str(v) for k, v in json.load(handle).items()})
        env["RESTIC_REPOSITORY"] = self.config["repository"]
        env["RESTIC_PASSWORD_FILE"] = self.config["password_file"]
        env.pop("RESTIC_PASSWORD", None)
        env.pop("RESTIC_PASSWORD_COMMAND", None)
        if self.config.get("cache_dir"):
            env["RESTIC_CACHE_DIR"] = self.config["cache_dir"]
        return env

    def restic(self, *args: str, check: bool = True, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["restic", *args], env=self.restic_env(), stdout=stdout, stderr=subprocess.PIPE, text=True, check=False
        )
        if check and result.returncode != 0:
            raise ToolError(f"restic {args[0]} failed: {redact(result.stderr)}")
        return result

    def repository_state(self) -> str:
        """ok | missing | wrong-password | unreachable (works with restic 0.12 to 0.18)."""
        if not os.path.exists(self.config["password_file"]):
            return "no-password"
        result = self.restic("cat", "config", check=False)
        if result.returncode == 0:
            return "ok"
        err = result.stderr.lower()
        if result.returncode == 10 or "is there a repository at the following location" in err:
            return "missing"
        if result.returncode == 12 or "wrong password" in err or "no key found" in err:
            return "wrong-password"
        repo = self.config["repository"]
        if "://" not in repo and ":" not in repo.split("/")[0] and not os.path.exists(os.path.join(repo, "config")):
            return "missing"
        return "unreachable:" + redact(result.stderr, 600)

    def require_repository(self) -> None:
        state = self.repository_state()
        repo = self.config["repository"]
        if state == "ok":
            return
        if state == "no-password":
            raise ToolError(
                f"the restic password file {self.config['password_file']} is missing: re-apply the "
                "selfhost.chatwoot.backup role (with backup_restic_password when the repository already exists).",
                EXIT_REPOSITORY,
            )
        if state == "missing":
            raise ToolError(
                f"there is no restic repository at {repo}: check backup_repository (and backup_repository_env), "
                "or apply the selfhost.chatwoot.backup role to create it.",
                EXIT_REPOSITORY,
            )
        if state == "wrong-password":
            raise ToolError(
                f"the restic repository at {repo} rejects the password in {self.config['password_file']}: set "
                "backup_restic_password to the password this repository was created with.",
                EXIT_REPOSITORY,
            )
        raise ToolError(
            f"the restic repository at {repo} cannot be reached: {state.split(':', 1)[1]} "
            "Check backup_repository and the credentials in backup_repository_env.",
            EXIT_REPOSITORY,
        )

    def snapshots(self, tag: str | None = None) -> list[dict]:
        args = ["snapshots", "--json"]
        if tag:
            args += ["--tag", tag]
        result = self.restic(*args)
        return sort_snapshots(json.loads(result.stdout or "[]") or [])

    def find_snapshot(self, wanted: str) -> dict:
        snapshots = self.snapshots()
        found = pick_snapshot(snapshots, wanted)
        if not found:
            known = ", ".join(f"{s['short_id']} ({s['time'][:19]}, {','.join(s['tags'])})" for s in snapshots[-5:])
            raise ToolError(
                f"snapshot {wanted or 'latest'!r} is not in {self.config['repository']} "
                f"(newest: {known or 'none'}). Set backup_restore_snapshot to one of `selfhost-chatwoot-backup "
                "snapshots` (an id or a unique prefix) or to latest.",
                EXIT_NO_SNAPSHOT,
            )
        return found

    # compose / PostgreSQL ----------------------------------------------------------------------------
    def installed(self) -> bool:
        return (self.project / "compose.yaml").exists()

    def compose(self, *args: str, stdin=None, stdout=subprocess.PIPE, input_text=None, check=True):
        result = subprocess.run(
            ["docker", "compose", "--project-directory", str(self.project), *args],
            stdin=stdin,
            input=input_text,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=stdout is subprocess.PIPE or input_text is not None,
            check=False,
        )
        if check and result.returncode != 0:
            err = result.stderr if isinstance(result.stderr, str) else result.stderr.decode("utf-8", "replace")
            raise ToolError(f"docker compose {' '.join(args[:2])} failed: {redact(err)}", EXIT_DATABASE)
        return result

    def postgres_running(self) -> bool:
        if not self.installed():
            return False
        result = self.compose("ps", "--status", "running", "--services", check=False)
        return result.returncode == 0 and "postgres" in result.stdout.split()

    def psql(self, sql: str, database: str | None = None, check: bool = True) -> str:
        result = self.compose(
            "exec",
            "-T",
            "postgres",
            "psql",
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-U",
            self.config["postgres_user"],
            "-d",
            database or self.config["postgres_database"],
            "-Atc",
            sql,
            check=False,
        )
        if check and result.returncode != 0:
            raise ToolError(f"psql failed: {redact(result.stderr)}", EXIT_DATABASE)
        return result.stdout.strip() if result.returncode == 0 else ""

    def database_exists(self, name: str) -> bool:
        return self.psql(f"SELECT 1 FROM pg_database WHERE datname = {quote_literal(name)}", "postgres") == "1"

    def tables(self, database: str | None = None) -> list[str]:
        out = self.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", database)
        return [line for line in out.splitlines() if line]

    def row_counts(self, database: str | None = None) -> dict:
        counts = {}
        out = self.psql(row_count_sql(self.tables(database)), database)
        for line in out.splitlines():
            name, _sep, count = line.partition("|")
            if name:
                counts[name] = int(count)
        return counts

    def table_bytes(self) -> int:
        out = self.psql("SELECT coalesce(sum(pg_table_size(c.oid)), 0) FROM pg_class c WHERE c.relkind IN ('r', 'm')")
        return int(out or 0)

    def database_bytes(self, name: str) -> int:
        if not self.database_exists(name):
            return 0
        return int(self.psql(f"SELECT pg_database_size({quote_literal(name)})", "postgres") or 0)

    def schema_version(self, database: str | None = None) -> str:
        if "schema_migrations" not in self.tables(database):
            return ""
        return self.psql("SELECT coalesce(max(version), '') FROM schema_migrations", database)

    def last_change(self) -> str:
        """The newest updated_at of any public table that has one (the time the data last changed)."""
        out = self.psql(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND column_name = 'updated_at' ORDER BY 1"
        )
        tables = [t for t in out.splitlines() if t]
        if not tables:
            return ""
        parts = " UNION ALL ".join(
            f"SELECT max(updated_at)::timestamptz AS t FROM public.{quote_ident(t)}" for t in tables
        )
        iso = """'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'"""
        return self.psql(f"SELECT coalesce(to_char(max(t) AT TIME ZONE 'UTC', {iso}), '') FROM ({parts}) AS changes")

    def deployed_version(self) -> str:
        path = self.project / "state" / "prepared-version"
        return path.read_text(encoding="utf-8").strip() if path.exists() else ""

    def image_ref(self) -> str:
        path = self.project / "compose.yaml"
        return image_ref_from_compose(path.read_text(encoding="utf-8")) if path.exists() else ""

    def image_id(self, ref: str) -> str:
        if not ref:
            return ""
        result = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", ref], capture_output=True, text=True, check=False
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    def free_bytes(self, path: Path) -> int:
        probe = Path(path)
        while not probe.exists():
            probe = probe.parent
        stats = os.statvfs(probe)
        return stats.f_bavail * stats.f_frsize

    def require_disk(self, path: Path, need: int) -> None:
        free = self.free_bytes(path)
        problem = disk_problem(str(path), need, free)
        if problem:
            raise ToolError(problem, EXIT_DISK, needed=need, free=free, path=str(path))

    def pg_dump(self, out: Path) -> int:
        """pg_dump -Fc of the production database (one consistent snapshot, online) into out."""
        out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = out.with_name(out.name + ".partial")
        with open(partial, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            result = self.compose(
                "exec",
                "-T",
                "postgres",
                "pg_dump",
                "-Fc",
                "-U",
                self.config["postgres_user"],
                "-d",
                self.config["postgres_database"],
                stdout=handle,
                check=False,
            )
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise ToolError(f"pg_dump failed: {redact(result.stderr.decode('utf-8', 'replace'))}", EXIT_DATABASE)
        partial.rename(out)
        return out.stat().st_size

    # status ------------------------------------------------------------------------------------------
    def read_status(self) -> dict:
        try:
            with open(self.config["status_file"], encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return {}

    def write_status(self, **fields) -> None:
        status = self.read_status()
        status.update(fields)
        path = Path(self.config["status_file"])
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".status")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(status, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)


# ------------------------------------------------------------------------------------------- subcommands


def cmd_check(host: Host, _args) -> dict:
    host.require_repository()
    return {"ok": True}


def cmd_init(host: Host, _args) -> dict:
    state = host.repository_state()
    if state == "missing":
        host.restic("init")
        log(f"created the restic repository at {host.config['repository']}")
        return {"ok": True, "created": True}
    host.require_repository()
    return {"ok": True, "created": False}


def cmd_snapshots(host: Host, args) -> dict:
    host.require_repository()
    return {"snapshots": host.snapshots(args.tag)}


def cmd_status(host: Host, _args) -> dict:
    status = host.read_status()
    success = status.get("last_success")
    if success:
        status["age_seconds"] = int((datetime.datetime.now(UTC) - parse_time(success)).total_seconds())
    return {"status": status}


def cmd_clean(host: Host, _args) -> dict:
    removed = []
    if host.staging.exists():
        for entry in sorted(host.staging.iterdir()):
            removed.append(str(entry))
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    return {"removed": removed}


def cmd_dump(host: Host, args) -> dict:
    if not host.postgres_running():
        raise ToolError(f"PostgreSQL of {host.project} is not running: nothing to dump.", EXIT_DATABASE)
    out = Path(args.out)
    host.require_disk(out.parent, dump_need(host.table_bytes()))
    size = host.pg_dump(out)
    return {"dump": str(out), "bytes": size}


def cmd_backup(host: Host, args) -> dict:
    kind = args.tag[0]
    build_tags(kind, args.tag[1:], "")  # usage errors before anything else
    started = now_iso()
    host.write_status(last_attempt=started, last_kind=kind)
    try:
        result = do_backup(host, args, kind)
    except ToolError as exc:
        if exc.code == EXIT_OK:  # nothing deployed yet
            host.write_status(last_result="nothing-to-back-up", error=None, note=str(exc))
            return {"snapshot": None, "dump": None, "dump_bytes": 0, "tags": [], "note": str(exc)}
        host.write_status(last_result="failed", error=str(exc), last_failure=now_iso())
        raise
    host.write_status(
        last_result="ok",
        last_success=started,
        snapshot=result["snapshot"],
        snapshot_tags=result["tags"],
        dump_bytes=result["dump_bytes"],
        error=None,
        note=None,
    )
    return result


def do_backup(host: Host, args, kind: str) -> dict:
    if not host.installed():
        marker = Path(host.config.get("deployed_marker") or host.project / "state" / "prepared-version")
        message = f"nothing to back up yet: Chatwoot is not deployed in {host.project} (no compose.yaml)."
        if kind == "scheduled" and not marker.exists() and not host.read_status().get("last_success"):
            raise ToolError(message, EXIT_OK)
        raise ToolError(message + " Deploy it first (playbooks/site.yml).")
    if not host.postgres_running():
        raise ToolError(
            f"PostgreSQL of {host.project} is not running, so no consistent dump can be taken. "
            f"Start the stack (docker compose --project-directory {host.project} up -d) and run again.",
            EXIT_DATABASE,
        )
    host.require_repository()
    version = host.deployed_version()
    tags = build_tags(kind, args.tag[1:], version)
    need = dump_need(host.table_bytes())
    host.staging.mkdir(parents=True, exist_ok=True, mode=0o700)
    host.require_disk(host.staging, need)
    cmd_clean(host, args)

    log(f"dumping {host.config['postgres_database']} (pg_dump -Fc)")
    row_counts, schema = host.row_counts(), host.schema_version()
    dump_bytes = host.pg_dump(host.staging / DUMP_NAME)
    for name in PROJECT_FILES:
        source = host.project / name
        if source.exists():
            shutil.copy2(source, host.staging / name)
    for name in PROJECT_DIRS:
        source = host.project / name
        if source.exists():
            shutil.copytree(source, host.staging / name, symlinks=True)
    image_ref = host.image_ref()
    compose_text = (host.project / "compose.yaml").read_text(encoding="utf-8")
    manifest = make_manifest(
        version=version,
        image_ref=image_ref,
        image_id=host.image_id(image_ref),
        postgres_image=service_image_from_compose(compose_text, "postgres"),
        database=host.config["postgres_database"],
        schema_version=schema,
        row_counts=row_counts,
        created=now_iso(),
        kind=kind,
        tags=tags,
        project_dir=str(host.project),
        hostname=os.uname().nodename,
        dump_bytes=dump_bytes,
    )
    with open(host.staging / MANIFEST_NAME, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2)
        handle.write("\n")

    paths = [str(host.staging)]
    storage = host.project / "data" / "storage"
    if storage.exists():
        paths.append(str(storage))
    tag_args = [arg for tag in tags for arg in ("--tag", tag)]
    log(f"restic backup {' '.join(paths)} ({', '.join(tags)})")
    result = host.restic("backup", "--json", *tag_args, *paths)
    snapshot = None
    for line in result.stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("message_type") == "summary":
            snapshot = message.get("snapshot_id")
    if not snapshot:
        raise ToolError("restic backup reported no snapshot id: " + redact(result.stderr))
    log(f"snapshot {snapshot}")

    if kind == "scheduled":
        log("restic forget --prune (scheduled snapshots only)")
        host.restic(*forget_args(host.config["retention"]))

    dump_path = None
    if args.keep_dump:
        dump_path = str(host.staging / DUMP_NAME)
    else:
        cmd_clean(host, args)
    return {"snapshot": snapshot, "dump": dump_path, "dump_bytes": dump_bytes, "tags": tags}


def cmd_load_dump(host: Host, args) -> dict:
    name = args.database
    if not IDENT.match(name):
        raise ToolError(f"database name {name!r} must match {IDENT.pattern}.", EXIT_USAGE)
    dump = Path(args.file)
    if not dump.is_file():
        raise ToolError(f"{dump} does not exist.", EXIT_USAGE)
    if not host.postgres_running():
        raise ToolError(f"PostgreSQL of {host.project} is not running: start it first.", EXIT_DATABASE)
    exists = host.database_exists(name)
    if exists and not args.replace:
        raise ToolError(f"database {name} exists; drop it first or pass --replace.", EXIT_USAGE)
    data_dir = host.project / "data" / "postgres"
    host.require_disk(data_dir, restore_need(dump.stat().st_size, host.database_bytes(name) if exists else 0))

    target = name if not exists else f"{name[:40]}_restore_{int(time.time())}"
    host.psql(f"CREATE DATABASE {quote_ident(target)}", "postgres")
    with open(dump, "rb") as handle:
        result = host.compose(
            "exec",
            "-T",
            "postgres",
            "pg_restore",
            "--no-owner",
            "--exit-on-error",
            "-U",
            host.config["postgres_user"],
            "-d",
            target,
            stdin=handle,
            check=False,
        )
    if result.returncode != 0:
        host.psql(f"DROP DATABASE IF EXISTS {quote_ident(target)}", "postgres", check=False)
        raise ToolError(
            f"pg_restore into {target} failed ({name} is untouched): "
            + redact(result.stderr.decode("utf-8", "replace")),
            EXIT_DATABASE,
        )
    if not exists:
        return {"database": name, "replaced": False}

    old = f"{name[:40]}_replaced_{int(time.time())}"
    qname, qold, qtarget = quote_ident(name), quote_ident(old), quote_ident(target)
    host.psql(f"ALTER DATABASE {qname} ALLOW_CONNECTIONS false", "postgres")
    try:
        for attempt in range(5):
            host.psql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = {quote_literal(name)} AND pid <> pg_backend_pid()",
                "postgres",
            )
            try:
                swap = f"ALTER DATABASE {qname} RENAME TO {qold}; ALTER DATABASE {qtarget} RENAME TO {qname};"
                host.psql(f"BEGIN; {swap} COMMIT;", "postgres")
                break
            except ToolError:
                if attempt == 4:
                    raise
                time.sleep(1)
    except ToolError:
        host.psql(f"ALTER DATABASE {qname} ALLOW_CONNECTIONS true", "postgres", check=False)
        host.psql(f"DROP DATABASE IF EXISTS {qtarget}", "postgres", check=False)
        raise
    host.psql(f"DROP DATABASE {qold}", "postgres")
    return {"database": name, "replaced": True}


def cmd_drop_database(host: Host, args) -> dict:
    name = args.database
    if name == host.config["postgres_database"]:
        raise ToolError(f"{name} is the production database; it is never dropped by this tool.", EXIT_USAGE)
    if not IDENT.match(name):
        raise ToolError(f"database name {name!r} must match {IDENT.pattern}.", EXIT_USAGE)
    if not host.database_exists(name):
        return {"dropped": False}
    host.psql(
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {quote_literal(name)}", "postgres"
    )
    host.psql(f"DROP DATABASE {quote_ident(name)}", "postgres")
    return {"dropped": True}


def staging_path_of(snapshot: dict, default: str) -> str:
    """The staging dir a snapshot was taken from (its path that is not a storage directory)."""
    others = [p for p in snapshot.get("paths") or [] if not p.rstrip("/").endswith("/data/storage")]
    return (others[0] if len(others) == 1 else default).rstrip("/")


def snapshot_manifest(host: Host, snapshot: dict) -> dict:
    path = f"{staging_path_of(snapshot, host.config['staging_dir'])}/{MANIFEST_NAME}"
    result = host.restic("dump", snapshot["id"], path, check=False)
    if result.returncode != 0:
        raise ToolError(
            f"snapshot {snapshot['short_id']} holds no {path}: it was not taken by this tool "
            f"(or with another backup_staging_dir). {redact(result.stderr, 400)}",
            EXIT_NO_SNAPSHOT,
        )
    return json.loads(result.stdout)


def cmd_manifest(host: Host, args) -> dict:
    host.require_repository()
    snapshot = host.find_snapshot(args.snapshot)
    return {"snapshot": snapshot, "manifest": snapshot_manifest(host, snapshot)}


def target_state(host: Host) -> dict:
    state = {"installed": host.installed(), "version": host.deployed_version(), "postgres_running": False}
    if state["installed"] and host.postgres_running():
        state["postgres_running"] = True
        if host.database_exists(host.config["postgres_database"]):
            state["schema_version"] = host.schema_version()
            state["last_change"] = host.last_change()
    return state


def cmd_preflight(host: Host, args) -> dict:
    """What a restore of --snapshot would meet: the manifest, the target and why it would refuse."""
    host.require_repository()
    snapshot = host.find_snapshot(args.snapshot)
    manifest = snapshot_manifest(host, snapshot)
    target = target_state(host)
    return {
        "snapshot": snapshot,
        "manifest": manifest,
        "target": target,
        "newer": newer_data_problems(manifest, target),
    }


def restore_dir(host: Host) -> Path:
    return host.staging / "restore"


def cmd_extract(host: Host, args) -> dict:
    """Restore the snapshot into the staging dir (nothing live changes); print where things are."""
    host.require_repository()
    snapshot = host.find_snapshot(args.snapshot)
    out = restore_dir(host)
    stats = host.restic("stats", "--json", "--mode", "restore-size", snapshot["id"])
    need = int(json.loads(stats.stdout).get("total_size", 0)) + DISK_MARGIN
    host.staging.mkdir(parents=True, exist_ok=True, mode=0o700)
    host.require_disk(host.staging, need)
    # Storage is restored next to the live one (same filesystem: the final swap is a rename).
    storage_out = host.project / "data" / ".storage-restore"
    host.require_disk(host.project, need)
    for path in (out, storage_out):
        if path.exists():
            shutil.rmtree(path)
    out.mkdir(parents=True, mode=0o700)
    source_staging = staging_path_of(snapshot, str(host.staging))
    host.restic("restore", snapshot["id"], "--target", str(out), "--include", source_staging)
    files = out / source_staging.lstrip("/")
    manifest = json.loads((files / MANIFEST_NAME).read_text(encoding="utf-8"))
    storage_src = Path(manifest.get("project_dir", str(host.project))) / "data" / "storage"
    storage_out.mkdir(parents=True, mode=0o700)
    listing = host.restic("ls", "--json", snapshot["id"], str(storage_src), check=False)
    has_storage = listing.returncode == 0 and str(storage_src) in listing.stdout
    if has_storage:
        host.restic("restore", snapshot["id"], "--target", str(storage_out), "--include", str(storage_src))
    return {
        "snapshot": snapshot,
        "dir": str(files),
        "dump": str(files / DUMP_NAME),
        "storage": str(storage_out / str(storage_src).lstrip("/")) if has_storage else None,
        "manifest": manifest,
    }


def cmd_install_files(host: Host, args) -> dict:
    """Put what cmd_extract restored into the project (files, state/, storage, the database role password)."""
    files = Path(args.dir)
    if not (files / MANIFEST_NAME).is_file():
        raise ToolError(f"{files} holds no {MANIFEST_NAME}: run extract first.", EXIT_USAGE)
    host.project.mkdir(parents=True, exist_ok=True, mode=0o750)
    installed = []
    for name in PROJECT_FILES:
        source = files / name
        if source.exists():
            tmp = host.project / f".{name}.restore"
            shutil.copy2(source, tmp)
            os.replace(tmp, host.project / name)
            installed.append(name)
    for name in PROJECT_DIRS:
        source = files / name
        if source.exists():
            live = host.project / name
            aside = host.project / f".{name}.replaced"
            if aside.exists():
                shutil.rmtree(aside)
            if live.exists():
                live.rename(aside)
            shutil.copytree(source, live, symlinks=True)
            if aside.exists():
                shutil.rmtree(aside)
            installed.append(name + "/")
    if args.storage:
        restored = Path(args.storage)
        live = host.project / "data" / "storage"
        aside = host.project / "data" / ".storage.replaced"
        if aside.exists():
            shutil.rmtree(aside)
        if live.exists():
            live.rename(aside)
        restored.rename(live)
        if aside.exists():
            shutil.rmtree(aside)
        installed.append("data/storage/")
    leftover = host.project / "data" / ".storage-restore"
    if leftover.exists():
        shutil.rmtree(leftover)
    return {"installed": installed}


def cmd_sync_db_password(host: Host, _args) -> dict:
    """Give the database role the restored POSTGRES_PASSWORD of secrets.json (roles are not in a dump)."""
    secrets_file = host.project / "secrets.json"
    try:
        password = json.loads(secrets_file.read_text(encoding="utf-8")).get("POSTGRES_PASSWORD", "")
    except (OSError, ValueError) as exc:
        raise ToolError(f"{secrets_file} cannot be read ({type(exc).__name__}).", EXIT_USAGE) from exc
    if not password:
        raise ToolError(f"{secrets_file} has no POSTGRES_PASSWORD.", EXIT_USAGE)
    sql = f"ALTER ROLE {quote_ident(host.config['postgres_user'])} PASSWORD {quote_literal(password)};\n"
    result = host.compose(
        "exec",
        "-T",
        "postgres",
        "psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        host.config["postgres_user"],
        "-d",
        "postgres",
        input_text=sql,
        check=False,
    )
    if result.returncode != 0:
        raise ToolError("setting the database role's password failed: " + redact(result.stderr), EXIT_DATABASE)
    return {"ok": True}


def cmd_row_counts(host: Host, args) -> dict:
    return {"database": args.database or host.config["postgres_database"], "row_counts": host.row_counts(args.database)}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="selfhost-chatwoot-backup", description=__doc__.splitlines()[0])
    top.add_argument("--config", default=os.environ.get("SELFHOST_CHATWOOT_BACKUP_CONFIG", CONFIG))
    sub = top.add_subparsers(dest="command", required=True)
    p = sub.add_parser("backup", help="dump + files + storage into a tagged restic snapshot")
    p.add_argument("--tag", action="append", required=True, help="first: " + " | ".join(KINDS))
    p.add_argument("--keep-dump", action="store_true")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("dump", help="pg_dump -Fc of the production database")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_dump)
    p = sub.add_parser("load-dump", help="pg_restore a dump into a new database, or replace one")
    p.add_argument("--file", required=True)
    p.add_argument("--database", required=True)
    p.add_argument("--replace", action="store_true")
    p.set_defaults(func=cmd_load_dump)
    p = sub.add_parser("drop-database")
    p.add_argument("--database", required=True)
    p.set_defaults(func=cmd_drop_database)
    p = sub.add_parser("snapshots")
    p.add_argument("--tag")
    p.set_defaults(func=cmd_snapshots)
    sub.add_parser("check").set_defaults(func=cmd_check)
    sub.add_parser("clean").set_defaults(func=cmd_clean)
    sub.add_parser("init", help="create the repository when there is none").set_defaults(func=cmd_init)
    sub.add_parser("status", help="the status file, with the last success's age").set_defaults(func=cmd_status)
    for name, func in (("manifest", cmd_manifest), ("preflight", cmd_preflight), ("extract", cmd_extract)):
        p = sub.add_parser(name)
        p.add_argument("--snapshot", default="latest")
        p.set_defaults(func=func)
    p = sub.add_parser("install-files")
    p.add_argument("--dir", required=True)
    p.add_argument("--storage")
    p.set_defaults(func=cmd_install_files)
    sub.add_parser("sync-db-password").set_defaults(func=cmd_sync_db_password)
    p = sub.add_parser("row-counts")
    p.add_argument("--database")
    p.set_defaults(func=cmd_row_counts)
    return top


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else EXIT_USAGE
        if code != 0:
            print(json.dumps({"error": "usage", "code": EXIT_USAGE}))
            return EXIT_USAGE
        return 0
    try:
        host = Host(load_config(args.config))
        result = args.func(host, args)
    except ToolError as exc:
        log(f"selfhost-chatwoot-backup {args.command}: {exc}")
        print(json.dumps({"error": str(exc), "code": exc.code, **exc.fields}))
        return exc.code
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        message = redact(f"{type(exc).__name__}: {exc}")
        log(f"selfhost-chatwoot-backup {args.command}: {message}")
        print(json.dumps({"error": message, "code": EXIT_FAILURE}))
        return EXIT_FAILURE
    print(json.dumps(result))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
